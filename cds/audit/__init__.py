"""Audit trail: every invocation and every piece of feedback (never tokens nor prefetch).

- `store`: the AuditStore protocol the routes use, and an in-memory store (tests, replay);
- `models`: the tables (invocation, issued_card, feedback), timezone-aware UTC times;
- `migrations/`: Alembic, the owner of the schema (`cds migrate` runs `database.upgrade`);
- `engine`: connecting (SQLite: WAL, foreign keys, busy timeout; PostgreSQL: psycopg 3);
- `database`: `open_store(url)` -> SqlAuditStore, and `upgrade(url)`;
- `report`: what `cds audit` shows (recent activity, per rule version acceptance).
"""
