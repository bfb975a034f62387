"""Test data: the on-disk schema the seed code creates, to build "legacy" files with sqlite3.

These statements state facts about the seeds' files (table and index shapes,
header values); they are written here as fixtures, not taken from taskdb.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

# Mephisto's LocalMephistoDB schema, in the order its init_tables runs it.
CROWD_TABLES = (
    "CREATE TABLE IF NOT EXISTS projects (project_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " project_name TEXT NOT NULL UNIQUE, creation_date DATETIME DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS tasks (task_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " task_name TEXT NOT NULL UNIQUE, task_type TEXT NOT NULL, project_id INTEGER,"
    " parent_task_id INTEGER, creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,"
    " FOREIGN KEY (parent_task_id) REFERENCES tasks (task_id),"
    " FOREIGN KEY (project_id) REFERENCES projects (project_id))",
    "CREATE TABLE IF NOT EXISTS requesters (requester_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " requester_name TEXT NOT NULL UNIQUE, provider_type TEXT NOT NULL,"
    " creation_date DATETIME DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS task_runs (task_run_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " task_id INTEGER NOT NULL, requester_id INTEGER NOT NULL, init_params TEXT NOT NULL,"
    " is_completed BOOLEAN NOT NULL, provider_type TEXT NOT NULL, task_type TEXT NOT NULL,"
    " sandbox BOOLEAN NOT NULL, creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,"
    " FOREIGN KEY (task_id) REFERENCES tasks (task_id),"
    " FOREIGN KEY (requester_id) REFERENCES requesters (requester_id))",
    "CREATE TABLE IF NOT EXISTS assignments (assignment_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " task_id INTEGER NOT NULL, task_run_id INTEGER NOT NULL, requester_id INTEGER NOT NULL,"
    " task_type TEXT NOT NULL, provider_type TEXT NOT NULL, sandbox BOOLEAN NOT NULL,"
    " creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,"
    " FOREIGN KEY (task_id) REFERENCES tasks (task_id),"
    " FOREIGN KEY (task_run_id) REFERENCES task_runs (task_run_id),"
    " FOREIGN KEY (requester_id) REFERENCES requesters (requester_id))",
    "CREATE TABLE IF NOT EXISTS units (unit_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " assignment_id INTEGER NOT NULL, unit_index INTEGER NOT NULL, pay_amount FLOAT NOT NULL,"
    " provider_type TEXT NOT NULL, status TEXT NOT NULL, agent_id INTEGER, worker_id INTEGER,"
    " task_type TEXT NOT NULL, task_id INTEGER NOT NULL, task_run_id INTEGER NOT NULL,"
    " sandbox BOOLEAN NOT NULL, requester_id INTEGER NOT NULL,"
    " creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,"
    " FOREIGN KEY (assignment_id) REFERENCES assignments (assignment_id),"
    " FOREIGN KEY (agent_id) REFERENCES agents (agent_id),"
    " FOREIGN KEY (task_run_id) REFERENCES task_runs (task_run_id),"
    " FOREIGN KEY (task_id) REFERENCES tasks (task_id),"
    " FOREIGN KEY (requester_id) REFERENCES requesters (requester_id),"
    " FOREIGN KEY (worker_id) REFERENCES workers (worker_id),"
    " UNIQUE (assignment_id, unit_index))",
    "CREATE TABLE IF NOT EXISTS workers (worker_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " worker_name TEXT NOT NULL UNIQUE, provider_type TEXT NOT NULL,"
    " creation_date DATETIME DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS agents (agent_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " worker_id INTEGER NOT NULL, unit_id INTEGER NOT NULL, task_id INTEGER NOT NULL,"
    " task_run_id INTEGER NOT NULL, assignment_id INTEGER NOT NULL, task_type TEXT NOT NULL,"
    " provider_type TEXT NOT NULL, status TEXT NOT NULL,"
    " creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,"
    " FOREIGN KEY (worker_id) REFERENCES workers (worker_id),"
    " FOREIGN KEY (unit_id) REFERENCES units (unit_id))",
    "CREATE TABLE IF NOT EXISTS qualifications (qualification_id INTEGER PRIMARY KEY"
    " AUTOINCREMENT, qualification_name TEXT NOT NULL UNIQUE,"
    " creation_date DATETIME DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS granted_qualifications (granted_qualification_id INTEGER"
    " PRIMARY KEY AUTOINCREMENT, worker_id INTEGER NOT NULL, qualification_id INTEGER NOT NULL,"
    " value INTEGER NOT NULL, creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,"
    " FOREIGN KEY (worker_id) REFERENCES workers (worker_id),"
    " FOREIGN KEY (qualification_id) REFERENCES qualifications (qualification_id),"
    " UNIQUE (worker_id, qualification_id))",
    "CREATE TABLE IF NOT EXISTS onboarding_agents (onboarding_agent_id INTEGER PRIMARY KEY"
    " AUTOINCREMENT, worker_id INTEGER NOT NULL, task_id INTEGER NOT NULL,"
    " task_run_id INTEGER NOT NULL, task_type TEXT NOT NULL, status TEXT NOT NULL,"
    " creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,"
    " FOREIGN KEY (worker_id) REFERENCES workers (worker_id),"
    " FOREIGN KEY (task_run_id) REFERENCES task_runs (task_run_id))",
)

CROWD_INDEXES = (
    "CREATE INDEX IF NOT EXISTS requesters_by_provider_index ON requesters(provider_type)",
    "CREATE INDEX IF NOT EXISTS unit_by_status_index ON units(status)",
    "CREATE INDEX IF NOT EXISTS unit_by_assignment_id_index ON units(assignment_id)",
    "CREATE INDEX IF NOT EXISTS unit_by_task_run_index ON units(task_run_id)",
    "CREATE INDEX IF NOT EXISTS unit_by_task_run_by_worker_by_status_index"
    " ON units(task_run_id, worker_id, status)",
    "CREATE INDEX IF NOT EXISTS unit_by_task_by_worker_index ON units(task_id, worker_id)",
    "CREATE INDEX IF NOT EXISTS agent_by_worker_by_status_index ON agents(worker_id, status)",
    "CREATE INDEX IF NOT EXISTS agent_by_task_run_index ON agents(task_run_id)",
    "CREATE INDEX IF NOT EXISTS assignment_by_task_run_index ON assignments(task_run_id)",
    "CREATE INDEX IF NOT EXISTS task_run_by_requester_index ON task_runs(requester_id)",
    "CREATE INDEX IF NOT EXISTS task_run_by_task_index ON task_runs(task_id)",
)

# UnifiedQuantum's TaskStore schema version 1 and its file header.
QUANTUM_TABLES = (
    "CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, backend TEXT NOT NULL,"
    " status TEXT NOT NULL, shots INTEGER NOT NULL DEFAULT 0, submit_time TEXT NOT NULL,"
    " update_time TEXT NOT NULL, result_json TEXT, metadata_json TEXT NOT NULL DEFAULT '{}')",
)
QUANTUM_INDEXES = (
    "CREATE INDEX IF NOT EXISTS tasks_backend_idx ON tasks(backend)",
    "CREATE INDEX IF NOT EXISTS tasks_status_idx ON tasks(status)",
    "CREATE INDEX IF NOT EXISTS tasks_submit_time_idx ON tasks(submit_time)",
)
QUANTUM_APPLICATION_ID = 0x554E4943
QUANTUM_USER_VERSION = 1


def make_crowd_seed_file(path: Path, *, with_indexes: bool = True) -> Path:
    """A crowd database as the seed's init_tables leaves it (application_id 0)."""
    with sqlite3.connect(path) as connection:
        for statement in CROWD_TABLES + (CROWD_INDEXES if with_indexes else ()):
            connection.execute(statement)
    connection.close()
    return path


