"""Running an ASGI app on uvicorn until cancelled, on a port or an already bound socket. Apart
from the API (api/serve.py) so that the ops port of a process without the API does not import
FastAPI (api/probes.py)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import anyio
import uvicorn

SHUTDOWN_SECONDS = 5.0  # open requests (an SSE stream never ends by itself) get this long once the process stops


def bound(host: str, port: int, share: bool = False) -> socket.socket:
    """A TCP socket bound to host:port (`share`: several processes may bind the same port)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if share:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The process stops on its own signals (pravah.signals), in order: a worker drains first.
        yield


async def run(app: object, host: str, port: int, share: bool = False, sock: socket.socket | None = None) -> None:
    """Until cancelled; then stop accepting, and give open requests SHUTDOWN_SECONDS."""
    # log_config=None: uvicorn's lines go through the process's own handler (JSON with the rest), not a handler of its own.
    cfg = uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None, lifespan="off", timeout_graceful_shutdown=SHUTDOWN_SECONDS)
    if share:
        sock = bound(host, port, share=True)
    server = _Server(cfg)
    sockets = [sock] if sock is not None else None
    try:
        await server.serve(sockets=sockets)
    finally:
        if server.started and not server.should_exit:  # cancelled: uvicorn's own shutdown did not run
            with anyio.CancelScope(shield=True), anyio.move_on_after(SHUTDOWN_SECONDS + 1):
                await server.shutdown(sockets=sockets)
