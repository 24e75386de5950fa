"""Start-up: the signing key, and the bootstrap tenants of PRAVAH_TENANTS (each with an API key
whose secret is its token), so a deployment can be seeded from its secrets alone."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker

from pravah.accounts import keys, users
from pravah.accounts.tokens import Signer
from pravah.errors import StartupError
from pravah.settings import Settings


class MissingSecret(StartupError):
    pass


def signer(settings: Settings, *, generate_under: Path | None = None) -> Signer:
    """The configured key; without one, a key kept in `generate_under`/secret.key (embedded
    mode), else MissingSecret."""
    a = settings.auth
    if a.secret_key is not None:
        key = a.secret_key.get_secret_value().encode()
    elif generate_under is not None:
        path = generate_under / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        key = path.read_text().strip().encode()
    else:
        raise MissingSecret("PRAVAH_AUTH__SECRET_KEY is not set: it signs access tokens and must be the same in every API process "
                            "(at least 32 characters, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
    if len(key) < 32:
        raise MissingSecret("PRAVAH_AUTH__SECRET_KEY must have at least 32 characters")
    return Signer(key, [k.get_secret_value().encode() for k in a.previous_keys], a.access_ttl_seconds)


async def seed_tenants(sessions: async_sessionmaker, settings: Settings) -> None:
    """Create or update each bootstrap tenant and make its token a key of it."""
    if not settings.tenants:
        return
    async with sessions() as s:
        for t in settings.tenants:
            inbox = t.inbox or t.scopes[0]
            row = await users.tenant_by_name(s, t.name)
            if row is None:
                row = await users.create_tenant(s, t.name, t.scopes, inbox)
            else:
                row.scopes = [users.check_scope(x) for x in t.scopes]
                row.inbox = inbox if "/" in inbox else inbox + "/"
            await keys.bootstrap(s, row, t.token, t.rights)
            await s.flush()
        await s.commit()
