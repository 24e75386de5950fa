"""The error answers in the OpenAPI document, so that it declares every status a route can give
(a contract fuzz holds the API to it): 401/403 where a route needs credentials, 404 where it names
something by id, 400 where it reads a body, and 422 as either FastAPI's validation list or the
domain's one-line `detail`. Answers only some routes give (409, 413, 429, a 404 without an id)
are declared on those routes. Plus ISO 8601 times: pydantic alone would take `0.5` as a Unix time."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import AfterValidator, BeforeValidator

ERROR = {"title": "Error", "type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}
VALIDATION = "#/components/schemas/HTTPValidationError"
METHODS = {"get", "post", "put", "patch", "delete"}
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not ISO_8601.match(value):
        raise ValueError("expected an ISO 8601 date or date-time, e.g. 2026-11-23 or 2026-11-23T10:00:00Z")
    return value


def _in_range(value: datetime) -> datetime:
    # 0001-01-01T00:00+00:01 parses, but is before year 1 in UTC: the database cannot take it.
    if value.tzinfo is not None:
        try:
            value - value.utcoffset()  # type: ignore[operator]
        except OverflowError:
            raise ValueError("out of range once converted to UTC") from None
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso), AfterValidator(_in_range)]


def error(description: str) -> dict[str, Any]:
    """One declared error answer: {"detail": "…"}."""
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _declare(op: dict[str, Any], path: str) -> None:
    responses = op.setdefault("responses", {})
    if op.get("security"):
        responses.setdefault("401", error("No credentials, or bad ones (wrong, expired, revoked)."))
        responses.setdefault("403", error("The caller lacks the right this route needs."))
    if "{" in path:
        responses.setdefault("404", error("Nothing by that id, or not the caller's to see."))
    if "requestBody" in op:
        responses.setdefault("400", error("The body could not be read (not JSON, or not the declared content type)."))
    if "422" in responses or op.get("parameters") or "requestBody" in op:
        responses["422"] = {"description": "Validation error: FastAPI's list of problems, or one line naming what is wrong.",
                            "content": {"application/json": {"schema": {"anyOf": [{"$ref": VALIDATION}, {"$ref": "#/components/schemas/Error"}]}}}}


def document_errors(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()  # FastAPI's, cached by it on the app; completed here once
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Error"] = ERROR
            components.setdefault("HTTPValidationError", {"title": "HTTPValidationError", "type": "object",
                                                          "properties": {"detail": {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}}})
            components.setdefault("ValidationError", {"title": "ValidationError", "type": "object", "required": ["loc", "msg", "type"],
                                                      "properties": {"loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                                                                     "msg": {"type": "string"}, "type": {"type": "string"}}})
            for path, item in schema.get("paths", {}).items():
                for method, op in item.items():
                    if method in METHODS:
                        _declare(op, path)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
