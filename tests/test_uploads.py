from datetime import date

import pytest

from qa.dates import day_bounds
from qa.uploads import MAX_UPLOAD_FILES, Upload, safe_file_name, stage_uploads


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("000_f4a94883000820e3.txt", "000_f4a94883000820e3.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.jsonl", "evil.jsonl"),
        ("<script>alert(1)</script>.txt", "script_.txt"),
        (".hidden.TXT", "hidden.txt"),
        ("Straße über.txt", "Straße_über.txt"),
        ("a\x00b.txt", "a_b.txt"),
    ],
)
def test_file_names_are_reduced_to_a_plain_name(name, safe):
    assert safe_file_name(name) == safe


def test_uploads_land_inside_the_area_and_bad_ones_are_refused_with_a_reason(tmp_path):
    area = tmp_path / "index" / "uploads"
    staged, rejected = stage_uploads(
        [
            Upload("../../outside.txt", b"Test\n\nTitel\n\n01.01.2026 - 10:00:00\n\nText.\n"),
            Upload("notes.pdf", b"%PDF"),
            Upload("huge.txt", b"x" * (5 * 1024 * 1024 + 1)),
            Upload("ok.jsonl", b'{"title": "T", "body": "B"}\n'),
        ],
        area,
    )
    assert [file.name for file in staged] == ["../../outside.txt", "ok.jsonl"]
    assert all(file.path.is_relative_to(area.resolve()) for file in staged)
    assert staged[0].path.name == "outside.txt"
    assert not (tmp_path / "outside.txt").exists()
    reasons = {item.name: item.reason for item in rejected}
    assert "only .txt" in reasons["notes.pdf"] and "too large" in reasons["huge.txt"]


def test_the_same_upload_twice_is_one_file_and_the_count_is_bounded(tmp_path):
    upload = Upload("a.txt", b"same bytes")
    first, _ = stage_uploads([upload], tmp_path)
    second, _ = stage_uploads([upload], tmp_path)
    assert first == second and len(list(tmp_path.rglob("*.txt"))) == 1
    many = [Upload(f"{n}.txt", str(n).encode()) for n in range(MAX_UPLOAD_FILES + 2)]
    staged, rejected = stage_uploads(many, tmp_path / "many")
    assert len(staged) == MAX_UPLOAD_FILES and len(rejected) == 2
    assert "more than" in rejected[0].reason


def test_day_bounds_cover_whole_berlin_days():
    since, until = day_bounds(date(2026, 2, 8), date(2026, 2, 10))
    assert since.isoformat() == "2026-02-08T00:00:00+01:00"
    assert until.isoformat().startswith("2026-02-10T23:59:59.999999+01:00")
    assert day_bounds(None, None) == (None, None)
