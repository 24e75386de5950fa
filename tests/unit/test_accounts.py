"""Accounts, pure parts: password hashes, access tokens and their rotation, scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pravah.accounts import passwords, tokens
from pravah.accounts.principal import LOCAL, Principal, covers
from pravah.accounts.users import check_scope, normalize_email
from pravah.errors import Invalid


def test_passwords_are_argon2id_and_verify() -> None:
    h = passwords.hash_password("a long passphrase")
    assert h.startswith("$argon2id$")
    assert passwords.verify(h, "a long passphrase") and not passwords.verify(h, "a long passphrasE")
    assert not passwords.verify(None, "anything") and not passwords.verify("not a hash", "x")


@pytest.mark.parametrize(("password", "ok"), [("short", False), ("ten chars!", True), ("me@x.test", False)])
def test_password_strength(password: str, ok: bool) -> None:
    if ok:
        passwords.check_strength(password, "me@x.test")
    else:
        with pytest.raises(passwords.WeakPassword):
            passwords.check_strength(password, "me@x.test")


def test_access_tokens_expire_and_rotate() -> None:
    old, new = b"o" * 32, b"n" * 32
    t, exp = tokens.Signer(old, ttl_seconds=60).issue("u1", "t1", "user", "a@b.c")
    assert tokens.Signer(new, [old]).verify(t).user_id == "u1"  # rotated: the previous key still verifies
    with pytest.raises(tokens.InvalidToken, match="unknown key"):
        tokens.Signer(new).verify(t)
    stale, _ = tokens.Signer(old).issue("u1", "t1", "user", "a@b.c", now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(tokens.InvalidToken, match="expired"):
        tokens.Signer(old).verify(stale)
    with pytest.raises(ValueError):
        tokens.Signer(b"short")
    assert exp > datetime.now(UTC)


def test_signed_messages() -> None:
    s = tokens.Signer(b"k" * 32)
    sig = s.sign("PUT\nu\n1")
    assert s.check("PUT\nu\n1", sig) and not s.check("PUT\nu\n2", sig) and not s.check("PUT\nu\n1", sig[:-1] + "0")


@pytest.mark.parametrize(
    ("scopes", "bucket", "key", "sees"),
    [
        (["inbox/a/"], "inbox", "a/x.csv", True),
        (["inbox/a/"], "inbox", "b/x.csv", False),
        (["inbox/a/"], "inbox", "a", False),
        (["whole"], "whole", "any/key", True),
        (["whole"], "wholesale", "k", False),
        ([], "inbox", "a/x", False),
    ],
)
def test_scopes(scopes: list[str], bucket: str, key: str, sees: bool) -> None:
    assert covers(scopes, bucket, key) is sees
    p = Principal(kind="user", id="u", name="u", tenant_id="t", tenant="t", role="user", scopes=tuple(scopes), inbox="", permissions=frozenset())
    assert p.sees(bucket, key) is sees
    assert LOCAL.sees(bucket, key)  # open mode's local admin sees everything


@pytest.mark.parametrize("email", ["plain", "a@b", "a b@c.de", "@c.de"])
def test_bad_emails(email: str) -> None:
    with pytest.raises(Invalid):
        normalize_email(email)


@pytest.mark.parametrize("scope", ["Inbox", "inbox/../x", "in\x00box", "x", "inbox/a/./b"])
def test_bad_scopes(scope: str) -> None:
    with pytest.raises(Invalid):
        check_scope(scope)
