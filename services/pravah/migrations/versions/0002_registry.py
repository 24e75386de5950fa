"""pipeline versions and applied documents

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pipeline_versions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "applied_documents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("applied_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("applied_documents")
    op.drop_table("pipeline_versions")
