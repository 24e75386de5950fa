"""An S3 endpoint (MinIO, AWS): the engine gets s3:// URIs with object_store options; heads,
presigned URLs and multipart sessions go through boto3. URLs handed to clients are signed for
`public_endpoint` when one is set (clients may reach the store by another name than Pravah)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import quote

from pravah.settings import S3Settings
from pravah.storage.base import ObjectInfo, Part, StoreError


def _client(cfg: S3Settings, endpoint: str | None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=cfg.access_key,
        aws_secret_access_key=cfg.secret_key,
        region_name=cfg.region,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 3}),
    )


def _code(e: Exception) -> str:
    return str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))


def attachment(filename: str) -> str:
    """Content-Disposition that survives any file name (RFC 6266 / 5987)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


class S3Store:
    def __init__(self, cfg: S3Settings):
        self.cfg = cfg
        opts = {"region": cfg.region}
        if cfg.endpoint:
            opts["endpoint"] = cfg.endpoint
            opts["allow_http"] = str(cfg.endpoint.startswith("http://")).lower()
        if cfg.access_key and cfg.secret_key:
            opts |= {"access_key_id": cfg.access_key, "secret_access_key": cfg.secret_key}
        self.options = opts

    def uri(self, bucket: str, key: str) -> str:
        return f"s3://{bucket}/{key}"

    @cached_property
    def client(self) -> Any:
        return _client(self.cfg, self.cfg.endpoint)

    @cached_property
    def signing_client(self) -> Any:
        """Signs URLs for clients: the same credentials, the endpoint clients use."""
        return _client(self.cfg, self.cfg.public_endpoint) if self.cfg.public_endpoint else self.client

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            r = self.client.head_object(Bucket=bucket, Key=key)
        except Exception as e:
            # 400: a key or bucket name the store refuses (it cannot hold such an object either).
            if _code(e) in ("404", "NoSuchKey", "NotFound", "NoSuchBucket", "400") or type(e).__name__ == "ParamValidationError":
                return None
            raise StoreError(f"cannot read s3://{bucket}/{key}: {e}") from None
        return ObjectInfo(size=r["ContentLength"], etag=r["ETag"].strip('"'), version_id=r.get("VersionId"),
                          last_modified=r["LastModified"])

    def delete_processed(self, bucket: str, key: str, etag: str, version_id: str | None) -> bool:
        """Delete the object a job processed: that very version where the bucket keeps versions,
        otherwise the key only while its ETag is still the one processed (a newer upload under the
        same key stays; between the check and the delete there is a window of one request)."""
        if version_id:
            self.client.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
            return True
        now = self.head(bucket, key)
        if now is None or now.etag != etag:
            return False
        self.client.delete_object(Bucket=bucket, Key=key)
        return True

    def presign_get(self, bucket: str, key: str, expires: int, filename: str | None = None) -> str:
        """A GET URL for one object; `expires` is capped by configuration."""
        expires = max(1, min(expires, self.cfg.presign_max_seconds))
        params = {"Bucket": bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = attachment(filename)
        return self.signing_client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)

    def create_multipart(self, bucket: str, key: str, content_type: str | None) -> str:
        kw = {"ContentType": content_type} if content_type else {}
        try:
            return self.client.create_multipart_upload(Bucket=bucket, Key=key, **kw)["UploadId"]
        except Exception as e:
            raise StoreError(f"cannot start an upload to s3://{bucket}/{key}: {e}") from None

    def presign_part(self, bucket: str, key: str, upload_id: str, number: int, expires: int, max_size: int) -> str:
        # S3 cannot bound a presigned PUT's length; complete() checks every part's size instead.
        return self.signing_client.generate_presigned_url(
            "upload_part", Params={"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": number}, ExpiresIn=expires)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[Part] | None:
        """Every stored part (all pages); None when the upload no longer exists."""
        parts: list[Part] = []
        marker = 0
        try:
            while True:
                r = self.client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker, MaxParts=1000)
                parts += [Part(p["PartNumber"], p["Size"], p["ETag"].strip('"')) for p in r.get("Parts", [])]
                if not r.get("IsTruncated"):
                    return parts
                marker = int(r["NextPartNumberMarker"])
        except Exception as e:
            if _code(e) == "NoSuchUpload":
                return None
            raise StoreError(f"cannot list the parts of the upload to s3://{bucket}/{key}: {e}") from None

    def complete_multipart(self, bucket: str, key: str, upload_id: str, parts: list[Part]) -> ObjectInfo:
        try:
            r = self.client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": f'"{p.etag}"'} for p in parts]})
        except Exception as e:
            raise StoreError(f"cannot complete the upload to s3://{bucket}/{key}: {e}") from None
        # The answer, not a HEAD: another upload may replace the key a moment later.
        return ObjectInfo(size=sum(p.size for p in parts), etag=r["ETag"].strip('"'), version_id=r.get("VersionId"),
                          last_modified=datetime.now(UTC))

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception as e:
            if _code(e) != "NoSuchUpload":
                raise StoreError(f"cannot abort the upload to s3://{bucket}/{key}: {e}") from None
