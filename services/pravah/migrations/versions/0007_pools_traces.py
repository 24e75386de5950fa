"""worker pools (a job is claimed only by its pool's workers) and the W3C trace context a job carries

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("pool", sa.String(64), nullable=False, server_default="default"))
    op.add_column("jobs", sa.Column("traceparent", sa.String(64), nullable=True))
    op.add_column("workers", sa.Column("pool", sa.String(64), nullable=False, server_default="default"))
    # claims look for a pool's runnable jobs; the pool leads so one pool's backlog is never scanned by another
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.create_index("ix_jobs_claim", "jobs", ["pool", "status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.create_index("ix_jobs_claim", "jobs", ["status", "next_attempt_at"])
    op.drop_column("workers", "pool")
    op.drop_column("jobs", "traceparent")
    op.drop_column("jobs", "pool")
