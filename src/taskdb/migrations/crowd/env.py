"""Alembic environment of the crowd store (body in taskdb.migrations.environment)."""

from taskdb.crowd.models import CrowdBase as Base
from taskdb.migrations.environment import run_environment
from taskdb.stores import CROWD as SPEC

run_environment(SPEC, Base.metadata)
