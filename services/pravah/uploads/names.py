"""Object keys chosen by the server from what a client claims: a file name reduced to a safe
base name, a destination inside the caller's scopes."""

from __future__ import annotations

import re
import unicodedata

from pravah.accounts.principal import Principal, covers_prefix, split_scope
from pravah.errors import Invalid, NotFound

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,62}$")
MAX_KEY_BYTES = 1024  # S3's limit


def file_name(raw: str) -> str:
    """The base name of `raw` (any folders dropped, `\\` counts as one), NFC-normalized; refused
    when empty, `.`/`..`, hidden (a leading dot: the watcher would never see it), with control or
    bidi-override characters, or longer than 255 bytes."""
    if CONTROL.search(raw):
        raise Invalid(f"file name {raw!r} contains control characters")
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if name in ("", ".", ".."):
        raise Invalid(f"file name {raw!r} has no usable base name")
    if name.startswith("."):
        raise Invalid(f"file name {name!r} starts with a dot (hidden files are never processed)")
    if len(name.encode()) > 255:
        raise Invalid(f"file name is {len(name.encode())} bytes long; at most 255")
    return name


def destination(caller: Principal, prefix: str | None) -> tuple[str, str]:
    """(bucket, key prefix ending in "/" or empty) for `prefix` ("bucket/some/folder/"), default
    the caller's inbox. Outside the caller's scopes it does not exist for them."""
    raw = prefix if prefix is not None else caller.inbox
    if CONTROL.search(raw):
        raise Invalid(f"prefix {raw!r} contains control characters")
    if raw.startswith("/") or "\\" in raw:
        raise Invalid(f"prefix {raw!r} must be bucket/folder/ (no leading '/', no '\\')")
    bucket, folder = split_scope(raw)
    if not BUCKET.match(bucket):
        raise Invalid(f"prefix {raw!r}: {bucket!r} is not a bucket name")
    folder = unicodedata.normalize("NFC", folder)
    segments = [seg for seg in folder.split("/") if seg]
    if any(seg in (".", "..") for seg in segments) or "//" in folder:
        raise Invalid(f"prefix {raw!r} has an empty, '.' or '..' segment")
    folder = "/".join(segments) + "/" if segments else ""
    if not (caller.is_admin or covers_prefix(caller.scopes, bucket, folder)):
        raise NotFound(f"no destination {bucket}/{folder} among your scopes ({', '.join(caller.scopes) or 'none'})")
    return bucket, folder


def object_key(folder: str, name: str) -> str:
    key = folder + name
    if len(key.encode()) > MAX_KEY_BYTES:
        raise Invalid(f"object key would be {len(key.encode())} bytes; S3 allows {MAX_KEY_BYTES}")
    return key
