"""What a dry-run answers: the output's first rows and schema, the counts, and the failure the
job would have met. Plain pydantic models: the API returns them as they are, the CLI prints them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

MAX_ROWS = 200  # most rows a dry-run shows


class Column(BaseModel):
    name: str
    type: str = Field(description="A pipeline type name (int64, float64, string, date, timestamptz …); text outputs: string.")


class Output(BaseModel):
    bucket: str
    key: str = Field(description="Under _pravah/dry-runs/: no binding watches it, and it is deleted at expires_at.")
    size: int
    sha256: str
    expires_at: datetime
    url: str | None = Field(None, description="A presigned download of the whole output, while it lasts (when the store signs URLs).")


class Failure(BaseModel):
    type: str = Field(description="The engine's error: InputFormatError, LimitError, ExpressionError, CancelledError …")
    message: str
    line: int | None = None
    column: int | None = None
    byte_offset: int | None = None


class DryRun(BaseModel):
    id: str
    pipeline: str
    version: str
    source: Literal["applied", "version", "inline"] = Field(description="The live document's pipeline, a stored version, or an unsaved spec.")
    bucket: str
    key: str
    input_size: int
    kind: Literal["table", "lines", "bytes"] = Field(description="What the plan makes: a table, lines of text, or bytes.")
    succeeded: bool = Field(description="Whether a job on this object would succeed; when not, `error` says why and where.")
    error: Failure | None = None
    output: Output | None = None
    columns: list[Column] = []
    rows: list[list[Any]] = Field([], description="The first rows of the output, in `columns` order (nulls as null).")
    complete: bool = Field(False, description="Whether `rows` is the whole output.")
    binary: bool = Field(False, description="The output is not text: no rows, only its size and checksum.")
    rows_in: int | None = Field(None, description="Rows (or lines) read; on a failure, about how far the engine got.")
    rows_out: int | None = Field(None, description="Rows (or lines) written.")
    rows_filtered: int | None = Field(None, description="Rows the steps dropped (filter, grep); null when the plan aggregates or summarises.")
    rows_rejected: int | None = Field(None, description="Bad rows the read step set aside (on_bad_rows: quarantine or skip); "
                                      "1 when a bad row stopped the run (on_bad_rows: fail; the error names it).")
    duration_ms: int = 0
