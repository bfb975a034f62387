<%!
    import re


    def quoted(value):
        """repr() with the double quotes ruff format writes."""
        return repr(value).replace("'", '"')


    def import_block(imports, body):
        """Only the imports the body uses, grouped and ordered as ruff's isort wants them."""
        lines = {line for line in (imports or "").splitlines() if line.strip()}
        if re.search(r"\bsa\.", body):
            lines.add("import sqlalchemy as sa")
        if re.search(r"\bop\.", body):
            lines.add("from alembic import op")
        ours = [line for line in lines if re.match(r"(from|import) taskdb\b", line)]
        theirs = [line for line in lines if line not in ours]

        def order(line):
            return (line.startswith("from "), line.split()[1].lower())

        groups = [sorted(group, key=order) for group in (theirs, ours) if group]
        return "".join("\n" + "\n".join(group) + "\n" for group in groups)
%>\
<%
    body = (upgrades or "") + "\n" + (downgrades or "")
%>\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Freeze the table shapes this revision needs here: never import the live models (column
types come from taskdb.schema, whose DDL stays fixed once a revision uses it).
"""

from __future__ import annotations
${import_block(imports, body)}
revision = ${quoted(up_revision)}
down_revision = ${quoted(down_revision)}
branch_labels = ${quoted(branch_labels)}
depends_on = ${quoted(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
