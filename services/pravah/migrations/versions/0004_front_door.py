"""front door: accounts, job events, uploads; jobs can be cancelled and retried

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("inbox", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", ID, primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id"), nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("last_failed_at", TS),
        sa.Column("locked_until", TS),
        sa.Column("last_login_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", ID, primary_key=True),
        sa.Column("family", ID, nullable=False, index=True),
        sa.Column("user_id", ID, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("revoked_at", TS),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", ID, primary_key=True),
        sa.Column("prefix", sa.String(32), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id"), nullable=False, index=True),
        sa.Column("user_id", ID, sa.ForeignKey("users.id"), index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("action", sa.String(64), nullable=False, index=True),
        sa.Column("actor", sa.String(254)),
        sa.Column("user_id", ID),
        sa.Column("tenant_id", ID, index=True),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(256)),
        sa.Column("target", sa.Text),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_at", "audit_log", ["at", "id"])
    op.create_table(
        "job_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("job_id", ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_job_events_job", "job_events", ["job_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # Every new event wakes the API processes' listeners with "<id> <job>": a listener
        # fetches only rows somebody watches, in commit order (NOTIFY is delivered at commit).
        op.execute("""
            CREATE FUNCTION pravah_job_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('pravah_job_events', NEW.id::text || ' ' || NEW.job_id); RETURN NULL; END $$""")
        op.execute("""CREATE TRIGGER job_events_notify AFTER INSERT ON job_events
                      FOR EACH ROW EXECUTE FUNCTION pravah_job_event_notify()""")
    op.create_table(
        "uploads",
        sa.Column("id", ID, primary_key=True),
        sa.Column("tenant_id", ID),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("bucket", sa.String(255), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.String(255)),
        sa.Column("last_modified", sa.BigInteger),
        sa.Column("part_size", sa.BigInteger, nullable=False),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("backend_id", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("etag", sa.String(255)),
        sa.Column("version_id", sa.String(255)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("finished_at", TS),
    )
    op.create_index("ix_uploads_tenant_status", "uploads", ["tenant_id", "status", "created_at"])
    op.create_index("ix_uploads_expiry", "uploads", ["status", "expires_at"])
    with op.batch_alter_table("jobs") as b:
        b.add_column(sa.Column("run", sa.Integer, nullable=False, server_default="1"))
        b.add_column(sa.Column("cancel_requested_at", TS))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as b:
        b.drop_column("cancel_requested_at")
        b.drop_column("run")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS job_events_notify ON job_events")
        op.execute("DROP FUNCTION IF EXISTS pravah_job_event_notify()")
    for t in ("uploads", "job_events", "audit_log", "api_keys", "refresh_tokens", "users", "tenants"):
        op.drop_table(t)
