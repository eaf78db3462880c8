"""Agency formats: dpa digitalwires JSON and NewsML-G2 XML, their versions, what stays private."""

import json
from datetime import datetime
from pathlib import Path

import pytest

from qa.parsing import BERLIN
from qa.records import ImportStatus
from qa.wire import html_paragraphs, read_digitalwires_file, read_newsml_file

FIXTURES = Path(__file__).parent / "fixtures" / "wire"
URN = "urn:newsml:dpa.com:20090101:250304-99-000001"
PRIVATE = ("5550123", "5550199", "erika.beispiel@example.org", "presse@hafen", "nicht zur Veröffentlichung")


def entry() -> dict:
    return json.loads((FIXTURES / "entry.json").read_text(encoding="utf-8"))


def version(number: int, **changes) -> dict:
    return {**entry(), "version": number, **changes}


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """An empty folder to import from."""
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


def write_json(folder: Path, name: str, data: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("reader, name", [(read_digitalwires_file, "entry.json"), (read_newsml_file, "entry.xml")])
def test_each_format_imports_to_the_same_fields(reader, name):
    (article,) = list(reader(FIXTURES / name))
    assert article.id == URN
    assert article.title == "Quxlinger Hafen meldet Rekord bei Containerschiffen"
    assert article.published == datetime(2025, 3, 4, 10, 15, tzinfo=BERLIN)
    assert article.paragraphs[0].startswith("Noch nie liefen so viele Containerschiffe")
    assert article.paragraphs[1].startswith("Quxlingen (dpa) - Im Februar liefen 75 Containerschiffe")
    assert "Neue Kaimauer" in article.paragraphs and "Februar | 75" in article.paragraphs
    assert article.paragraphs[-1] == "Quxlingen ist der drittgrößte Hafen der Region."
    assert "<" not in article.body and "Mehr zur Kaimauer." in article.body
    assert article.tags == ("Schifffahrt", "Wirtschaft", "Quxlingen", "Deutschland", "Häfen", "Meldung")
    assert article.source == "dpa"
    wire = article.wire
    assert (wire.urn, wire.version, wire.pubstatus, wire.signal, wire.embargoed) == (URN, 1, "usable", None, None)
    assert wire.kicker == "Hafen" and wire.byline == "Von Erika Beispiel, dpa"
    everything = json.dumps([article.body, article.title, article.tags, str(wire)], ensure_ascii=False)
    assert not [text for text in PRIVATE if text in everything]


def test_both_formats_give_one_and_the_same_article():
    (from_json,) = list(read_digitalwires_file(FIXTURES / "entry.json"))
    (from_xml,) = list(read_newsml_file(FIXTURES / "entry.xml"))
    assert from_json.content_hash == from_xml.content_hash


def test_a_file_or_line_of_many_entries_fails_only_where_an_entry_is_bad(tmp_path):
    bad = {k: v for k, v in entry().items() if k != "urn"}
    listed = list(read_digitalwires_file(write_json(tmp_path, "many.json", [entry(), bad])))
    assert listed[0].id == URN and "many.json:2: digitalwires entry without 'urn'" in str(listed[1])
    wrapped = list(read_digitalwires_file(write_json(tmp_path, "api.json", {"entries": [version(3)]})))
    assert wrapped[0].wire.version == 3
    media = list(
        read_digitalwires_file(
            write_json(tmp_path, "photo.json", version(1, article_html="", teaser=None, infobox_html=None))
        )
    )
    assert "no text to import" in media[0].reason and "photo.json" in str(media[0])
    plain = list(read_digitalwires_file(write_json(tmp_path, "plain.json", {"title": "Hafen", "body": "Text."})))
    assert plain[0].title == "Hafen" and plain[0].wire is None
    (broken,) = list(read_digitalwires_file(write_json(tmp_path, "broken.json", "x")))
    assert "holds an entry" in broken.reason
    (missing,) = list(read_digitalwires_file(tmp_path / "missing.json"))
    assert "cannot read" in missing.reason


def test_markup_becomes_paragraphs_of_text():
    assert html_paragraphs("<p>Eins <b>fett</b></p><ul><li>Zwei</li></ul><p> </p><h2>Drei</h2>") == [
        "Eins fett",
        "Zwei",
        "Drei",
    ]
    assert html_paragraphs("<table><tr><th>A</th><td>1</td></tr></table>") == ["A | 1"]
    assert html_paragraphs(None) == []


XXE = """<?xml version="1.0"?>
<!DOCTYPE newsItem [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:x" version="1"><x>&secret;</x></newsItem>
"""
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<newsMessage xmlns="http://iptc.org/std/nar/2006-10-01/"><itemSet>&lol4;</itemSet></newsMessage>
"""


@pytest.mark.parametrize("hostile", [XXE, BILLION_LAUGHS])
def test_hostile_xml_is_refused_naming_the_file(tmp_path, hostile):
    path = tmp_path / "hostile.xml"
    path.write_text(hostile, encoding="utf-8")
    (refused,) = list(read_newsml_file(path))
    assert str(path) in str(refused) and "unsafe XML refused" in refused.reason


def test_xml_that_is_not_newsml_says_what_it_is(tmp_path):
    (tmp_path / "feed.xml").write_text("<rss><channel/></rss>", encoding="utf-8")
    (other,) = list(read_newsml_file(tmp_path / "feed.xml"))
    assert "not NewsML-G2" in other.reason and "'rss'" in other.reason
    (tmp_path / "cut.xml").write_text("<newsItem", encoding="utf-8")
    (cut,) = list(read_newsml_file(tmp_path / "cut.xml"))
    assert "invalid XML" in cut.reason


@pytest.mark.slow
def test_wire_files_import_beside_others_and_private_text_is_never_found(archive, inbox):
    (inbox / "entry.xml").write_bytes((FIXTURES / "entry.xml").read_bytes())
    (inbox / "hostile.xml").write_text(XXE, encoding="utf-8")
    lines = [json.dumps(version(1, urn="urn:newsml:dpa.com:20090101:250304-99-000002"), ensure_ascii=False)]
    (inbox / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = archive.import_paths([inbox])
    assert report.imported == 2 and report.failed == 1
    (failed,) = [o for o in report.outcomes if o.status is ImportStatus.FAILED]
    assert failed.source.endswith("hostile.xml") and "unsafe XML" in failed.reason
    stored = archive.article(URN)
    assert stored.wire.kicker == "Hafen" and stored.wire.version == 1
    assert archive.ask("Wie viele Containerschiffe liefen im Februar in Quxlingen ein?").source.article_id in {
        URN,
        "urn:newsml:dpa.com:20090101:250304-99-000002",
    }
    for private in ("+49 40 5550123", "presse@hafen.example.org", "Erika Beispiel 5550199"):
        hits = archive.search(private, k=5, mode="bm25")
        assert not [hit for hit in hits if "5550" in hit.text or "presse@" in hit.text]


@pytest.mark.slow
def test_a_newer_version_replaces_and_an_older_one_changes_nothing(archive, tmp_path):
    first = write_json(tmp_path, "v1.json", version(1))
    assert archive.import_paths([first]).imported == 1
    marked = archive.import_paths([write_json(tmp_path, "v2.json", version(2, signal="sig:correction"))])
    assert marked.updated == 1 and marked.chunks_embedded == 0 and marked.chunks_reused > 0
    assert archive.article(URN).wire.corrected
    corrected_text = entry()["article_html"].replace("75 Containerschiffe", "76 Containerschiffe")
    fixed = write_json(tmp_path, "v3.json", version(3, signal="sig:correction", article_html=corrected_text))
    assert archive.import_paths([fixed]).updated == 1
    stored = archive.article(URN)
    assert stored.wire.version == 3 and "76 Containerschiffe" in stored.body
    again = archive.import_paths([first])
    (outcome,) = again.outcomes
    assert outcome.status is ImportStatus.UNCHANGED and outcome.reason == "older version 1, kept version 3"
    assert "76 Containerschiffe" in archive.article(URN).body
    assert archive.stats().counts.articles == 1


@pytest.mark.slow
def test_versions_arriving_out_of_order_keep_the_newest(archive, inbox):
    write_json(inbox, "a-v3.json", version(3, headline="Dritte Fassung: Rekord im Hafen"))
    write_json(inbox, "b-v2.json", version(2, headline="Zweite Fassung: Rekord im Hafen"))
    report = archive.import_paths([inbox])
    assert report.imported == 1
    assert [o.reason for o in report.outcomes if o.status is ImportStatus.UNCHANGED] == [
        "older version 2, kept version 3"
    ]
    assert archive.article(URN).title == "Dritte Fassung: Rekord im Hafen"


@pytest.mark.slow
def test_a_cancellation_hides_the_story_and_a_new_version_brings_it_back(archive, tmp_path):
    question = "Wie viele Containerschiffe liefen im Februar in Quxlingen ein?"
    archive.import_paths([write_json(tmp_path, "v1.json", version(1))])
    assert archive.search(question, k=1)[0].article_id == URN
    canceled = version(2, pubstatus="canceled", article_html="", teaser=None, infobox_html=None)
    report = archive.import_paths([write_json(tmp_path, "v2.json", canceled)])
    assert report.updated == 1
    assert archive.search(question, k=5) == [] and archive.ask(question).sources == ()
    record = archive.article(URN)
    assert record.wire.withdrawn and record.wire.version == 2 and record.paragraphs == ()
    assert archive.stats().wire.withdrawn == 1
    archive.import_paths([write_json(tmp_path, "v3.json", version(3))])
    assert archive.search(question, k=1)[0].article_id == URN
    assert archive.stats().wire.withdrawn == 0


@pytest.mark.slow
def test_an_embargoed_story_is_stored_but_searched_only_once_the_embargo_ends(tmp_path, embedder):
    from qa import Archive

    moment = [datetime(2025, 3, 4, 9, 0, tzinfo=BERLIN)]
    archive = Archive.open(tmp_path / "index", embedder=embedder, clock=lambda: moment[0])
    embargoed = version(1, embargoed="2025-03-04T12:00:00+01:00")
    assert archive.import_paths([write_json(tmp_path, "embargo.json", embargoed)]).imported == 1
    question = "Wie viele Containerschiffe liefen im Februar in Quxlingen ein?"
    assert archive.article(URN).wire.embargoed == datetime(2025, 3, 4, 12, 0, tzinfo=BERLIN)
    assert archive.search(question, k=5) == [] and not archive.ask(question).found
    assert archive.search(question, k=5, mode="bm25") == []
    assert archive.stats().wire.embargoed == 1
    moment[0] = datetime(2025, 3, 4, 12, 0, 1, tzinfo=BERLIN)
    assert archive.search(question, k=1)[0].article_id == URN
    assert archive.stats().wire.embargoed == 0


@pytest.mark.slow
def test_sources_say_where_they_come_from_and_can_be_kept_to_one_outlet(archive, inbox):
    from tests.conftest import write_article

    write_json(inbox, "wire.json", version(2, signal="sig:correction"))
    write_article(inbox, "paper.txt", "Hafen Quxlingen", "05.03.2025 - 08:00:00", ["Im Hafen Quxlingen: 75 Schiffe."])
    archive.import_paths([inbox])
    assert dict(archive.outlets()) == {"dpa": 1, "dpa.de": 1}
    question = "Wie viele Containerschiffe liefen in Quxlingen ein?"
    hits = archive.search(question, k=5)
    by_id = {hit.article_id: hit for hit in hits}
    assert by_id[URN].origin == "dpa · corrected (version 2, 04.03.2025 10:15)"
    assert {hit.outlet for hit in hits} == {"dpa", "dpa.de"}
    only_dpa = archive.search(question, k=5, outlets=["dpa"])
    assert [hit.article_id for hit in only_dpa] == [URN]
    assert archive.ask(question, outlets=["dpa.de"]).source.outlet == "dpa.de"


@pytest.mark.slow
def test_copies_of_one_story_are_one_hit_with_their_versions_listed(archive, inbox):
    from tests.conftest import write_article

    story = [
        "Im Hafen von Quxlingen sind im Februar 75 Containerschiffe eingelaufen, so viele wie nie zuvor.",
        "Das teilte die Hafenchefin Marta Lindqvist am Dienstag mit und sprach von einem historischen Monat.",
        "Grund für den Zuwachs sei die neue Kaimauer, die im Herbst nach zwei Jahren Bauzeit fertig wurde.",
        "Dort können nun zwei große Schiffe zugleich anlegen, früher musste eines auf der Reede warten.",
        "Für das laufende Jahr rechnet der Hafen mit weiterem Wachstum, vor allem im Verkehr mit Skandinavien.",
        "Die Reedereien hätten bereits neue Linien angekündigt, sagte Lindqvist, zwei davon schon ab April.",
        "Kritik kommt von Anwohnern, die über Lärm in der Nacht klagen und eine Begrenzung der Ladezeiten fordern.",
        "Die Stadt will im Sommer über einen Lärmschutzwall entscheiden, der Hafen hat eine Beteiligung zugesagt.",
    ]
    write_article(inbox, "a.txt", "Rekord im Hafen Quxlingen", "04.03.2025 - 10:00:00", story)
    edited = [story[0].replace("so viele wie nie zuvor", "ein neuer Rekord"), *story[1:]]
    write_article(inbox, "b.txt", "Hafen Quxlingen meldet Rekord", "04.03.2025 - 12:00:00", edited)
    other = ["Der Leuchtturm von Quxlingen wird ab Mai renoviert und bleibt bis zum Herbst geschlossen."]
    write_article(inbox, "c.txt", "Leuchtturm wird renoviert", "05.03.2025 - 09:00:00", other)
    archive.import_paths([inbox])
    question = "Wie viele Containerschiffe liefen im Februar in Quxlingen ein?"
    hits = archive.search(question, k=3)
    titles = [hit.title for hit in hits]
    assert len(titles) == len(set(titles)) == 2, titles
    (story_hit,) = [hit for hit in hits if "Rekord" in hit.title]
    assert [copy.title for copy in story_hit.copies] == [
        ({"Rekord im Hafen Quxlingen", "Hafen Quxlingen meldet Rekord"} - {story_hit.title}).pop()
    ]
    every = archive.search(question, k=3, collapse=False)
    assert {hit.title for hit in every} >= {"Rekord im Hafen Quxlingen", "Hafen Quxlingen meldet Rekord"}
    answer = archive.ask(question, k=3)
    assert len({hit.article_id for hit in answer.sources}) == len(answer.sources)
    assert [len(hit.copies) for hit in answer.sources if "Rekord" in hit.title] == [1]
    archive.remove([story_hit.article_id])
    assert archive.search(question, k=1)[0].copies == ()


@pytest.mark.slow
def test_the_command_line_filters_by_outlet_lists_versions_and_counts_wire_stories(tmp_path, inbox):
    from click.testing import CliRunner

    from qa.cli import main

    write_json(inbox, "a-wire.json", version(1, embargoed="2999-01-01T00:00:00+01:00"))
    (inbox / "b-entry.xml").write_bytes((FIXTURES / "entry.xml").read_bytes().replace(b'version="1"', b'version="0"'))
    reprint = version(1, urn="urn:newsml:dpa.com:20090101:250304-99-000009", creditline="Quxlinger Bote")
    write_json(inbox, "c-reprint.json", reprint)
    index = str(tmp_path / "index")
    runner = CliRunner()
    result = runner.invoke(main, ["import", str(inbox), "--index", index, "--quiet"])
    assert result.exit_code == 0, result.output
    assert "b-entry.xml: older version 0, kept version 1" in result.stderr
    stats = runner.invoke(main, ["stats", "--index", index]).output
    assert "wire:       1 under embargo, 0 withdrawn" in stats
    question = "Wie viele Containerschiffe liefen im Februar in Quxlingen ein?"
    shown = runner.invoke(main, ["search", question, "--index", index, "--outlet", "Quxlinger Bote"]).output
    assert shown.startswith("1. Quxlinger Hafen meldet Rekord") and "Quxlinger Bote · version 1" in shown
    assert "more version" not in shown
