"""The browser harness itself: Chromium starts, axe-core finds a real violation and passes a
clean page, the JS-error guard fires, downloads hash. Pages come from Python's http.server on
127.0.0.1; nothing else is reached."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import AXE_JS, assert_accessible, axe_scan, download_sha256, format_violations

HEAD = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body><main><h1>{title}</h1>'
TAIL = "</main></body></html>"
# The dashboard will likely forbid inline scripts; axe must still load under such a policy.
STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'"
DOWNLOAD = bytes(range(256)) * 4096 + b"pravah"  # ~1 MiB, not text

PAGES: dict[str, tuple[str, bytes, dict[str, str]]] = {
    "/clean": (
        "text/html",
        (HEAD.format(title="Clean") + '<form><label for="f">Input file</label><input id="f" type="file" name="f">'
         '<button type="submit">Upload</button></form><p><a href="/file.bin">Download the output</a></p>' + TAIL).encode(),
        {"Content-Security-Policy": STRICT_CSP},
    ),
    "/unlabeled": (
        "text/html",
        (HEAD.format(title="Unlabeled") + '<form><input type="file" name="f"><button type="submit">Upload</button></form>' + TAIL).encode(),
        {},
    ),
    "/js-error": (
        "text/html",
        (HEAD.format(title="Broken") + '<script src="/broken.js"></script>' + TAIL).encode(),
        {"Content-Security-Policy": STRICT_CSP},
    ),
    "/broken.js": ("text/javascript", b"window.harnessRan = true;\nthrow new Error('harness: deliberate error');\n", {}),
    "/rejection": (
        "text/html",
        (HEAD.format(title="Rejection") + '<script src="/reject.js"></script>' + TAIL).encode(),
        {},
    ),
    "/reject.js": ("text/javascript", b"Promise.reject(new Error('harness: deliberate rejection'));\n", {}),
    "/file.bin": ("application/octet-stream", DOWNLOAD, {"Content-Disposition": "attachment; filename=\"out.bin\""}),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in PAGES:
            self.send_error(404)
            return
        ctype, body, headers = PAGES[path]
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)  # port 0: a free one
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_vendored_axe_is_the_pinned_file() -> None:
    readme = (AXE_JS.parent / "README.md").read_text()
    digest = hashlib.sha256(AXE_JS.read_bytes()).hexdigest()
    assert digest in readme, "tests/web/vendor/axe.min.js does not match the sha256 in vendor/README.md"


def test_axe_finds_an_unlabeled_file_input(page, site) -> None:
    page.goto(f"{site}/unlabeled")
    violations = axe_scan(page)
    by_id = {v["id"]: v for v in violations}
    assert "label" in by_id, format_violations(violations)
    assert by_id["label"]["impact"] in ("serious", "critical")
    assert [n["html"] for n in by_id["label"]["nodes"]] == ['<input type="file" name="f">']
    message = format_violations(violations)
    assert "label [" in message and 'input type="file"' in message
    with pytest.raises(AssertionError, match="label"):
        assert_accessible(page)


def test_clean_page_has_no_violations_even_under_a_strict_csp(page, site) -> None:
    page.goto(f"{site}/clean")
    assert axe_scan(page) == []
    assert_accessible(page)
    assert page.get_by_label("Input file").count() == 1


def test_uncaught_error_is_collected_and_fails_the_guard(page, site, console_log) -> None:
    page.goto(f"{site}/js-error")
    page.wait_for_function("window.harnessRan === true")
    page.evaluate("0")  # deliver the pageerror event
    assert any("harness: deliberate error" in e for e in console_log.uncaught), console_log.uncaught
    with pytest.raises(AssertionError, match="deliberate error"):
        console_log.check()  # what the hook runs after every test body
    assert console_log.take_uncaught()  # taken on purpose: this test passes
    console_log.check()


def test_unhandled_rejection_counts_as_uncaught(page, site, console_log) -> None:
    page.goto(f"{site}/rejection")
    page.evaluate("0")
    assert any("deliberate rejection" in e for e in console_log.uncaught), console_log.uncaught
    console_log.take_uncaught()


def test_download_sha256(page, site) -> None:
    page.goto(f"{site}/clean")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the output").click()
    download = info.value
    assert download.suggested_filename == "out.bin"
    assert download_sha256(download) == hashlib.sha256(DOWNLOAD).hexdigest()
    assert Path(download.path()).stat().st_size == len(DOWNLOAD)
