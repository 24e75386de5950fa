"""Reprocess on SQLite: the objects an older version of a pipeline last processed successfully get
jobs of the live version, once; failures, objects already on the live version and objects outside
the caller's scopes or before `since` are left alone. (The API and CLI on the real services:
tests/services/test_backfill.py.)"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from sqlalchemy import select, update

from pravah import jobs, registry
from pravah.accounts.principal import LOCAL
from pravah.batch.reprocess import reprocess
from pravah.db.models import Job, Status
from pravah.db.session import make_engine, sessions
from pravah.errors import NotFound
from pravah.events import ObjectEvent
from pravah.pipelines import Binding, Document, Pipeline
from pravah.routing import Route, Router

V1 = Pipeline(name="p", steps=[{"op": "gzip"}], output="out/{key}.gz")
V2 = V1.model_copy(update={"steps": [{"op": "zstd"}], "output": "out/{key}.zst"})
BINDING = Binding(bucket="in", pipeline="p")


def event(key: str) -> ObjectEvent:
    return ObjectEvent(bucket="in", key=key, size=3, etag=f"e-{key}", event_time=datetime.now(UTC))


def test_older_versions_outputs_are_made_again_once(db_url: str) -> None:
    async def go() -> None:
        eng = make_engine(db_url)
        s = sessions(eng)
        t = datetime.now(UTC) - timedelta(days=3)
        async with s() as session:
            await registry.apply(session, Document(pipelines=[V1], bindings=[BINDING]), "v1")
            ids = await jobs.create_jobs(session, [jobs.job_row(event(k), Route(BINDING, V1), t) for k in ("a/1", "a/2", "b/3", "a/4")])
            await session.execute(update(Job).where(Job.id.in_(ids[:3])).values(status=Status.SUCCEEDED))
            await session.execute(update(Job).where(Job.id == ids[0]).values(created_at=t - timedelta(days=10)))  # a/1: long ago
            await session.commit()
            v2 = Document(pipelines=[V2], bindings=[BINDING])
            await registry.apply(session, v2, "v2")
            await jobs.create_jobs(session, [jobs.job_row(event("b/3"), Route(BINDING, V2), datetime.now(UTC))])  # b/3: on v2 already
            await session.commit()
            router = Router(v2)
            with pytest.raises(NotFound, match="no pipeline 'nope'"):
                await reprocess(session, LOCAL, router, "nope", None, None)
            recent = await reprocess(session, LOCAL, router, "p", datetime.now(UTC) - timedelta(days=5), None)
            only_a = dataclasses.replace(LOCAL, role="user", scopes=("in/a/",))
            done = await reprocess(session, only_a, router, "p", None, None)
            again = await reprocess(session, LOCAL, router, "p", None, None)
            made = (await session.execute(select(Job.key, Job.output_key).where(Job.pipeline_version == V2.version).order_by(Job.key))).all()
        await eng.dispose()
        assert (recent.considered, recent.created) == (1, 1)  # a/2 only: a/1's job is older than `since`
        assert (done.version, done.considered, done.created) == (V2.version, 1, 1)  # a/1 (a/2 had its v2 job; b/3 outside a/)
        assert (again.considered, again.created) == (0, 0)  # every object's newest job is on v2 now; a/4 failed under v1
        assert made == [("a/1", "a/1.zst"), ("a/2", "a/2.zst"), ("b/3", "b/3.zst")]  # in bucket out

    anyio.run(go)
