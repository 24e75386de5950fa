"""new jobs and new outbox rows announce themselves (NOTIFY from a trigger, PostgreSQL only)

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Statement-level, so a batch of jobs sends one NOTIFY; the transition table keeps an insert
# that created nothing (every row a duplicate) silent. The channels are pravah.db.wakeup's.
TRIGGERS = {"jobs": "pravah_jobs", "outbox": "pravah_outbox"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: embedded mode polls
    for table, channel in TRIGGERS.items():
        op.execute(f"""
            CREATE FUNCTION {table}_inserted_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF EXISTS (SELECT FROM inserted) THEN PERFORM pg_notify('{channel}', ''); END IF; RETURN NULL; END $$""")
        op.execute(f"""CREATE TRIGGER {table}_inserted_notify AFTER INSERT ON {table} REFERENCING NEW TABLE AS inserted
                       FOR EACH STATEMENT EXECUTE FUNCTION {table}_inserted_notify()""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_inserted_notify ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_inserted_notify()")
