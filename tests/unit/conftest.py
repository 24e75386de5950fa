"""Shared fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah import jobs, registry
from pravah.db.session import migrate
from pravah.events import ObjectEvent
from pravah.pipelines import Document
from pravah.routing import Route


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite database with every migration applied (what embedded mode runs on)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    migrate(url)
    return url


SeedJob = Callable[[async_sessionmaker, Document, str, int], Awaitable[str]]


@pytest.fixture
def seed_job() -> SeedJob:
    """`await seed_job(sessions, doc, key, size)`: `doc` applied and a PENDING job made for the
    object `key` (bucket "in") by its first binding and pipeline; the job's id."""

    async def seed(s: async_sessionmaker, doc: Document, key: str, size: int) -> str:
        async with s() as session:
            await registry.apply(session, doc, "t")
            ev = ObjectEvent(bucket="in", key=key, size=size, etag="e", event_time=datetime.now(UTC))
            job_id = await jobs.create_job(session, ev, Route(doc.bindings[0], doc.pipelines[0]))
            await session.commit()
        return job_id

    return seed
