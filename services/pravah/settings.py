"""The one settings object (PRAVAH_ env vars, nested with __), validated at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseModel):
    concurrency: int = Field(1, ge=1, le=64, description="Jobs run at once by one worker process.")
    lease_seconds: float = Field(30.0, gt=0, description="A claimed job is taken over by another worker after this long without a heartbeat.")
    poll_seconds: float = Field(0.2, gt=0, description="How often an idle worker looks for new jobs.")
    backoff_seconds: float = Field(2.0, ge=0, description="First retry delay; doubles with each attempt.")


class WatcherSettings(BaseModel):
    poll_seconds: float = Field(0.5, gt=0, description="How often embedded mode scans the local buckets.")
    settle_seconds: float = Field(1.0, ge=0, description="A file must keep the same size and mtime this long before it counts as written.")


class ApiSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address the HTTP API binds to.")
    port: int = Field(8787, ge=0, le=65535, description="Port of the HTTP API (0 = do not serve).")


class Settings(BaseSettings):
    """Pravah's configuration. Embedded mode needs none of it."""

    model_config = SettingsConfigDict(env_prefix="PRAVAH_", env_nested_delimiter="__", extra="forbid")

    home: Path = Field(Path(".pravah"), description="Embedded mode's state: local buckets, SQLite database, events file.")
    database_url: str | None = Field(None, description="SQLAlchemy async URL; default is SQLite under home.")
    pipelines: Path = Field(Path("pipelines"), description="Pipeline YAML file, or a folder of them.")
    events_file: Path | None = Field(None, description="Where embedded mode appends completion events (JSON lines); default home/events.jsonl.")
    worker: WorkerSettings = WorkerSettings()
    watcher: WatcherSettings = WatcherSettings()
    api: ApiSettings = ApiSettings()

    @property
    def data_dir(self) -> Path:
        """Local buckets live here, one folder each."""
        return self.home / "data"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.home / 'pravah.db').resolve()}"

    @property
    def events_path(self) -> Path:
        return self.events_file or self.home / "events.jsonl"


class SettingsError(Exception):
    """A bad setting, explained in one line."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        first = e.errors()[0]
        name = "PRAVAH_" + "__".join(str(p).upper() for p in first["loc"])
        raise SettingsError(f"bad setting {name}: {first['msg']} (got {first.get('input')!r})") from None
