"""Embedded mode: local folders as buckets, SQLite, in-process watcher, worker, relay and API.
Same routing, job, worker and engine code as the server path; only the edges differ."""

from __future__ import annotations

import logging

import anyio

from pravah import pipelines, registry, relay
from pravah.accounts import bootstrap
from pravah.api import serve
from pravah.api.context import ApiContext
from pravah.batch.runner import Runner
from pravah.db.session import make_engine, migrate, sessions
from pravah.ingest import IngestStats, ingest
from pravah.live.hub import Hub
from pravah.relay import JsonLinesSink
from pravah.routing import Router
from pravah.settings import Settings
from pravah.signals import stop_on_signal
from pravah.storage import LocalStore
from pravah.watcher import Watcher
from pravah.worker import Worker

log = logging.getLogger("pravah.embedded")


async def sync_document(sessions, doc: pipelines.Document, source: str) -> None:
    """Make `doc` the live document unless it already is (each start would add a row)."""
    async with sessions() as s:
        current = await registry.live(s)
        if current is None or current[1] != doc:
            await registry.apply(s, doc, source)


class Embedded:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.doc = pipelines.load(settings.pipelines)
        self.router = Router(self.doc)
        settings.home.mkdir(parents=True, exist_ok=True)
        self.signer = bootstrap.signer(settings, generate_under=settings.home)
        self.store = LocalStore(settings.data_dir, staging=settings.home / "uploads", signer=self.signer,
                                base_url=settings.api.base_url, presign_max_seconds=settings.s3.presign_max_seconds,
                                folders={b: p.resolve() for b, p in settings.folders.items()})
        for bucket in self.router.buckets | {p.output_bucket for p in self.doc.pipelines if "{" not in p.output_bucket}:
            self.store.bucket_path(bucket).mkdir(parents=True, exist_ok=True)
        migrate(settings.db_url)
        self.engine = make_engine(settings.db_url)
        self.sessions = sessions(self.engine)
        self.watcher = Watcher(self.store.bucket_path, self.router.buckets, settings.watcher.settle_seconds)
        self.worker = Worker(self.sessions, registry.Registry(self.sessions), self.store, settings.worker)
        self.sink = JsonLinesSink(settings.events_path)
        self.stats = IngestStats()
        self.api = ApiContext(self.sessions, settings, self.store, self.signer, Hub(self.sessions, settings.db_url),
                              open=(settings.auth.mode or "open") == "open")

    async def watch(self) -> None:
        while True:
            events = await anyio.to_thread.run_sync(self.watcher.scan)
            if events:
                await ingest(self.sessions, self.router, events, self.stats)
            await anyio.sleep(self.settings.watcher.poll_seconds)

    async def serve(self) -> None:
        """`pravah up`: everything until SIGTERM or SIGINT; the worker drains first."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(stop_on_signal, tg.cancel_scope, self._drain)
            tg.start_soon(self.run)

    async def _drain(self, hurry: anyio.Event) -> None:
        await self.worker.drain(self.settings.worker.grace_seconds, hurry)

    async def run(self) -> None:
        """Everything, until cancelled."""
        try:
            await sync_document(self.sessions, self.doc, str(self.settings.pipelines))
            await bootstrap.seed_tenants(self.sessions, self.settings)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.watch)
                tg.start_soon(self.worker.serve)
                tg.start_soon(Runner(self.sessions, self.store, self.settings.db_url, self.settings.batch).serve)
                tg.start_soon(relay.serve, self.sessions, self.sink, self.settings.db_url, 0.2)
                if self.settings.api.port:
                    tg.start_soon(serve.serve, self.api)
        finally:
            with anyio.CancelScope(shield=True):
                await self.engine.dispose()
