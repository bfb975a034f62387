"""Writes through an ORM session obey the repositories' rules, checked by the same field types.

Before each flush of a store's session, every new crowd object is checked field by
field with the input model its repository validates (``NewProject`` for a
``Project``, ...), and every changed attribute of an existing one with the same
field's type; statuses with the unit and agent status rules. A value left unset
(``None``, e.g. a key a relationship fills in during the flush) is the database's
to refuse. One rule set, two paths: a bad value fails the same way through both.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from taskdb.crowd import inputs, models
from taskdb.crowd.fields import PROVIDERS_CONTEXT, AgentStatusValue, UnitStatusValue
from taskdb.crowd.vocab import ProviderRegistry
from taskdb.errors import InvalidEntry, InvalidType, explain, is_type_problem

# The input model whose fields a repository checks before it writes each table.
_INPUTS: dict[type[models.CrowdBase], type[BaseModel]] = {
    models.Project: inputs.NewProject,
    models.Task: inputs.NewTask,
    models.Requester: inputs.NewRequester,
    models.TaskRun: inputs.NewTaskRun,
    models.Assignment: inputs.NewAssignment,
    models.Unit: inputs.NewUnit,
    models.Worker: inputs.NewWorker,
    models.Agent: inputs.NewAgent,
    models.OnboardingAgent: inputs.NewOnboardingAgent,
    models.Qualification: inputs.NewQualification,
    models.GrantedQualification: inputs.Grant,
}
# Columns the repositories set themselves, with the rule a caller's value must meet.
_STATUSES: dict[type[models.CrowdBase], Any] = {
    models.Unit: UnitStatusValue,
    models.Agent: AgentStatusValue,
    models.OnboardingAgent: AgentStatusValue,
}


@functools.cache
def _rules(mapped: type[models.CrowdBase]) -> dict[str, TypeAdapter[Any]]:
    """Column name -> the type that checks it, for one mapped class."""
    fields = _INPUTS[mapped].model_fields
    rules = {name: _adapter(field) for name, field in fields.items()}
    if mapped in _STATUSES:
        rules["status"] = TypeAdapter(_STATUSES[mapped])
    return rules


def _adapter(field: FieldInfo) -> TypeAdapter[Any]:
    annotation: Any = field.annotation
    if field.metadata:
        annotation = Annotated[(annotation, *field.metadata)]
    return TypeAdapter(annotation)


def enforce(session: Session, providers: ProviderRegistry) -> None:
    """Check every crowd object ``session`` flushes with the repositories' rules."""

    def check(flushing: Session, _transaction: UOWTransaction, _instances: object) -> None:
        context = {PROVIDERS_CONTEXT: providers}
        for instance in flushing.new:
            _check(instance, _rules_of(instance), context)
        for instance in flushing.dirty:
            state = inspect(instance)
            rules = _rules_of(instance)
            changed = [name for name in rules if state.attrs[name].history.added]
            _check(instance, {name: rules[name] for name in changed}, context)

    event.listen(session, "before_flush", check)


def _rules_of(instance: object) -> dict[str, TypeAdapter[Any]]:
    mapped = type(instance)
    return _rules(mapped) if mapped in _INPUTS else {}


def _check(instance: object, rules: dict[str, TypeAdapter[Any]], context: dict[str, Any]) -> None:
    problems: list[str] = []
    wrong_type = False
    for name, rule in rules.items():
        value = getattr(instance, name)
        if value is None:
            continue
        try:
            checked = rule.validate_python(value, context=context)
        except ValidationError as error:
            problems.append(f"{name}: {explain(error)}")
            wrong_type = wrong_type or any(map(is_type_problem, error.errors(include_url=False)))
            continue
        if checked != value or type(checked) is not type(value):
            setattr(instance, name, checked)  # stored as the repository stores it ("42" -> 42)
    if problems:
        table = getattr(type(instance), "__tablename__", type(instance).__name__)
        # As the repositories: a wrong type anywhere makes it InvalidType (also a TypeError).
        kind = InvalidType if wrong_type else InvalidEntry
        raise kind(f"writing {table} through a session: {'; '.join(problems)}")


def checked_tables() -> Iterable[str]:
    """The tables whose session writes are checked (tests hold this to every crowd table)."""
    return (str(mapped.__tablename__) for mapped in _INPUTS)
