"""Runs backfills: claims one (a lease renewed with every page), lists the next page while the
previous page's jobs commit, and stops when the listing ends, the backfill is cancelled or another
runner took it over. With PRAVAH_BATCH__RECONCILE_SECONDS it also starts a reconcile sweep of every
bound prefix that had none for that long, and, given Kafka's address (server mode), it sweeps every
PRAVAH_BATCH__OUTAGE_SWEEP_SECONDS while Kafka is away and just after (`outage.py`). Runs beside
the workers (server) or in `pravah up`."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from itertools import islice

import anyio
from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah import metrics, registry
from pravah.accounts.principal import LOCAL, Principal
from pravah.batch import backfills
from pravah.batch.outage import BusWatch
from pravah.batch.listing import PAGE, Listed, objects
from pravah.batch.models import Backfill
from pravah.clock import now
from pravah.db.wakeup import Wakeup
from pravah.errors import DomainError
from pravah.pipelines import Document
from pravah.routing import Router
from pravah.settings import BatchSettings
from pravah.storage import LocalStore, S3Store, StoreError
from pravah.worker import worker_id

log = logging.getLogger("pravah.batch")
SWEEPER = dataclasses.replace(LOCAL, name="reconcile")
OUTAGE_SWEEPER = dataclasses.replace(LOCAL, name="bus-outage")


class Runner:
    def __init__(self, sessions: async_sessionmaker, store: LocalStore | S3Store, db_url: str, settings: BatchSettings,
                 bus: str | None = None):
        """`bus`: Kafka's bootstrap servers, where object events come through it (server mode)."""
        self.sessions, self.store, self.db_url, self.settings, self.bus = sessions, store, db_url, settings, bus
        self.owner = worker_id()
        self.lease = timedelta(seconds=settings.lease_seconds)

    async def serve(self) -> None:
        """Until cancelled."""
        wake = Wakeup(self.db_url, backfills.CHANNEL)
        try:
            async with anyio.create_task_group() as tg:
                if self.settings.reconcile_seconds:
                    tg.start_soon(self._sweeps)
                if self.bus and self.settings.outage_sweep_seconds:
                    tg.start_soon(self._outage_sweeps, BusWatch(self.bus))
                tg.start_soon(self._claims, wake)
        finally:
            with anyio.CancelScope(shield=True):
                await wake.close()

    async def _router(self) -> Router:
        async with self.sessions() as s:
            live = await registry.live(s)
        return Router(live[1] if live else Document())

    async def _claims(self, wake: Wakeup) -> None:
        while True:
            try:
                async with self.sessions() as s:
                    b = await backfills.claim(s, self.owner, self.lease)
                if b is None:
                    await wake.wait(self.settings.poll_seconds)
                    continue
                await self.run(b)
            except Exception:  # the database away (a restart): the lease lets another runner, or this one, resume
                log.exception("backfill runner: retrying in 1 s")
                await anyio.sleep(1.0)

    async def run(self, b: Backfill) -> None:
        """List from the cursor to the end (or until cancelled / taken over), a page per transaction."""
        router = await self._router()
        listing = objects(self.store, b.bucket, b.prefix, b.cursor)
        log.info("%s %s: listing %s/%s after %r", b.kind, b.id, b.bucket, b.prefix, b.cursor or "")
        nxt: dict[str, list[Listed] | Exception] = {}

        def fetch() -> None:
            try:
                nxt["page"] = list(islice(listing, PAGE))
            except Exception as e:  # StoreError, or boto3's own: the backfill fails naming it
                nxt["page"] = e

        await anyio.to_thread.run_sync(fetch)
        while True:
            page = nxt.pop("page")
            if isinstance(page, Exception):
                async with self.sessions() as s:
                    await backfills.fail(s, b, self.owner, str(page) if isinstance(page, StoreError) else f"listing failed: {page}")
                log.error("%s %s failed: %s", b.kind, b.id, page)
                return
            last = len(page) < PAGE
            try:
                rows, counts = backfills.rows_for(b, page, router, now())
            except DomainError as e:  # the named pipeline left the live document
                async with self.sessions() as s:
                    await backfills.fail(s, b, self.owner, str(e))
                return
            async with anyio.create_task_group() as tg:
                if not last:
                    tg.start_soon(anyio.to_thread.run_sync, fetch)  # the next page lists while this one commits
                async with self.sessions() as s:
                    kept = await backfills.commit_page(s, b, self.owner, self.lease, rows, counts, page[-1].key if page else None, last)
            if b.kind == "reconcile" and kept:
                metrics.RECONCILED.inc(counts.created)
            if not kept:
                log.info("%s %s: cancelled or taken over; stopping", b.kind, b.id)
                return
            if last:
                log.info("%s %s: listed to the end", b.kind, b.id)
                return

    async def _sweep_all(self, every: timedelta, who: Principal) -> None:
        """A reconcile backfill of each bound prefix that had none within `every` nor has one under way."""
        router = await self._router()
        for bucket, prefix in sorted({(bd.bucket, bd.prefix) for bd in router.doc.bindings}):
            async with self.sessions() as s:
                if await backfills.sweep_due(s, bucket, prefix, every):
                    await backfills.create(s, who, router, bucket, prefix, None, backfills.Filters(), None, kind="reconcile")

    async def _sweeps(self) -> None:
        every = timedelta(seconds=self.settings.reconcile_seconds)
        while True:
            try:
                await self._sweep_all(every, SWEEPER)
            except Exception:
                log.exception("reconcile sweep not started; trying again later")
            await anyio.sleep(min(self.settings.reconcile_seconds, 60.0))

    async def _outage_sweeps(self, watch: BusWatch) -> None:
        every = self.settings.outage_sweep_seconds
        while True:
            try:
                if await watch.due():
                    await self._sweep_all(timedelta(seconds=every), OUTAGE_SWEEPER)
            except Exception:
                log.exception("bus-outage sweep not started; trying again later")
            await anyio.sleep(every)
