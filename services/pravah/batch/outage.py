"""Sweeps while the bus is away. When Kafka refuses connections, object events stop reaching
ingest: MinIO keeps them in its queue store (replayed on a 3 s ticker, and after an outage of
some seconds its producer holds back 10 s more behind a circuit breaker) or, publishing
directly, drops them. So from the moment Kafka is seen away until `SETTLE` seconds after it is
back, the runners sweep every bound prefix (`Runner._outage_sweeps`): files uploaded meanwhile
become jobs from the listing, and their events, when they come, find the jobs made (one job per
object version either way)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import anyio

log = logging.getLogger("pravah.batch")

SETTLE = 15.0  # MinIO's replay ticker (3 s) and its producer's breaker (10 s), with margin


async def reachable(servers: str, timeout: float = 1.0) -> bool:
    """Does any of the bootstrap servers (`host:port,host:port`) take a TCP connection?"""
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with anyio.fail_after(timeout):
                stream = await anyio.connect_tcp(host.strip("[]"), int(port))
            await stream.aclose()
            return True
        except (OSError, TimeoutError, ValueError):
            continue
    return False


class BusWatch:
    """Whether sweeping is due: Kafka is away, or was within `settle` seconds. Only once Kafka
    has been seen up: a process that never reached it sweeps nothing (a worker started before
    Kafka, or a deployment whose bootstrap address is wrong, must not list its prefixes every
    few seconds)."""

    def __init__(self, servers: str, settle: float = SETTLE, clock: Callable[[], float] = time.monotonic,
                 probe: Callable[[str], object] = reachable) -> None:
        self.servers, self.settle, self.clock, self.probe = servers, settle, clock, probe
        self.seen_up = self.away = False
        self.until = float("-inf")

    async def due(self) -> bool:
        up = await self.probe(self.servers)  # type: ignore[misc]
        t = self.clock()
        if up and self.away:
            log.info("Kafka answers again at %s; sweeping for %.0f s more", self.servers, self.settle)
        elif not up and self.seen_up and not self.away:
            log.warning("Kafka refuses connections at %s: sweeping the bound prefixes until %.0f s after it is back", self.servers, self.settle)
        if up:
            self.seen_up = True
        elif self.seen_up:
            self.until = t + self.settle
        self.away = not up and self.seen_up
        return t < self.until
