"""Response models of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from pravah import jobs


class JobSummary(BaseModel):
    id: str
    bucket: str
    key: str
    pipeline: str
    pipeline_version: str
    status: str
    attempts: int
    run: int = 1
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    cancel_requested_at: datetime | None = None

    model_config = {"from_attributes": True}


class OutputInfo(BaseModel):
    bucket: str
    key: str
    size: int | None
    sha256: str | None
    content_type: str | None = Field(None, description="The Content-Type it is stored with (by its extension; none on a local store).")


def outputs_of(job: Any) -> list[OutputInfo]:
    """Every object a job wrote, from its engine report (one, or each member of an unzip)."""
    return [OutputInfo(**o) for o in jobs.outputs(job)]


def manifest_of(job: Any) -> OutputInfo | None:
    m = jobs.manifest_of(job)
    return OutputInfo(**m) if m else None


def rejects_of(job: Any) -> OutputInfo | None:
    """Where the job's quarantined bad rows went (next to its output), if it set any aside."""
    r = jobs.rejects_of(job)
    return OutputInfo(bucket=r["bucket"], key=r["key"], size=r["size"], sha256=r["sha256"]) if r else None


class JobDetail(JobSummary):
    version_id: str | None
    etag: str
    size: int
    max_attempts: int
    output_bucket: str
    output_key: str
    log: list[str]
    report: dict[str, Any] | None
    outputs: list[OutputInfo]
    rows_rejected: int = Field(0, description="Bad rows the read step set aside (on_bad_rows); the job still SUCCEEDED.")
    manifest: OutputInfo | None = Field(None, description="unzip/untar: the JSON manifest naming every output of the set, written last; "
                                        "the set is whole once it exists.")
    rejects: OutputInfo | None = Field(None, description="JSON lines of the quarantined rows (line, byte_offset, raw, reason): GET /v1/jobs/{id}/rejects.")
    traceparent: str | None = Field(None, description="W3C trace context the job carries (version-trace_id-span_id-flags): its spans in a "
                                    "tracing backend and its log lines share that trace id.")


class JobPage(BaseModel):
    items: list[JobSummary]
    next: str | None


class Download(BaseModel):
    url: str
    expires_in: int
    output: OutputInfo


class BindingInfo(BaseModel):
    bucket: str
    prefix: str
    suffix: str | None
    glob: str | None
    pipeline: str


class PipelineInfo(BaseModel):
    name: str
    version: str
    description: str
    steps: list[dict[str, Any]]
    output: str
    retries: int
