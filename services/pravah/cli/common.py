"""What every command shares: the consoles, settings and pipeline loading with clear errors,
and the mapping of domain errors to exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.console import Console

from pravah import pipelines
from pravah.errors import DomainError
from pravah.settings import Settings, SettingsError, load_settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

PipelinesOpt = Annotated[Path | None, typer.Option("--pipelines", "-p", help="Pipeline YAML file or folder (default: PRAVAH_PIPELINES or pipelines/).")]
HomeOpt = Annotated[Path | None, typer.Option(help="State folder of embedded mode (default .pravah).")]


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print("[red]error:[/]", escape(message), highlight=False)  # a message may hold [brackets] rich would take as markup
    return typer.Exit(code)


def settings(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as e:
        raise fail(str(e), 2) from None


def load(path: Path) -> pipelines.Document:
    try:
        return pipelines.load(path)
    except pipelines.InvalidPipelines as e:
        for p in e.problems:
            err.print(f"error: {p}", markup=False, highlight=False)
        err.print(f"{len(e.problems)} problem(s)")
        raise typer.Exit(1) from None
    except FileNotFoundError as e:
        raise fail(str(e), 2) from None


@contextmanager
def domain_errors() -> Iterator[None]:
    """A domain error is a message and exit code 1, never a traceback."""
    try:
        yield
    except DomainError as e:
        raise fail(str(e)) from None
