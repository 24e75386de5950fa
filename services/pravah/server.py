"""The server path: `pravah serve api|ingest|worker|relay|all` against PostgreSQL, Kafka and
S3/MinIO. Same ingest, job, worker and relay code as embedded mode; only the edges differ
(Kafka instead of the folder watcher and the JSON-lines file, S3 instead of local folders).
A process without the API serves its probes and /metrics on the ops port; every process stops
on SIGTERM/SIGINT after its worker (if any) has drained."""

from __future__ import annotations

import logging

import anyio

from pravah import registry, relay
from pravah.api import probes
from pravah.batch.runner import Runner
from pravah.db.session import make_engine, make_read_engine, migrate, sessions
from pravah.settings import Settings
from pravah.signals import stop_on_signal
from pravah.storage import S3Store
from pravah.worker import Worker

# A role's heavy modules are imported in Server.__init__, by a process with that role only: the
# API's (FastAPI, the web pages) take ~0.6 s of CPU, FastStream's ~0.2 s (twice that without
# cached bytecode), which a restarted worker spent before serving, longer on a busy machine.

log = logging.getLogger("pravah.server")
ROLES = ("api", "ingest", "worker", "relay")  # `all`
NAMED_ROLES = ("controller",)  # only by name: worker pools on Kubernetes


class Server:
    def __init__(self, settings: Settings, roles: set[str]):
        unknown = roles - set(ROLES) - set(NAMED_ROLES)
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(sorted(unknown))}; expected {', '.join(ROLES + NAMED_ROLES)} or all")
        self.settings, self.roles = settings, roles
        self.signer = None
        if "api" in roles:
            from pravah.accounts import bootstrap

            # Before touching anything: a missing signing key or open mode off loopback is one clear line.
            self.signer = bootstrap.signer(settings)
        ops = settings.ops
        self.ops_socket = probes.bind_ops(ops.host, ops.port) if "api" not in roles and ops.port else None
        migrate(settings.db_url, retry_seconds=120)  # a process started during a database restart waits
        self.db = make_engine(settings.db_url)
        self.sessions = sessions(self.db)
        self.store = S3Store(settings.s3)
        self.broker = self.sink = None
        if roles & {"ingest", "relay", "api"}:
            from pravah import bus

            self.broker = bus.make_broker(settings.kafka)
            if "ingest" in roles:
                from pravah.ingest import IngestStats

                bus.add_ingest(self.broker, settings.kafka, self.sessions, IngestStats())
            if "relay" in roles:
                self.sink = bus.KafkaSink(self.broker, settings.kafka)
        self.worker = Worker(self.sessions, registry.Registry(self.sessions), self.store, settings.worker,
                             settings.worker.pool) if "worker" in roles else None
        checks = {"kafka": lambda: self.broker.ping(timeout=2.0)} if self.broker else {}
        self.ops = probes.OpsContext(self.sessions, checks) if self.ops_socket else None
        self.api = None
        if "api" in roles:
            from pravah.api import serve
            from pravah.api.context import ApiContext
            from pravah.live.hub import Hub

            self.api = ApiContext(self.sessions, settings, self.store, self.signer, Hub(self.sessions, settings.db_url),
                                  open=settings.auth.mode == "open", checks=checks, reads=make_read_engine(settings.db_url, self.db))
            serve.check_open_mode(self.api)

    async def _api(self) -> None:
        from pravah.accounts import bootstrap
        from pravah.api import serve

        await bootstrap.seed_tenants(self.sessions, self.settings)
        await serve.serve(self.api)

    async def _kafka(self) -> None:
        """Connect (retrying while Kafka is away: a process must not die because it started
        during a broker restart), then run the relay if this process has that role."""
        delay = 0.5
        while True:
            try:
                await self.broker.start()
                break
            except Exception as e:
                log.warning("Kafka not reachable (%s); retrying in %.1f s", e, delay)
                with anyio.CancelScope(shield=True):
                    await self.broker.stop()
                await anyio.sleep(delay)
                delay = min(delay * 2, 5.0)
        log.info("connected to Kafka")
        if "relay" in self.roles:
            await relay.serve(self.sessions, self.sink, self.settings.db_url)
        else:
            await anyio.sleep_forever()

    async def _drain(self, hurry: anyio.Event) -> None:
        await self.worker.drain(self.settings.worker.grace_seconds, hurry)

    async def run(self) -> None:
        try:
            log.info("serving %s", ", ".join(sorted(self.roles)))
            async with anyio.create_task_group() as tg:
                tg.start_soon(stop_on_signal, tg.cancel_scope, self._drain if self.worker else None)
                if self.ops:
                    tg.start_soon(probes.serve_ops, self.ops, self.ops_socket)
                if self.broker:
                    tg.start_soon(self._kafka)
                if self.worker:
                    tg.start_soon(self.worker.serve)
                    tg.start_soon(Runner(self.sessions, self.store, self.settings.db_url, self.settings.batch, self.settings.kafka.bootstrap_servers).serve)
                if "api" in self.roles:
                    tg.start_soon(self._api)
                if "controller" in self.roles:
                    from pravah.pools import controller  # kubernetes_asyncio only where it is used

                    tg.start_soon(controller.run, self.sessions, self.settings.db_url, self.settings.kube)
        finally:
            with anyio.CancelScope(shield=True):
                if self.broker:
                    await self.broker.stop()
                await self.db.dispose()
                if self.api is not None and self.api.reads is not self.db:
                    await self.api.reads.dispose()
