"""Uploads: server-side multipart sessions straight to object storage (S3/MinIO, or the
embedded local store, which signs its own part URLs); completed uploads become jobs through
the ordinary event path."""
