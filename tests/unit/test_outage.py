"""The bus watch of the outage sweeps: a real TCP probe, and when sweeping is due."""

from __future__ import annotations

import logging
import socket

import anyio

from pravah.batch.outage import BusWatch, reachable


def test_reachable_takes_any_server_that_accepts_a_connection() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        assert anyio.run(reachable, f"127.0.0.1:{port}")
        assert anyio.run(reachable, f"no-port, 127.0.0.1:notaport, 127.0.0.1:{port}")
    assert not anyio.run(reachable, f"127.0.0.1:{port}"), "a closed port is away"
    assert not anyio.run(reachable, "")


class Bus:
    """A probe the test sets, and a clock it moves."""

    def __init__(self) -> None:
        self.up, self.t = False, 100.0

    async def probe(self, servers: str) -> bool:
        assert servers == "kafka:9092"
        return self.up


def test_sweeps_are_due_while_away_and_until_settled_only_once_seen_up(caplog) -> None:
    caplog.set_level(logging.INFO, "pravah.batch")
    bus = Bus()
    watch = BusWatch("kafka:9092", settle=15.0, clock=lambda: bus.t, probe=bus.probe)
    due = lambda: anyio.run(watch.due)  # noqa: E731
    assert not due(), "never reached: a wrong address must not sweep every few seconds"
    bus.t += 60
    assert not due()
    bus.up = True
    assert not due(), "up: events come through Kafka"
    bus.up, bus.t = False, bus.t + 1
    assert due(), "away after being seen up"
    bus.t += 100
    assert due(), "still away"
    bus.up, bus.t = True, bus.t + 5
    assert due(), "back 5 s after the last failed probe: MinIO may still hold events back"
    bus.t += 10.5
    assert not due(), "settled"
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, said  # once when it went away, once when it came back: not at every probe
    assert said[0].startswith("Kafka refuses connections at kafka:9092") and said[1].startswith("Kafka answers again at kafka:9092")
