"""In-process API on the real PostgreSQL and MinIO for the front-door tests: a test database,
three tenants, users of each role, and an httpx client per test (ASGI, no sockets)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from pravah import registry
from pravah.accounts import users
from pravah.accounts.models import Role
from pravah.accounts.tokens import Signer
from pravah.api.app import create_app
from pravah.api.context import ApiContext
from pravah.db.session import make_engine, sessions
from pravah.live.hub import Hub
from pravah.pipelines import Document
from pravah.settings import Settings, load_settings
from pravah.storage import S3Store

KEY = b"k" * 40
PASSWORD = "correct horse battery"


@dataclass
class World:
    pg_url: str
    bucket: str
    env: dict[str, str]

    def settings(self, **auth: object) -> Settings:
        return load_settings(database_url=self.pg_url, s3={"endpoint": self.env["PRAVAH_S3__ENDPOINT"], "access_key": self.env["PRAVAH_S3__ACCESS_KEY"],
                                                           "secret_key": self.env["PRAVAH_S3__SECRET_KEY"]},
                             auth={"slowdown_after": 2, "lockout_after": 4, "lockout_seconds": 3, **auth})


async def seed(world: World, doc: Document) -> None:
    eng = make_engine(world.pg_url)
    try:
        async with sessions(eng)() as s:
            acme = await users.create_tenant(s, "acme", [f"{world.bucket}/acme/"])
            globex = await users.create_tenant(s, "globex", [f"{world.bucket}/globex/"])
            ops = await users.create_tenant(s, "ops", [world.bucket])
            await users.create_user(s, "alice@acme.test", PASSWORD, acme)
            await users.create_user(s, "bob@globex.test", PASSWORD, globex)
            await users.create_user(s, "root@ops.test", PASSWORD, ops, role=Role.ADMIN)
            await users.create_user(s, "lock@acme.test", PASSWORD, acme)
            await s.commit()
            await registry.apply(s, doc, "test")
    finally:
        await eng.dispose()


@contextlib.asynccontextmanager
async def api(world: World, signer: Signer | None = None, **auth: object) -> AsyncIterator[tuple[httpx.AsyncClient, ApiContext]]:
    settings = world.settings(**auth)
    eng = make_engine(world.pg_url)
    made = sessions(eng)
    ctx = ApiContext(made, settings, S3Store(settings.s3), signer or Signer(KEY), Hub(made, world.pg_url), open=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(create_app(ctx)), base_url="http://127.0.0.1") as c:
            yield c, ctx
    finally:
        await eng.dispose()


async def sign_in(c: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict:
    r = await c.post("/v1/auth/sign-in", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
