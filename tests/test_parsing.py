import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from qa.parsing import InvalidInputError, parse_article_text, read_article_file, read_jsonl_file
from tests.conftest import SEED_FILE

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def seed():
    return read_article_file(SEED_FILE)


def test_seed_header(seed):
    assert seed.id == "000_f4a94883000820e3"
    assert seed.title == "USA und Russland planen neue Gespräche - Treffen mit Ukraine"
    assert seed.tags == ("USA", "Russland")
    assert seed.published == datetime(2025, 12, 18, 12, 21, 12, tzinfo=BERLIN)
    assert seed.published.utcoffset().total_seconds() == 3600
    assert seed.source == "dpa.de"
    assert seed.source_path == str(SEED_FILE)
    assert seed.repairs >= 40


def test_seed_body_keeps_every_paragraph_and_no_teaser(seed):
    assert len(seed.paragraphs) == 10
    assert seed.paragraphs[0].startswith("Neben amerikanisch-russischen Gesprächen")
    assert seed.paragraphs[-1].endswith("sagte er.")
    assert "Von Moskauer Seite kommt Dmitrijew" in seed.paragraphs
    assert "weiterlesen" not in seed.body
    assert "Weitere Meldungen" not in seed.body
    assert "@ dpa.de" not in seed.body


def test_seed_teasers(seed):
    assert len(seed.teasers) == 6
    first, *_, last = seed.teasers
    assert first.section == "Ausland"
    assert first.published == datetime(2026, 2, 10, 17, 23, tzinfo=BERLIN)
    assert last.title == "EU bringt 20. Paket mit Russland-Sanktionen auf den Weg"
    assert last.text.endswith("Das ist das Ziel der EU-Sanktionen.")
    assert "präsentiert" in last.text
    assert len({t.id for t in seed.teasers}) == 6
    titles = [t.title for t in seed.teasers]
    assert titles[0] == "EU-Chefdiplomatin: Russland gewinnt nicht - EU kann fordern"  # no stop before its lead
    assert titles[3] == "Litauen mahnt europäischen Plan B für Sicherheit an"
    assert titles[1] == "Mehrheit sieht USA als Gefahr für den Weltfrieden"


def test_nothing_of_the_seed_is_lost(seed):
    """The file, repaired and without its structural lines, is exactly the parsed fields in order."""
    import re

    from qa.repair import repair_text

    raw = repair_text(SEED_FILE.read_text(encoding="utf-8")).text
    raw = re.sub(r"\(\w+, \d\d\.\d\d\.\d{4} - \d\d:\d\d\) weiterlesen\.\.\.", "", raw)
    raw = raw.replace("18.12.2025 - 12:21:12", "").replace("@ dpa.de", "").replace("Weitere Meldungen", "")
    parsed = " ".join([", ".join(seed.tags), seed.title, seed.body, *(t.text for t in seed.teasers)])
    assert raw.split() == parsed.split()


def test_not_an_article():
    with pytest.raises(InvalidInputError, match="no date line"):
        parse_article_text("Einkaufsliste\n\nMilch\n\nBrot\n", "list.txt")


def test_impossible_date():
    with pytest.raises(InvalidInputError, match="impossible date"):
        parse_article_text("Tag\n\nTitel\n\n31.02.2025 - 10:00:00\n\nText.\n", "bad-date.txt")


def test_jsonl_record_with_optional_fields(tmp_path):
    path = tmp_path / "a.jsonl"
    record = {
        "id": "x/1",
        "title": "Titel",
        "published": "2024-03-01",
        "body": "Erster Absatz.\nZweiter.",
        "keywords": ["Politik", "Berlin"],
        "outlet": "ntv",
        "url": "https://example.org/1",
    }
    path.write_text(json.dumps(record) + "\n\n" + json.dumps({"title": "Ohne Id", "body": "Text"}) + "\n")
    first, second = list(read_jsonl_file(path))
    assert first.id == "x/1"
    assert first.paragraphs == ("Erster Absatz.", "Zweiter.")
    assert first.tags == ("Politik", "Berlin")
    assert first.published == datetime(2024, 3, 1, tzinfo=BERLIN)
    assert first.source == "ntv"
    assert first.source_path == f"{path}:1"
    assert second.id.startswith("jsonl:")
    assert second.published is None


def test_broken_jsonl_line_fails_alone(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text('{"title": "A", "body": "Eins"}\n{"title": "B", "body": \n{"title": "C", "body": "Drei"}\n')
    results = list(read_jsonl_file(path))
    assert [type(r).__name__ for r in results] == ["Article", "InvalidInputError", "Article"]
    assert results[1].line == 2
    assert str(results[1]).startswith(f"{path}:2: invalid JSON")
