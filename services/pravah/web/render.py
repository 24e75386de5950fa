"""Templates and what every page shares: filters for times, sizes and statuses, security
headers, and the session cookies a page may have renewed on the way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from pravah.api import cookies
from pravah.clock import aware
from pravah.storage import LocalStore

ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)
ICONS = {"PENDING": "◷", "RUNNING": "▶", "SUCCEEDED": "✔", "FAILED": "✖", "CANCELLED": "⊘",
         "OPEN": "◷", "COMPLETED": "✔", "ABORTED": "⊘", "EXPIRED": "⌛"}


def ago(t: datetime | None) -> Markup:
    """<time> with the absolute UTC time as its title and machine value; ui.js keeps the
    relative text fresh."""
    if t is None:
        return Markup("—")
    t = aware(t)
    secs = (datetime.now(UTC) - t).total_seconds()
    return Markup('<time datetime="{}" title="{}">{}</time>').format(t.isoformat(), t.strftime("%Y-%m-%d %H:%M:%S UTC"), relative(secs))


def relative(secs: float) -> str:
    future, secs = secs < 0, abs(secs)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if secs >= size:
            text = f"{int(secs // size)} {unit}"
            break
    else:
        text = f"{int(secs)} s"
    return f"in {text}" if future else f"{text} ago"


def size(n: int | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:,} B" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def seconds(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def status(s: str) -> Markup:
    """Text and an icon, never colour alone."""
    return Markup('<span class="status s-{0}" data-status="{0}"><span aria-hidden="true">{1}</span> {0}</span>').format(s, ICONS.get(s, "•"))


def query(request: Request, **changes: Any) -> str:
    """This page's URL with some parameters changed (None drops one)."""
    params = {k: v for k, v in request.query_params.items()}
    for k, v in changes.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = str(v)
    return request.url.path + ("?" + urlencode(params) if params else "")


ENV.filters.update(ago=ago, size=size, seconds=seconds, status=status)  # and Jinja's own tojson (HTML-safe)


def _csp(request: Request) -> str:
    store = request.app.state.ctx.store
    cfg = request.app.state.ctx.settings.s3
    if isinstance(store, LocalStore):
        origin = ""
    elif cfg.public_endpoint or cfg.endpoint:
        u = urlsplit(cfg.public_endpoint or cfg.endpoint)
        origin = f" {u.scheme}://{u.netloc}"
    else:
        origin = " https://*.amazonaws.com"
    return (f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{origin}; "
            f"connect-src 'self'{origin}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def page(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    ctx = request.app.state.ctx
    me = getattr(request.state, "principal", None)
    html = ENV.get_template(template).render(request=request, me=me, open_mode=ctx.open, query=lambda **c: query(request, **c), **values)
    resp = HTMLResponse(html, status_code=status_code)
    resp.headers["Content-Security-Policy"] = _csp(request)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    if (issued := getattr(request.state, "reissued", None)) is not None:
        cookies.set_session(resp, ctx.settings.auth, issued)
    return resp
