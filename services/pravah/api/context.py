"""What the API needs from the process that serves it (built by embedded.py or server.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from pravah.accounts.authenticator import Authenticator
from pravah.accounts.tokens import Signer
from pravah.api.probes import Check
from pravah.ingest import LiveRouter
from pravah.live.hub import Hub
from pravah.settings import Settings
from pravah.storage import Store


@dataclass
class ApiContext:
    sessions: async_sessionmaker
    settings: Settings
    store: Store
    signer: Signer
    hub: Hub
    open: bool  # no accounts: every caller is the local admin (loopback only)
    checks: dict[str, Check] = field(default_factory=dict)
    reads: AsyncEngine | None = None  # hot read-only queries (db.session.make_read_engine); default: the sessions' engine
    router: LiveRouter = field(init=False)
    auth: Authenticator = field(init=False)

    def __post_init__(self) -> None:
        self.router = LiveRouter(self.sessions)
        self.auth = Authenticator(self.sessions, self.signer)
        if self.reads is None:
            self.reads = self.sessions.kw["bind"]
