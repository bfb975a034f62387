"""Alembic environment of the crowd store (body in taskdb.lifecycle.env)."""

from taskdb.crowd.models import CrowdBase as Base
from taskdb.lifecycle.env import run_environment
from taskdb.spec import CROWD as SPEC

run_environment(SPEC, Base.metadata)
