"""backfills (listed prefixes turned into jobs) and the backfill a job came from

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "backfills",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("bucket", sa.String(255), nullable=False),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("pipeline", sa.String(64)),
        sa.Column("min_size", sa.BigInteger),
        sa.Column("max_size", sa.BigInteger),
        sa.Column("glob", sa.Text),
        sa.Column("older_than_seconds", sa.BigInteger),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cursor", sa.Text),
        *(sa.Column(n, sa.BigInteger, nullable=False) for n in ("listed", "created", "existing", "unrouted", "filtered")),
        sa.Column("error", sa.Text),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", ts),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.Column("finished_at", ts),
        sa.Column("pages", sa.Integer, nullable=False),
    )
    op.create_index("ix_backfills_status", "backfills", ["status", "lease_expires_at"])
    op.create_index("ix_backfills_created", "backfills", ["created_at"])
    op.add_column("jobs", sa.Column("backfill_id", sa.String(32), nullable=True))
    op.create_index("ix_jobs_backfill", "jobs", ["backfill_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_jobs_backfill", table_name="jobs")
    op.drop_column("jobs", "backfill_id")
    op.drop_table("backfills")
