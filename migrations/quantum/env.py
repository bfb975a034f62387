"""Alembic environment of the quantum store (body in taskdb.lifecycle.env)."""

from taskdb.lifecycle.env import run_environment
from taskdb.quantum.models import QuantumBase as Base
from taskdb.spec import QUANTUM as SPEC

run_environment(SPEC, Base.metadata)
