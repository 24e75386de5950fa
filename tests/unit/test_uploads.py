"""Upload sessions, pure parts: part sizes for any file size, server-chosen names and
destinations, part checks."""

from __future__ import annotations

import pytest

from pravah.accounts.principal import Principal
from pravah.errors import Invalid, NotFound
from pravah.storage import Part
from pravah.uploads.models import Upload
from pravah.uploads.names import destination, file_name
from pravah.uploads.sessions import MAX_PARTS, check_parts, part_count, part_size

MiB, GiB = 1 << 20, 1 << 30
USER = Principal(kind="user", id="u", name="u", tenant_id="t", tenant="t", role="user", scopes=("inbox/team/",),
                 inbox="inbox/team/uploads/", permissions=frozenset({"read", "write"}))


@pytest.mark.parametrize("size", [0, 1, 16 * MiB, 16 * MiB + 1, 10 * GiB, 50 * GiB, 5 * 1024 * GiB])
def test_part_sizes_fit_s3_limits(size: int) -> None:
    ps = part_size(size)
    n = part_count(size, ps)
    assert 5 * MiB <= ps <= 5 * GiB and ps % MiB == 0
    assert n <= MAX_PARTS and (n - 1) * ps < max(size, 1) <= n * ps or size == 0


@pytest.mark.parametrize(
    ("raw", "name"),
    [("report.csv", "report.csv"), ("C:\\Users\\me\\data.csv", "data.csv"), ("../../etc/passwd", "passwd"),
     ("  spaced .csv ", "spaced .csv"), ("cafe\u0301.csv", "café.csv"), ("ünï cødé (1).csv", "ünï cødé (1).csv")],
)
def test_file_names_are_reduced_to_a_safe_base_name(raw: str, name: str) -> None:
    assert file_name(raw) == name


@pytest.mark.parametrize("raw", ["", "..", "a/..", ".env", "a\x00b", "new\nline.csv", "rtl\u202egnp.exe", "x" * 256, "dir/"])
def test_hostile_file_names_are_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        file_name(raw)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [(None, ("inbox", "team/uploads/")), ("inbox/team/", ("inbox", "team/")), ("inbox/team/a//", None),
     ("inbox/team/x/../../other/", None), ("/inbox/team/", None), ("inbox/other/", None), ("Bad_Bucket/x/", None)],
)
def test_destinations_stay_in_scope(prefix: str | None, expected: tuple[str, str] | None) -> None:
    if expected is None:
        with pytest.raises((Invalid, NotFound)):
            destination(USER, prefix)
    else:
        assert destination(USER, prefix) == expected


def test_check_parts_names_missing_and_wrong_sizes() -> None:
    u = Upload(size=40 * MiB, part_size=16 * MiB, parts=3)
    c = check_parts(u, [Part(1, 16 * MiB, "a"), Part(3, 7 * MiB, "c"), Part(4, 1, "d")])
    assert c.missing == [2]
    assert c.wrong == ["part 3 has 7,340,032 bytes, expected 8,388,608", "part 4 is beyond the 3 parts of this upload"]
    assert not check_parts(u, [Part(1, 16 * MiB, ""), Part(2, 16 * MiB, ""), Part(3, 8 * MiB, "")]).wrong
