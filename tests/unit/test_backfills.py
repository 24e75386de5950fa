"""Backfills on SQLite and a local bucket folder: key-order listing from a cursor, jobs made once,
filters, a named pipeline, resuming after a runner died mid-way without a duplicate, cancel.
(tests/services/test_backfill.py runs them on MinIO and PostgreSQL; tests/integration the CLI.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
import yaml
from sqlalchemy import func, select

from pravah import registry
from pravah.accounts.principal import LOCAL
from pravah.batch import backfills
from pravah.batch.listing import objects
from pravah.batch.models import Backfill, BackfillStatus
from pravah.batch.runner import Runner
from pravah.db.models import Job
from pravah.db.session import make_engine, sessions
from pravah.errors import NotFound
from pravah.pipelines import validate
from pravah.routing import Router
from pravah.settings import BatchSettings
from pravah.storage import LocalStore, StoreError

DOC = validate(yaml.safe_load("""
pipelines:
  - name: csv
    steps: [read_csv, write_parquet]
    output: out/{stem}.parquet
  - name: zip-it
    steps: [gzip]
    output: out/{key}.gz
bindings:
  - { bucket: in, prefix: csv/, suffix: .csv, pipeline: csv }
"""))


def keys_of(store: LocalStore, prefix: str, after: str | None = None) -> list[str]:
    return [o.key for o in objects(store, "in", prefix, after)]


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    s = LocalStore(tmp_path / "data")
    for key in ("a.txt", "a/b", "a/c/d", "a-b", "b", "csv/1.csv", "csv/2.csv", "csv/x.txt", "csv/sub/3.csv", "z/\u00e9.csv"):
        p = s.root / "in" / key
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"k,v\n1,2\n" * (3 if key.endswith("2.csv") else 1))
    return s


def test_local_listing_is_in_key_order_and_resumes_after_a_cursor(store: LocalStore) -> None:
    everything = keys_of(store, "")
    assert everything == sorted(everything) and len(everything) == 10  # S3's order: "a-b" < "a.txt" < "a/b"
    assert keys_of(store, "a") == ["a-b", "a.txt", "a/b", "a/c/d"]
    assert keys_of(store, "a/") == ["a/b", "a/c/d"]
    assert keys_of(store, "csv/", after="csv/2.csv") == ["csv/sub/3.csv", "csv/x.txt"]
    assert keys_of(store, "", after="a/c/d") == [k for k in everything if k > "a/c/d"]
    assert keys_of(store, "nothing/") == []
    with pytest.raises(StoreError, match="no bucket 'missing'"):
        list(objects(store, "missing", "", None))


def run(db_url: str, store: LocalStore, *specs: dict, settings: BatchSettings = BatchSettings()) -> list[Backfill]:
    """Each spec a backfill, run to its end by one runner; the backfills as they ended."""
    async def go() -> list[Backfill]:
        eng = make_engine(db_url)
        s = sessions(eng)
        async with s() as session:
            await registry.apply(session, DOC, "doc.yaml")
        runner, done = Runner(s, store, db_url, settings), []
        for spec in specs:
            async with s() as session:
                b = await backfills.create(session, LOCAL, Router(DOC), spec.get("bucket", "in"), spec.get("prefix", ""), spec.get("pipeline"),
                                           backfills.Filters(**spec.get("filters", {})), None)
            async with s() as session:
                claimed = await backfills.claim(session, runner.owner, runner.lease)
            assert claimed is not None and claimed.id == b.id
            await runner.run(claimed)
            async with s() as session:
                done.append(await session.get(Backfill, b.id))
        await eng.dispose()
        return done

    return anyio.run(go)


def job_keys(db_url: str) -> list[str]:
    async def go() -> list[str]:
        eng = make_engine(db_url)
        async with sessions(eng)() as s:
            keys = list((await s.execute(select(Job.key).order_by(Job.key))).scalars())
        await eng.dispose()
        return keys

    return anyio.run(go)


def test_bindings_decide_and_nothing_is_made_twice(db_url: str, store: LocalStore) -> None:
    first, again = run(db_url, store, {"prefix": ""}, {"prefix": "csv/"})
    assert first.status == BackfillStatus.SUCCEEDED and (first.listed, first.created, first.unrouted) == (10, 3, 7)
    assert (again.listed, again.created, again.existing, again.unrouted) == (4, 0, 3, 1)
    assert job_keys(db_url) == ["csv/1.csv", "csv/2.csv", "csv/sub/3.csv"]  # z/é.csv: no binding watches z/


def test_filters_and_a_named_pipeline(db_url: str, store: LocalStore) -> None:
    (b,) = run(db_url, store, {"prefix": "", "pipeline": "zip-it", "filters": {"glob": "*.csv", "min_size": 9}})
    assert (b.listed, b.filtered, b.created) == (10, 9, 1)  # only csv/2.csv is 24 bytes; the others 8
    assert job_keys(db_url) == ["csv/2.csv"]
    (old,) = run(db_url, store, {"prefix": "a", "pipeline": "zip-it", "filters": {"older_than_seconds": 3600}})
    assert (old.listed, old.filtered, old.created) == (4, 4, 0)  # all written just now


def test_a_dead_runner_is_resumed_at_its_cursor(db_url: str, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "data")
    for i in range(2_500):
        p = store.root / "in" / "csv" / f"{i:05d}.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"a\n1\n")
    short = BatchSettings(lease_seconds=0.05)

    async def go() -> Backfill:
        eng = make_engine(db_url)
        s = sessions(eng)
        async with s() as session:
            await registry.apply(session, DOC, "doc.yaml")
            b = await backfills.create(session, LOCAL, Router(DOC), "in", "csv/", None, backfills.Filters(), None)
        dead = Runner(s, store, db_url, short)
        async with s() as session:  # the first runner commits one page, then dies
            mine = await backfills.claim(session, dead.owner, dead.lease)
            page = list(objects(store, "in", "csv/", None))[:1000]
            rows, counts = backfills.rows_for(mine, page, Router(DOC), datetime.now(UTC))
            assert await backfills.commit_page(session, mine, dead.owner, dead.lease, rows, counts, page[-1].key, False)
        await anyio.sleep(0.1)  # its lease runs out
        heir = Runner(s, store, db_url, short)
        async with s() as session:
            taken = await backfills.claim(session, heir.owner, timedelta(seconds=30))
        assert taken.id == b.id and taken.cursor == "csv/00999.csv"
        await heir.run(taken)
        async with s() as session:  # the dead one comes back: its page is refused, nothing is made twice
            assert not await backfills.commit_page(session, mine, dead.owner, dead.lease, rows, counts, page[-1].key, False)
            n = (await session.execute(select(func.count(Job.id)))).scalar_one()
            done = await session.get(Backfill, b.id)
        assert n == 2_500
        await eng.dispose()
        return done

    done = anyio.run(go)
    assert (done.status, done.listed, done.created, done.existing) == (BackfillStatus.SUCCEEDED, 2_500, 2_500, 0)


def test_cancel_and_refusals(db_url: str, store: LocalStore) -> None:
    async def go() -> None:
        eng = make_engine(db_url)
        s = sessions(eng)
        async with s() as session:
            await registry.apply(session, DOC, "doc.yaml")
            with pytest.raises(NotFound, match="no pipeline 'nope'"):
                await backfills.create(session, LOCAL, Router(DOC), "in", "", "nope", backfills.Filters(), None)
            b = await backfills.create(session, LOCAL, Router(DOC), "in", "", None, backfills.Filters(), None)
        runner = Runner(s, store, db_url, BatchSettings())
        async with s() as session:
            mine = await backfills.claim(session, runner.owner, runner.lease)
            await session.execute(Backfill.__table__.update().values(status=BackfillStatus.CANCELLED))
            await session.commit()
        await runner.run(mine)  # stops at its first page
        async with s() as session:
            assert (await session.get(Backfill, b.id)).listed == 0
            assert (await session.execute(select(func.count(Job.id)))).scalar_one() == 0
        await eng.dispose()

    anyio.run(go)
