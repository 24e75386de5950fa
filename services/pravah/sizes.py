"""Sizes in bytes as people write them: a whole number, or a text such as "100MB" or "1.5GiB"."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ByteSize


def _whole_or_text(value: Any) -> Any:
    # pydantic's ByteSize takes anything int() takes: `true` as 1, 2.0 as 2. A pipeline's
    # `max_input_bytes: yes` became a one-byte limit that failed every job.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError('expected a whole number of bytes or a size such as "100MB"')
    return value


Bytes = Annotated[ByteSize, BeforeValidator(_whole_or_text)]
