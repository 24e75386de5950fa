"""Real-browser tests: Playwright (Python) driving Debian's Chromium.

Fixtures
    browser          one headless Chromium per session (scripts/browser.py installs it when missing;
                     Playwright's own browser download is never used)
    browser_context_args
                     extra keyword arguments for each test's new context (override it in a module
                     or a test to set e.g. base_url, viewport, locale)
    context, page    a fresh context per test (15 s default timeout, downloads accepted)
    console_log      what the context's pages logged: an uncaught JS error (exception or unhandled
                     rejection) in any of them fails the test after its body ran; console.error
                     lines are only shown with it. `console_log.take_uncaught()` accepts expected ones.

Helpers (plain functions: `from .conftest import axe_scan, ...` in a test module here)
    axe_scan(page)              serious/critical axe-core violations on the current page
    format_violations(v)        those violations as readable text
    assert_accessible(page)     asserts axe_scan(page) == [] with that text as the message
    download_sha256(download)   sha256 of a finished Playwright download
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT / "scripts") not in sys.path:  # tests/conftest.py does this too; keep this file usable alone
    sys.path.insert(0, str(ROOT / "scripts"))

from browser import chromium_path  # noqa: E402  (scripts/browser.py)

AXE_JS = HERE / "vendor" / "axe.min.js"
AXE_VERSION = "4.14.1"  # tests/web/vendor/README.md
AXE_IMPACTS = ("serious", "critical")
DEFAULT_TIMEOUT_MS = 15_000

# --no-sandbox: the tests run as root here, and Chromium refuses its sandbox as root.
# The rest keeps a headless run quiet and offline: no GPU process, no component/variations/sync
# traffic to Google, no first-run UI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.web)


# --- browser, context, page -------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    """Override to pass more arguments to `browser.new_context` (base_url, viewport, ...)."""
    return {}


class ConsoleLog:
    """Uncaught errors (`pageerror`: exceptions and unhandled rejections) and console.error lines
    of every page in a test's context. Uncaught errors fail the test after its body ran; a test
    that provokes one on purpose takes it with `take_uncaught()` so the guard stays quiet."""

    def __init__(self) -> None:
        self.uncaught: list[str] = []
        self.console_errors: list[str] = []
        self._watched: list[Any] = []

    def watch(self, page: Any) -> None:
        if any(w is page for w in self._watched):  # new_page also fires the context's "page" event
            return
        self._watched.append(page)
        page.on("pageerror", lambda err: self.uncaught.append(f"{page.url}: {err.name}: {err.message}" if getattr(err, "name", "") else f"{page.url}: {err}"))
        page.on("console", lambda msg: self.console_errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)

    def take_uncaught(self) -> list[str]:
        taken, self.uncaught = self.uncaught, []
        return taken

    def problem(self) -> str | None:
        """What the guard reports, or None when no page threw an uncaught JS error."""
        if not self.uncaught:
            return None
        lines = ["uncaught JavaScript error(s) in the page:", *(f"  {e}" for e in self.uncaught)]
        if self.console_errors:
            lines += ["console.error output:", *(f"  {e}" for e in self.console_errors)]
        return "\n".join(lines)

    def check(self) -> None:
        """Raise AssertionError if a page threw an uncaught JS error."""
        problem = self.problem()
        if problem:
            raise AssertionError(problem)


@pytest.fixture
def console_log() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def context(browser: Any, browser_context_args: dict[str, Any], console_log: ConsoleLog) -> Iterator[Any]:
    ctx = browser.new_context(**{"accept_downloads": True, **browser_context_args})
    ctx.on("page", console_log.watch)  # every page of the context: pop-ups and new tabs too
    ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: Any, console_log: ConsoleLog) -> Iterator[Any]:
    p = context.new_page()
    console_log.watch(p)
    yield p


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    try:
        result = yield
    except BaseException:  # a test that already failed keeps its own failure, with what the pages logged
        log = getattr(item, "funcargs", {}).get("console_log")
        if log is not None and (log.uncaught or log.console_errors):
            item.add_report_section("call", "browser console", "\n".join(["uncaught:", *log.uncaught, "console.error:", *log.console_errors]))
        raise
    log = getattr(item, "funcargs", {}).get("console_log")
    p = getattr(item, "funcargs", {}).get("page")
    if log is not None:
        if p is not None and not p.is_closed():
            try:  # one round trip: delivers the page's events still on the way
                p.evaluate("0")
            except Exception:
                pass
        problem = log.problem()
        if problem:
            pytest.fail(problem, pytrace=False)
    return result


# --- accessibility (axe-core, vendored) ------------------------------------------------------

_axe_source: str | None = None


def _inject_axe(page: Any) -> None:
    global _axe_source
    if page.evaluate("typeof window.axe === 'object' && typeof window.axe.run === 'function'"):
        return
    if _axe_source is None:
        _axe_source = AXE_JS.read_text(encoding="utf-8")
    # evaluate, not add_script_tag: it runs through the DevTools protocol, so a strict
    # Content-Security-Policy on the page under test (no inline scripts) does not block it.
    page.evaluate(_axe_source + "\n;void 0")
    version = page.evaluate("window.axe && window.axe.version")
    assert version == AXE_VERSION, f"axe-core did not load (window.axe.version = {version!r})"


def axe_scan(page: Any, *, impacts: tuple[str, ...] = AXE_IMPACTS, context: str | None = None) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; return the violations whose impact is in `impacts`
    (serious and critical by default) as dicts: id, impact, help, helpUrl, nodes[{target, html,
    failureSummary}]. `context` is an optional CSS selector to scan only part of the page."""
    _inject_axe(page)
    violations = page.evaluate(
        """async (selector) => {
            const result = await window.axe.run(selector ? document.querySelector(selector) : document,
                                                {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, html: n.html, failureSummary: n.failureSummary})),
            }));
        }""",
        context,
    )
    return [v for v in violations if v["impact"] in impacts]


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = [f"{len(violations)} accessibility violation(s):"]
    for v in violations:
        lines.append(f"- {v['id']} [{v['impact']}] {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            target = " ".join(" >> ".join(t) if isinstance(t, list) else str(t) for t in node["target"])
            lines.append(f"    {target}: {node['html'][:200]}")
    return "\n".join(lines)


def assert_accessible(page: Any, **kwargs: Any) -> None:
    violations = axe_scan(page, **kwargs)
    assert not violations, f"{page.url}\n{format_violations(violations)}"


# --- downloads ---------------------------------------------------------------------------------


def download_sha256(download: Any) -> str:
    """sha256 (hex) of a Playwright Download's file; waits for it to finish, fails if it failed."""
    failure = download.failure()
    assert failure is None, f"download of {download.suggested_filename!r} failed: {failure}"
    digest = hashlib.sha256()
    with open(download.path(), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
