"""/store: embedded mode's stand-in for S3's presigned URLs. Public: the HMAC signature and
expiry in the query string are the credential, as with S3. Served only with a local store."""

from __future__ import annotations

import os
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from pravah.errors import Forbidden, Invalid, NotFound, TooLarge
from pravah.storage import StoreError
from pravah.storage.local import LocalStore, object_message, part_message
from pravah.storage.s3 import attachment

router = APIRouter(prefix="/store", tags=["local store"])


def _store(request: Request) -> LocalStore:
    return request.app.state.ctx.store


def _signed(store: LocalStore, message: str, sig: str, expires: int) -> None:
    if not store.signer or not store.signer.check(message, sig):
        raise Forbidden("bad signature")
    if expires < time.time():
        raise Forbidden("this signed URL has expired")


@router.put("/parts/{upload_id}/{number}")
async def put_part(
    upload_id: str, number: int, request: Request,
    expires: Annotated[int, Query()], max: Annotated[int, Query(ge=0)], sig: Annotated[str, Query(max_length=128)],
) -> Response:
    """Signature. The part's bytes, streamed to disk; more than the signed size is refused."""
    store = _store(request)
    _signed(store, part_message(upload_id, number, expires, max), sig, expires)
    if not upload_id.isalnum():
        raise Invalid("bad upload id")
    try:
        tmp, final = store.part_paths(upload_id, number)
    except StoreError as e:
        raise NotFound(str(e)) from None
    written = 0
    try:
        with tmp.open("wb") as f:
            async for chunk in request.stream():
                written += len(chunk)
                if written > max:
                    raise TooLarge(f"part {number} is larger than the {max:,} bytes it was signed for")
                f.write(chunk)  # a page-cache write of one chunk: cheaper than a thread hop
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return Response(status_code=200, headers={"ETag": f'"{written:x}-{number}"'})


@router.get("/objects/{bucket}/{key:path}")
async def get_object(
    bucket: str, key: str, request: Request,
    expires: Annotated[int, Query()], name: Annotated[str, Query(max_length=1024)], sig: Annotated[str, Query(max_length=128)],
) -> FileResponse:
    """Signature. The object, as an attachment named `name`."""
    store = _store(request)
    _signed(store, object_message(bucket, key, expires, name), sig, expires)
    try:
        path = store.path(bucket, key)
    except StoreError as e:
        raise NotFound(str(e)) from None
    if not path.is_file():
        raise NotFound(f"no object {bucket}/{key}")
    return FileResponse(path, headers={"Content-Disposition": attachment(name)})
