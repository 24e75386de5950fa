"""Alembic environment: async engines for SQLite (embedded) and PostgreSQL alike."""

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from pravah.accounts import models as _accounts  # noqa: F401  (their tables join Base.metadata)
from pravah.batch import models as _batch  # noqa: F401
from pravah.db.models import Base
from pravah.db.session import on_own_loop
from pravah.live import models as _live  # noqa: F401
from pravah.ops import models as _ops  # noqa: F401
from pravah.uploads import models as _uploads  # noqa: F401

config = context.config


def _run(connection):
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _online(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


on_own_loop(_online, config.get_main_option("sqlalchemy.url"))
