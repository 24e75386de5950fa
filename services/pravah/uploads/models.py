"""uploads: one row per upload session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pravah.db.models import TS, Base


class UploadStatus:
    OPEN = "OPEN"
    COMPLETED = "COMPLETED"
    ABORTED = "ABORTED"
    EXPIRED = "EXPIRED"


class Upload(Base):
    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_tenant_status", "tenant_id", "status", "created_at"), Index("ix_uploads_expiry", "status", "expires_at"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(32))  # None in open mode
    created_by: Mapped[str] = mapped_column(String(254))  # email, key prefix or "local"
    bucket: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(255))
    last_modified: Mapped[int | None] = mapped_column(BigInteger)  # the client's file mtime (ms), to match a resume
    part_size: Mapped[int] = mapped_column(BigInteger)
    parts: Mapped[int] = mapped_column(Integer)
    backend_id: Mapped[str] = mapped_column(Text)  # the store's multipart upload id
    status: Mapped[str] = mapped_column(String(16), default=UploadStatus.OPEN)
    etag: Mapped[str | None] = mapped_column(String(255))
    version_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)
    finished_at: Mapped[datetime | None] = mapped_column(TS)
