"""Hostile and broken input: the parsers and the importer never crash or hang; each input is
imported or rejected with a reason that names it.

Hypothesis generates the inputs, bounded by ``max_examples`` and a deadline per input
(``pytest tests/test_fuzz.py --hypothesis-show-statistics`` counts them).
"""

import json
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.parsing import (
    DEFAULT_MAX_ARTICLE_BYTES,
    InvalidInputError,
    read_article_file,
    read_jsonl_file,
)
from qa.records import Article
from tests.conftest import SEED_FILE

SEED = SEED_FILE.read_bytes()
FUZZ = settings(
    max_examples=300,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)

lines = st.sampled_from(
    [
        "Politik",
        "Ukraine-Gespräche in Miami",
        "18.12.2025 - 14:05:00",
        "31.02.2025 - 10:00:00",
        "00.00.0000 - 99:99:99",
        "@ dpa.de",
        "Weitere Meldungen",
        "(Politik, 18.12.2025 - 14:05:00) weiterlesen...",
        "Titel ohne Text",
        "GesprĂ€che fĂŒr grĂ¶ĂŸte",
        "<script>alert(1)</script>",
        "\x00\x00",
        "",
        "x" * 10_000,
    ]
)


def damaged(data: bytes, rng: random.Random) -> bytes:
    """The seed article cut, re-encoded in part, or with bytes flipped or NULs inserted."""
    kind = rng.randrange(5)
    if kind == 0:
        return data[: rng.randrange(len(data))]
    if kind == 1:
        text = data.decode("utf-8")
        cut = rng.randrange(len(text))
        return text[:cut].encode("utf-8") + text[cut:].encode("cp1252", errors="replace")
    if kind == 2:
        out = bytearray(data)
        for _ in range(rng.randint(1, 50)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == 3:
        position = rng.randrange(len(data))
        return data[:position] + b"\x00" * rng.randint(1, 100) + data[position:]
    return data.decode("utf-8").encode("utf-16")


def check_article_file(path: Path) -> None:
    started = time.perf_counter()
    try:
        article = read_article_file(path)
    except InvalidInputError as error:
        assert str(path) in str(error) and error.reason
    else:
        assert isinstance(article, Article) and article.title and article.published is not None
        assert "\x00" not in article.title
    assert time.perf_counter() - started < 2


@FUZZ
@given(data=st.binary(max_size=20_000))
def test_random_bytes_as_an_article_file(tmp_path, data):
    path = tmp_path / "random.txt"
    path.write_bytes(data)
    check_article_file(path)


@FUZZ
@given(parts=st.lists(lines, max_size=30), separator=st.sampled_from(["\n", "\n\n", "\r\n", "\n\n\n"]))
def test_article_shaped_text(tmp_path, parts, separator):
    path = tmp_path / "shaped.txt"
    path.write_text(separator.join(parts), encoding="utf-8")
    check_article_file(path)


@FUZZ
@given(seed=st.integers(0, 2**32 - 1))
def test_damaged_seed_article(tmp_path, seed):
    path = tmp_path / "damaged.txt"
    path.write_bytes(damaged(SEED, random.Random(seed)))
    check_article_file(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=200),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
records = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "title": st.text(max_size=200) | json_values,
        "body": st.text(max_size=2000) | json_values,
        "published": st.sampled_from(["2025-12-18", "2025-02-31", "31.02.2025", "", "yesterday", "9999-99-99"])
        | json_values,
        "tags": json_values,
        "url": json_values,
    },
)


@FUZZ
@given(
    lines=st.lists(
        records.map(lambda r: json.dumps(r).encode()) | st.binary(max_size=300) | st.just(b"\xff\xfe{\x00"), max_size=12
    )
)
def test_jsonl_lines_each_imported_or_rejected(tmp_path, lines):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines))
    results = list(read_jsonl_file(path))
    assert len(results) <= max(1, path.read_bytes().count(b"\n") + 1)  # random bytes may hold newlines
    for result in results:
        if isinstance(result, InvalidInputError):
            assert result.source == str(path) and result.reason
        else:
            assert isinstance(result, Article) and result.title and result.paragraphs


