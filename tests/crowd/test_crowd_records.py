"""Records, vocabularies, the provider registry, and opening the store."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pydantic
import pytest
from pydantic import BeforeValidator

from taskdb.crowd import (
    AGENT_STATUSES,
    PROVIDERS,
    UNIT_STATUSES,
    AgentStatus,
    CrowdStore,
    NewUnit,
    ProjectRecord,
    ProviderRegistry,
    UnitStatus,
)
from taskdb.crowd.fields import creation_text
from taskdb.crowd.models import CrowdBase, Unit
from taskdb.crowd.records import RECORDS, UnitRecord
from taskdb.crowd.repositories.units import UnitRepository
from taskdb.errors import DatabaseBehind, InvalidEntry
from taskdb.spec import CROWD
from tests.support.crowd_world import build_world, snapshot

UNIT_STATUS_COLUMN = [c.name for c in Unit.__table__.columns].index("status")


def test_record_fields_are_the_column_names_in_order() -> None:
    assert set(RECORDS) == set(CrowdBase.metadata.tables)
    for name, record in RECORDS.items():
        columns = [c.name for c in CrowdBase.metadata.tables[name].columns]
        assert list(record.model_fields) == columns


def test_records_are_frozen(store: CrowdStore) -> None:
    record = store.projects.get(store.projects.new("p"))
    with pytest.raises(pydantic.ValidationError):
        record.project_name = "changed"  # type: ignore[misc]
    assert store.projects.get(record.project_id) == record
    assert hash(record) == hash(ProjectRecord(**record.model_dump()))


def test_creation_date_is_utc_text_as_sqlite_stores_it(store: CrowdStore) -> None:
    record = store.projects.get(store.projects.new("p"))
    assert record.creation_date is not None
    stamped = datetime.strptime(record.creation_date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamped) < timedelta(minutes=2)


def test_creation_date_written_by_the_seed_reads_back_unchanged(sqlite_target: Any) -> None:
    url = sqlite_target.migrated_url(CROWD)
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:
        raw.execute(
            "INSERT INTO projects(project_name, creation_date)"
            " VALUES ('old', '2021-03-04 05:06:07')"
        )
        raw.execute("INSERT INTO projects(project_name, creation_date) VALUES ('undated', NULL)")
    raw.close()
    with CrowdStore(url) as store:
        old, undated = store.projects.find()
    assert old.creation_date == "2021-03-04 05:06:07"
    assert undated.creation_date is None
    assert creation_text(datetime(2021, 3, 4, 5, 6, 7, 890)) == "2021-03-04 05:06:07"
    assert creation_text(datetime(2021, 12, 31, 23, 59, 59, 999999)) == "2021-12-31 23:59:59"
    assert creation_text(datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)) == "2021-03-04 05:06:07"
    assert creation_text(datetime(999, 1, 2)) == "0999-01-02 00:00:00"


def test_statuses() -> None:
    assert UNIT_STATUSES == (
        "created",
        "launched",
        "assigned",
        "completed",
        "accepted",
        "rejected",
        "soft_rejected",
        "expired",
    )
    assert "mixed" not in UNIT_STATUSES and UnitStatus.MIXED == "mixed"
    assert AGENT_STATUSES == (
        "none",
        "accepted",
        "onboarding",
        "waiting",
        "in task",
        "completed",
        "disconnect",
        "timeout",
        "partner disconnect",
        "expired",
        "returned",
        "approved",
        "soft_rejected",
        "rejected",
    )
    assert AgentStatus.PARTNER_DISCONNECT == "partner disconnect"


def test_status_members_are_stored_as_their_values(store: CrowdStore, crowd_url: str) -> None:
    world = build_world(store)
    store.units.clear_agent(world.unit)
    assert [u.unit_id for u in store.units.find(status=UnitStatus.LAUNCHED)] == [world.unit]
    store.units.update_status(world.unit, UnitStatus.COMPLETED)
    store.agents.update_status(world.agent, AgentStatus.IN_TASK)

    rows = snapshot(crowd_url)
    assert rows["units"][0][UNIT_STATUS_COLUMN] == "completed"
    assert [a.status for a in store.agents.find(status=AgentStatus.IN_TASK)] == ["in task"]


def test_provider_registry_can_be_extended() -> None:
    registry = ProviderRegistry()
    assert registry.names() == ("mock", "mturk", "mturk_sandbox")
    assert "prolific" not in registry and 5 not in registry
    registry.register("prolific")
    registry.register("mock")  # registering twice keeps one entry
    assert registry.names() == ("mock", "mturk", "mturk_sandbox", "prolific")
    assert "prolific" not in PROVIDERS
    assert "prolific" in repr(registry)
    for bad in ("", "  ", 5):
        with pytest.raises(ValueError, match="non-empty string"):
            registry.register(bad)  # type: ignore[arg-type]
    assert ProviderRegistry(["inhouse"]).names() == ("inhouse",)


def test_a_store_uses_the_registry_it_is_given(crowd_url: str) -> None:
    registry = ProviderRegistry()
    with CrowdStore(crowd_url, providers=registry) as store:
        with pytest.raises(InvalidEntry, match="prolific"):
            store.workers.new("w", "prolific")
        registry.register("prolific")
        worker = store.workers.new("w", "prolific")
        assert store.workers.get(worker).provider_type == "prolific"
        with store.unit_of_work() as work:
            assert work.requesters.new("r", "prolific") > 0


def test_inputs_built_by_hand_check_their_shape_and_the_store_checks_the_provider(
    store: CrowdStore,
) -> None:
    unit = NewUnit(
        task_id="1",
        task_run_id=1,
        requester_id=1,
        assignment_id=1,
        unit_index=0,
        pay_amount=1,
        provider_type="unheard of",
        task_type=3,
    )
    assert (unit.task_id, unit.task_type, unit.sandbox) == (1, "3", True)
    with pytest.raises(InvalidEntry, match="unknown provider type 'unheard of'"):
        store.units.new_many([unit])
    with pytest.raises(pydantic.ValidationError):
        NewUnit(**{**unit.model_dump(), "task_id": "abc"})


def test_ids_accept_digit_strings_only(store: CrowdStore) -> None:
    project = store.projects.new("p")
    assert store.projects.get(f"00{project}").project_id == project
    for bad in ("1e3", "0x1", "+1", "\u0661", "2147483648"):
        with pytest.raises(InvalidEntry):
            store.projects.get(bad)


def test_the_default_store_lives_under_taskdb_home(isolated_home: Any) -> None:
    with CrowdStore() as store:
        project = store.projects.new("p")
        assert "crowd.sqlite" in store.url and "crowd.sqlite" in repr(store)
    with CrowdStore() as reopened:
        assert reopened.projects.get(project).project_name == "p"
    assert (isolated_home / "taskdb" / "crowd.sqlite").exists()


def test_a_fresh_database_opens_on_sqlite_and_is_refused_on_a_server(target: Any) -> None:
    url = target.fresh_url()
    if target.is_server:
        with pytest.raises(DatabaseBehind, match="upgrade"):
            CrowdStore(url)
        return
    with CrowdStore(url) as store:
        assert store.projects.find() == []


def test_a_repository_subclass_reads_with_its_own_record_and_filters(store: CrowdStore) -> None:
    # The per-class read settings follow a subclass that changes record or filters only.
    class TaggedUnit(UnitRecord):
        pass

    def launched_only(value: object) -> object:
        if value != "launched":
            raise ValueError("only launched units here")
        return value

    class Narrow(UnitRepository):
        record = TaggedUnit
        filters = {"status": pydantic.TypeAdapter(Annotated[str, BeforeValidator(launched_only)])}

    world = build_world(store)
    narrow = Narrow(store.units._runner, store.units._providers)
    assert type(narrow.get(world.unit)) is TaggedUnit
    with pytest.raises(InvalidEntry, match="only launched units here"):
        narrow.find(status="created")
    assert type(store.units.get(world.unit)) is UnitRecord  # the parent is unchanged
