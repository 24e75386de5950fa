"""One value per scalar query parameter. Starlette keeps every value of `?q=a&q=b` and FastAPI
hands a `str` parameter the last one, so a repeat would pass silently where the OpenAPI document
says one string. An app-wide dependency refuses it as FastAPI's own validation error (422, `loc`
naming the parameter); parameters declared as lists still take repeats. It runs before a route's
other dependencies, so a repeat is refused before credentials are read — like a body that is no
JSON, it is the shape of the request that is wrong, whoever sends it."""

from __future__ import annotations

from collections import Counter

from fastapi import Request
from fastapi._compat import field_annotation_is_sequence  # FastAPI's own rule for reading one value or all (getlist)
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


def _scalar_names(dependant: Dependant) -> set[str]:
    """The query parameters that take one value, of the route and of its dependencies."""
    names = {f.alias for f in dependant.query_params if not field_annotation_is_sequence(f.field_info.annotation)}
    for sub in dependant.dependencies:
        names |= _scalar_names(sub)
    return names


async def single_values(request: Request) -> None:
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = [name for name, n in counts.items() if n > 1]
    route = request.scope.get("route")
    if not repeated or not isinstance(route, APIRoute):  # the common case costs one pass over the query
        return
    scalars = _scalar_names(route.dependant)
    errors = [{"type": "repeated", "loc": ("query", name), "msg": f"{name} takes one value; it was given {counts[name]}",
               "input": request.query_params.getlist(name)} for name in repeated if name in scalars]
    if errors:
        raise RequestValidationError(errors)