def test_a_50_mb_article_file_is_rejected_without_reading_it_into_a_parse(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as out:
        out.write(SEED)
        out.write(b"A" * (50 * 2**20))
    started = time.perf_counter()
    with pytest.raises(InvalidInputError, match=r"huge\.txt") as error:
        read_article_file(path)
    assert "MB" in error.value.reason or "bytes" in error.value.reason
    assert time.perf_counter() - started < 5


def test_an_enormous_jsonl_line_fails_alone(tmp_path):
    path = tmp_path / "big.jsonl"
    good = json.dumps({"title": "Kurz", "body": "Ein Absatz."})
    huge = json.dumps({"title": "Lang", "body": "Wort " * (DEFAULT_MAX_ARTICLE_BYTES // 4)})
    path.write_text("\n".join([good, huge, good.replace("Kurz", "Auch kurz")]) + "\n", encoding="utf-8")
    results = list(read_jsonl_file(path))
    assert [type(r).__name__ for r in results] == ["Article", "InvalidInputError", "Article"]
    assert results[1].line == 2


@pytest.mark.slow
def test_an_import_of_hostile_files_imports_the_good_and_names_each_bad_one(tmp_path, archive):
    folder = tmp_path / "in"
    folder.mkdir()
    rng = random.Random(3)
    (folder / "good.txt").write_bytes(SEED)
    (folder / "random.txt").write_bytes(bytes(rng.randrange(256) for _ in range(5000)))
    (folder / "nul.txt").write_bytes(b"\x00" * 1000)
    (folder / "utf16.txt").write_bytes(SEED.decode("utf-8").replace("Ukraine", "Ukraine (UTF-16)", 1).encode("utf-16"))
    (folder / "cut.txt").write_bytes(SEED[:40])
    (folder / "bad-date.txt").write_text("Tag\n\nTitel\n\n31.02.2025 - 10:00:00\n\nText.\n", encoding="utf-8")
    (folder / "teasers-only.txt").write_text(
        "Weitere Meldungen\n\nTitel\n\nText (Politik, 18.12.2025 - 14:05:00) weiterlesen...\n", encoding="utf-8"
    )
    (folder / "lines.jsonl").write_bytes(b'{"title": "T", "body": "Ein Text."}\n\xff\xfe\n[1, 2]\n{"title": 5}\n')
    report = archive.import_paths([folder])
    failed = {outcome.source: outcome.reason for outcome in report.failures}
    assert report.imported == 3, report.summary()
    assert set(failed) == {
        str(folder / name) for name in ("random.txt", "nul.txt", "cut.txt", "bad-date.txt", "teasers-only.txt")
    } | {f"{folder / 'lines.jsonl'}:{line}" for line in (2, 3, 4)}
    assert all(failed.values())
    assert archive.check() == []


WIRE_FIXTURES = Path(__file__).parent / "fixtures" / "wire"


@FUZZ
@given(data=st.data())
def test_broken_wire_files_are_read_or_refused_never_crash(tmp_path, data):
    """Truncated, spliced and re-typed digitalwires and NewsML-G2 files give articles or errors naming the file."""
    from qa.wire import read_digitalwires_file, read_newsml_file

    suffix = data.draw(st.sampled_from([".json", ".xml"]))
    original = (WIRE_FIXTURES / f"entry{suffix}").read_bytes()
    cut = data.draw(st.integers(0, len(original)))
    noise = data.draw(st.binary(max_size=64))
    text = original[:cut] + noise + original[cut + data.draw(st.integers(0, 200)) :]
    if suffix == ".json" and data.draw(st.booleans()):
        entry = json.loads(original)
        for key in data.draw(st.lists(st.sampled_from(sorted(entry)), min_size=1, max_size=8)):
            entry[key] = data.draw(
                st.one_of(st.none(), st.integers(), st.text(max_size=30), st.lists(st.integers(), max_size=3))
            )
        text = json.dumps(entry).encode()
    if suffix == ".xml" and data.draw(st.booleans()):
        attribute = data.draw(
            st.sampled_from([b'rank="1"', b'version="1"', b'role="drol:teaser"', b'qcode="stat:usable"'])
        )
        name = attribute.split(b"=")[0]
        text = original.replace(
            attribute, name + b'="' + data.draw(st.sampled_from([b"x", b"", b"-1", b"99999999999"])) + b'"'
        )
    path = tmp_path / f"fuzzed{suffix}"
    path.write_bytes(text)
    reader = read_digitalwires_file if suffix == ".json" else read_newsml_file
    for record in reader(path):
        assert isinstance(record, Article | InvalidInputError)
        if isinstance(record, InvalidInputError):
            assert str(path) in str(record) and record.reason
