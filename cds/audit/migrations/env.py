"""Alembic environment for the audit schema.

`cds.audit.database.upgrade()` passes an open connection in `config.attributes["connection"]`.
Run by hand (`alembic -c cds/audit/migrations/alembic.ini ...`, see that file),
it connects to CDS_DATABASE_URL instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from cds.audit.connection import make_engine
from cds.audit.models import TABLES
from cds.settings import Settings

# Any constant: only migrations take this lock, so two `cds migrate` at once (several replicas
# starting together) run one after the other instead of both creating the tables.
POSTGRES_MIGRATION_LOCK = 0x6364735F6D696772  # "cds_migr"

target_metadata = TABLES[0].metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK}
            )
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = make_engine(Settings().database_url)
    try:
        with engine.begin() as own_connection:
            run_migrations(own_connection)
    finally:
        engine.dispose()


main()
