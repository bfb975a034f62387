"""Deprecated alias of :mod:`taskdb.tools.copy`, kept for callers of taskdb 0.1."""

from taskdb.tools.copy import copy_database

__all__ = ["copy_database"]
