"""Settings: a bad value stops the process with one line naming the variable."""

from __future__ import annotations

import pytest

from pravah.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("PRAVAH_TENANTS", "[{bad", "bad setting PRAVAH_TENANTS: not valid JSON"),
        ("PRAVAH_TENANTS", '[{"name": "a", "token": "short", "scopes": ["b"]}]', "PRAVAH_TENANTS__0__TOKEN: String should have at least 16"),
        ("PRAVAH_WORKER__CONCURRENCY", "0", "PRAVAH_WORKER__CONCURRENCY: Input should be greater than or equal to 1"),
        ("PRAVAH_KAFKA__BATCH_SIZE", "lots", "PRAVAH_KAFKA__BATCH_SIZE: Input should be a valid integer"),
        ("PRAVAH_S3__PRESIGN_MAX_SECONDS", "0", "PRAVAH_S3__PRESIGN_MAX_SECONDS"),
        ("PRAVAH_LOG__LEVEL", "loud", "PRAVAH_LOG__LEVEL: expected one of DEBUG, INFO, WARNING, ERROR (got 'loud')"),
        ("PRAVAH_LOG__FORMAT", "xml", "PRAVAH_LOG__FORMAT: Input should be 'json' or 'text'"),
        ("PRAVAH_OTEL__ENDPOINT", "collector:4318", "PRAVAH_OTEL__ENDPOINT: expected an http:// or https:// URL"),
        ("PRAVAH_OTEL__SAMPLE_RATIO", "2", "PRAVAH_OTEL__SAMPLE_RATIO: Input should be less than or equal to 1"),
        ("PRAVAH_OTEL__HEADERS", "{bad", "bad setting PRAVAH_OTEL: not valid JSON"),
        ("PRAVAH_S3__NOTIFY_QUEUE_DIR", "queue", "PRAVAH_S3__NOTIFY_QUEUE_DIR: expected an absolute path (a folder on MinIO's host)"),
        ("PRAVAH_S3__NOTIFY_QUEUE_LIMIT", "0", "PRAVAH_S3__NOTIFY_QUEUE_LIMIT: Input should be greater than or equal to 1"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, var: str, value: str, message: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as e:
        load_settings()
    assert message in str(e.value) and "\n" not in str(e.value)


def test_log_level_in_any_case_and_observability_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRAVAH_LOG__LEVEL", "warning")
    s = load_settings()
    assert s.log.level == "WARNING" and s.log.format is None
    assert s.otel.endpoint is None


def test_an_empty_queue_dir_means_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRAVAH_S3__NOTIFY_QUEUE_DIR", "")
    assert load_settings().s3.notify_queue_dir is None
