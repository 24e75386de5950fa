"""The CLI's side of the API: where it is (PRAVAH_URL, default http://127.0.0.1:8787) and how
it proves who it is — PRAVAH_API_KEY, PRAVAH_TOKEN, or the session `pravah login` saved in
~/.config/pravah/credentials.json (mode 0600), refreshed when the access token runs out."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8787"


class ApiError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(f"{detail} (HTTP {status})")
        self.status, self.detail = status, detail


def credentials_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "pravah" / "credentials.json"


def _saved() -> dict[str, Any]:
    p = credentials_path()
    try:
        return json.loads(p.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def save_session(url: str, tokens: dict[str, Any] | None) -> None:
    """Keep (or with None, forget) the session for `url`; the file is private to the user."""
    p = credentials_path()
    data = _saved()
    if tokens is None:
        data.pop(url, None)
    else:
        data[url] = {k: tokens[k] for k in ("access_token", "refresh_token", "expires_at")}
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = p.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    tmp.replace(p)


def _detail(r: httpx.Response) -> str:
    try:
        d = r.json().get("detail")
    except (ValueError, AttributeError):
        return r.text[:300] or r.reason_phrase
    if isinstance(d, list):  # FastAPI's validation errors
        return "; ".join(f"{'.'.join(map(str, e.get('loc', [])))}: {e.get('msg')}" for e in d)
    return str(d)


class Client:
    def __init__(self, url: str | None = None, timeout: float = 30.0):
        self.url = (url or os.environ.get("PRAVAH_URL") or DEFAULT_URL).rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout)
        self._static = os.environ.get("PRAVAH_API_KEY") or os.environ.get("PRAVAH_TOKEN")
        self._session = None if self._static else _saved().get(self.url)

    def close(self) -> None:
        self.http.close()

    def _auth(self) -> dict[str, str]:
        if self._static:
            return {"Authorization": f"Bearer {self._static}"}
        if self._session:
            return {"Authorization": f"Bearer {self._session['access_token']}"}
        return {}

    def _refresh(self) -> bool:
        if not self._session or not self._session.get("refresh_token"):
            return False
        r = self.http.post("/v1/auth/refresh", json={"refresh_token": self._session["refresh_token"]})
        if r.status_code != 200:
            save_session(self.url, None)
            self._session = None
            return False
        self._session = r.json()
        save_session(self.url, self._session)
        return True

    def _expiring(self) -> bool:
        if not self._session:
            return False
        exp = datetime.fromisoformat(self._session["expires_at"])
        return (exp - datetime.now(UTC)).total_seconds() < 30

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        if self._expiring():
            self._refresh()
        try:
            r = self.http.request(method, path, headers=self._auth(), **kw)
            if r.status_code == 401 and self._refresh():
                r = self.http.request(method, path, headers=self._auth(), **kw)
        except httpx.TransportError as e:
            raise ApiError(0, f"cannot reach the Pravah API at {self.url} ({e}); is `pravah up` or `pravah serve api` running? "
                              "(set PRAVAH_URL to point elsewhere)") from None
        if r.status_code == 401:
            raise ApiError(401, _detail(r) + " — sign in with `pravah login`, or set PRAVAH_API_KEY")
        if r.status_code >= 400:
            raise ApiError(r.status_code, _detail(r))
        return r

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw).json()

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        r = self.request("POST", path, json=body, **kw)
        return r.json() if r.content else None

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def stream_events(self, path: str, last_id: int | None = None) -> Iterator[tuple[str, int | None, dict]]:
        """(event, id, data) from an SSE route, until the server ends the stream."""
        if self._expiring():
            self._refresh()
        headers = {**self._auth(), "Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        with self.http.stream("GET", path, headers=headers, timeout=httpx.Timeout(30.0, read=60.0)) as r:
            if r.status_code >= 400:
                r.read()
                raise ApiError(r.status_code, _detail(r))
            event, ident, data = "message", None, []
            for line in r.iter_lines():
                if line == "":
                    if data:
                        yield event, ident, json.loads("\n".join(data))
                    event, ident, data = "message", None, []
                elif line.startswith(":"):
                    continue
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "event":
                        event = value
                    elif field == "id":
                        ident = int(value) if value.isdigit() else None
                    elif field == "data":
                        data.append(value)
