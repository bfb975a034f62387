"""Import Mephisto 1.1.1 in the test suite on Python 3.11+: the workaround, confined to tests.

Mephisto 1.1.1 as released cannot be imported on Python 3.11 or newer.
``mephisto/__init__.py`` imports ``mephisto/operations/hydra_config.py``, whose
dataclasses give three fields an *instance* as default::

    task: TaskRunArgs = TaskRunArgs()
    database: DatabaseArgs = DatabaseArgs()
    mephisto: MephistoConfig = MephistoConfig()

Since Python 3.11 ``dataclasses`` refuses any unhashable default ("mutable default
... use default_factory"), and a non-frozen dataclass instance is unhashable, so the
import fails with ``ValueError``. Mephisto's later releases changed those lines to
``field(default_factory=...)``.

:func:`install` puts a finder at the front of ``sys.meta_path`` that loads that one
module from its source with exactly those three lines rewritten the same way (and
refuses to load it if the lines are not all found, so another Mephisto version is
never silently patched). Nothing on disk changes; nothing outside the test process
sees it. ``taskdb.integrations.mephisto`` itself contains no workaround.

Importing Mephisto also writes ``~/.mephisto/config.yml`` (and would ask on stdin
for a data directory the first time ``get_data_dir()`` runs): :func:`import_mephisto`
imports it with ``HOME`` pointing at a scratch folder and records a data directory
there, so the test run leaves the real home alone.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import CodeType, ModuleType

import pytest

PATCHED_MODULE = "mephisto.operations.hydra_config"
# `    name: Cls = Cls()` -> `    name: Cls = field(default_factory=Cls)`
_INSTANCE_DEFAULT = re.compile(r"^(\s+\w+: (\w+) = )\2\(\)$", re.MULTILINE)
_EXPECTED = ("TaskRunArgs", "DatabaseArgs", "MephistoConfig")


def patched_source(source: str) -> str:
    """``hydra_config.py``'s source with its three instance defaults made factories."""
    found = tuple(match.group(2) for match in _INSTANCE_DEFAULT.finditer(source))
    if found != _EXPECTED:
        raise ImportError(
            f"{PATCHED_MODULE}: expected instance defaults {_EXPECTED}, found {found}; "
            "this workaround is for Mephisto 1.1.1 only"
        )
    return _INSTANCE_DEFAULT.sub(r"\1field(default_factory=\2)", source)


class _PatchedLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname: str) -> CodeType:
        # Always from the source: a cached .pyc of the unpatched module must not be used.
        source = importlib.util.decode_source(self.get_data(self.path))
        return compile(patched_source(source), self.path, "exec", dont_inherit=True)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != PATCHED_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None:
            return None
        spec.loader = _PatchedLoader(fullname, spec.origin)
        return spec


def install() -> None:
    """Patch ``hydra_config`` when it is imported (once per process)."""
    if sys.version_info >= (3, 11) and not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def installed() -> bool:
    """Whether Mephisto can be found on this interpreter's path."""
    return importlib.util.find_spec("mephisto") is not None


def import_mephisto() -> Path:
    """Import Mephisto with the workaround and a scratch home; return its data directory."""
    install()
    scratch = Path(tempfile.mkdtemp(prefix="taskdb-mephisto-home-"))
    home = os.environ.get("HOME")
    os.environ["HOME"] = str(scratch)
    try:
        import mephisto  # noqa: F401  (its config file lands in the scratch home)
        from mephisto.operations.config_handler import (
            CORE_SECTION,
            DATA_STORAGE_KEY,
            add_config_arg,
        )
    finally:
        if home is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = home
    data_dir = scratch / "mephisto-data"
    data_dir.mkdir()
    add_config_arg(CORE_SECTION, DATA_STORAGE_KEY, str(data_dir))
    return data_dir


def require_mephisto() -> None:
    """Skip the calling test module when Mephisto is not installed; fail instead under CI."""
    if installed():
        return
    message = "Mephisto is not installed: pip install -e '.[test,mephisto]' (make test does)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the Mephisto tests: {message}", pytrace=False)
    pytest.skip(message, allow_module_level=True)
