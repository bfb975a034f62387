"""The real UnifiedQuantum 0.1.1 ``TaskStore``, loaded from its wheel without installing it.

``unified-quantum`` pulls in a quantum computing stack, but its task store,
``uniqc/backend_adapter/task/store.py``, imports only the standard library (json,
sqlite3, tempfile, threading, uuid, ...): that one file is read out of the wheel and
executed as a module of its own, so nothing is stubbed and nothing is installed. Its
``TaskStore`` migrates a cache it opens from schema version 1 to 5 in place (new
tables, ``tasks.error_message``, task ids rewritten to ``uqt_...``), which is what
taskdb must notice on a file it made.

The wheel is fetched from PyPI with pip (``pip download --no-deps``), once per test
run, and checked against its published sha256.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

REQUIREMENT = "unified-quantum==0.1.1"
WHEEL = "unified_quantum-0.1.1-py3-none-any.whl"
WHEEL_SHA256 = "df0ee045ba5d97971ae9f99d3f70022d0358a201c42995ec45ad76d6d8d26a41"
STORE = "uniqc/backend_adapter/task/store.py"
MODULE = "unified_quantum_0_1_1_task_store"
# The schema version its migrations end at (its CURRENT_SCHEMA_VERSION).
SCHEMA_VERSION = 5
DOWNLOAD_TIMEOUT_S = 180


def fetch_wheel(folder: Path) -> Path:
    """The wheel in ``folder``, downloaded first if absent; skip (fail under CI) without PyPI.

    Several pytest-xdist workers may share ``folder``: a lock file lets one download.
    """
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / WHEEL
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not wheel.exists():
            _download(folder)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert digest == WHEEL_SHA256, f"{wheel} has sha256 {digest}, PyPI publishes {WHEEL_SHA256}"
    return wheel


def _download(folder: Path) -> None:
    command = [sys.executable, "-m", "pip", "download", REQUIREMENT, "--no-deps"]
    command += ["--only-binary", ":all:", "--no-cache-dir", "--disable-pip-version-check"]
    try:
        done = subprocess.run(
            [*command, "--quiet", "--dest", str(folder)],
            capture_output=True,
            text=True,
            timeout=DOWNLOAD_TIMEOUT_S,
            check=False,
        )
        failure = None if done.returncode == 0 else (done.stderr.strip() or done.stdout.strip())
    except (OSError, subprocess.TimeoutExpired) as error:
        failure = str(error)
    if failure is None and (folder / WHEEL).exists():
        return
    message = f"could not download {REQUIREMENT} with pip (is PyPI reachable?): {failure}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the UnifiedQuantum tests: {message}")
    pytest.skip(message)


def load_store(wheel: Path) -> ModuleType:
    """UnifiedQuantum's ``store.py`` from ``wheel``, executed as a module named MODULE."""
    loaded = sys.modules.get(MODULE)
    if loaded is not None:
        return loaded
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read(STORE)
    spec = importlib.util.spec_from_loader(MODULE, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__file__ = f"{wheel}/{STORE}"
    # Registered before it runs: its dataclasses look their module up by name.
    sys.modules[MODULE] = module
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    except BaseException:
        del sys.modules[MODULE]
        raise
    assert module.CURRENT_SCHEMA_VERSION == SCHEMA_VERSION
    return module