def make_quantum_seed_file(path: Path) -> Path:
    """A quantum cache as the seed's TaskStore leaves it: WAL, tagged UNIC, user_version 1."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA application_id = {QUANTUM_APPLICATION_ID}")
        with connection:
            for statement in QUANTUM_TABLES + QUANTUM_INDEXES:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {QUANTUM_USER_VERSION}")
    finally:
        connection.close()
    return path


def fill_crowd_seed_file(path: Path) -> None:
    """Rows written the way the seed writes them: its INSERT statements, FKs on."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA foreign_keys = 1")
        with connection:
            run = connection.execute
            run("INSERT INTO projects(project_name) VALUES (?)", ("legacy-project",))
            run(
                "INSERT INTO tasks(task_name, task_type, project_id, parent_task_id)"
                " VALUES (?, ?, ?, ?)",
                ("legacy-task", "mock", 1, None),
            )
            run(
                "INSERT INTO requesters(requester_name, provider_type) VALUES (?, ?)", ("r", "mock")
            )
            run(
                "INSERT INTO task_runs(task_id, requester_id, init_params, is_completed,"
                " provider_type, task_type, sandbox) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (1, 1, "{}", False, "mock", "mock", True),
            )
            run(
                "INSERT INTO assignments(task_id, task_run_id, requester_id, task_type,"
                " provider_type, sandbox) VALUES (?, ?, ?, ?, ?, ?)",
                (1, 1, 1, "mock", "mock", True),
            )
            run(
                "INSERT INTO units(task_id, task_run_id, requester_id, assignment_id, unit_index,"
                " pay_amount, provider_type, task_type, sandbox, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (1, 1, 1, 1, 0, 0.05, "mock", "mock", True, "created"),
            )
            run("INSERT INTO workers(worker_name, provider_type) VALUES (?, ?)", ("w", "mock"))
            run(
                "INSERT INTO agents(worker_id, unit_id, task_id, task_run_id, assignment_id,"
                " task_type, provider_type, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (1, 1, 1, 1, 1, "mock", "mock", "none"),
            )
            run(
                "UPDATE units SET status = ?, agent_id = ?, worker_id = ? WHERE unit_id = ?",
                ("assigned", 1, 1, 1),
            )
            run("INSERT INTO qualifications(qualification_name) VALUES (?)", ("q",))
            run(
                "INSERT INTO granted_qualifications(qualification_id, worker_id, value)"
                " VALUES (?, ?, ?)",
                (1, 1, 3),
            )
            run(
                "INSERT INTO onboarding_agents(worker_id, task_id, task_run_id, task_type, status)"
                " VALUES (?, ?, ?, ?, ?)",
                (1, 1, 1, "mock", "none"),
            )
    finally:
        connection.close()


def dump(path: Path, tables: tuple[str, ...]) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, with each value's SQLite storage class, in rowid order."""
    connection = sqlite3.connect(path)
    try:
        result: dict[str, list[tuple[object, ...]]] = {}
        for table in tables:
            columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
            typed = ", ".join(f"{c}, typeof({c})" for c in columns)
            result[table] = connection.execute(
                f"SELECT rowid, {typed} FROM {table} ORDER BY rowid"
            ).fetchall()
        return result
    finally:
        connection.close()
