"""What users reach taskdb through: ``python -m taskdb`` and the 0.1 module names."""

from __future__ import annotations

import runpy

import pytest

import taskdb.lifecycle
import taskdb.migrate
import taskdb.tools.copy
import taskdb.transfer


def test_python_dash_m_taskdb_is_the_taskdb_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["taskdb"])
    with pytest.raises(SystemExit) as ended:
        runpy.run_module("taskdb", run_name="__main__", alter_sys=True)
    assert ended.value.code == 2  # no subcommand: argparse's usage error
    assert "usage: taskdb" in capsys.readouterr().err


def test_the_01_module_names_are_aliases_of_the_new_ones() -> None:
    for name in taskdb.migrate.__all__:
        if name != "public_url":
            assert getattr(taskdb.migrate, name) is getattr(taskdb.lifecycle, name)
    assert taskdb.transfer.copy_database is taskdb.tools.copy.copy_database


def test_the_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    import taskdb

    assert taskdb.__version__ == version("taskdb")
