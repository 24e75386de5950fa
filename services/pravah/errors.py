"""Domain errors, raised by domain code and mapped to HTTP once (api/app.py) and to exit codes
once (cli); and the errors that stop a server process at start-up. Each message says what is
wrong and where."""

from __future__ import annotations


class StartupError(Exception):
    """A setting or the machine stops a server process before it serves (a missing signing key, a
    taken port): `pravah serve` prints the one line and exits 2. One base class so that the CLI
    need not import each role's modules to know their errors."""


class DomainError(Exception):
    status = 400


class Invalid(DomainError):
    """The request is malformed or names something impossible (a hostile file name, a size)."""

    status = 422


class Unauthorized(DomainError):
    """No identity, or a bad one (wrong password, expired or tampered token, revoked key)."""

    status = 401


class Forbidden(DomainError):
    """A known caller without the right (a user on an admin route, a read-only key writing)."""

    status = 403


class NotFound(DomainError):
    """Absent, or not the caller's to see (another tenant's job is 'not found', not 'forbidden')."""

    status = 404


class Conflict(DomainError):
    """The thing exists in a state that does not allow this (retry of a running job)."""

    status = 409


class TooLarge(DomainError):
    status = 413


class Throttled(DomainError):
    """Slow down: too many failed sign-ins. `retry_after` in seconds."""

    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
