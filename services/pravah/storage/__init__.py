"""Where buckets live: folders under a local root (embedded mode) or an S3 endpoint (MinIO).
The engine reads and writes both through object_store (`uri` and `options`); the service side
(heads, presigned downloads, multipart uploads) goes through the same small interface, so every
caller speaks one protocol in both modes. Calls block: run them off the event loop."""

from pravah.storage.base import ObjectInfo, Part, Store, StoreError
from pravah.storage.local import LocalStore
from pravah.storage.s3 import S3Store

__all__ = ["LocalStore", "ObjectInfo", "Part", "S3Store", "Store", "StoreError"]
