"""The chat page, driven through Streamlit's AppTest with the real model and index."""

import re
import shutil
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, write_article
from tests.test_timing import ISTANBUL

pytestmark = pytest.mark.slow

HOSTILE_ARTICLE = """Test, <img src=x onerror="window.qaHacked=1">

<script>window.qaHacked=1</script> Titel mit [Link](javascript:alert(1))

02.03.2026 - 08:00:00

Der Bürgermeister von Testhausen eröffnete die neue Brücke über den Fluss. <img src=x onerror="window.qaHacked=1">

<script>window.qaHacked=1</script> Die Brücke kostete zwölf Millionen Euro.

@ dpa.de
"""

NEW_ARTICLE = """Verkehr

Neue Brücke in Testhausen eröffnet

02.03.2026 - 08:00:00

Der Bürgermeister von Testhausen, Karl Brückner, eröffnete am Montag die neue Rheinbrücke.

Die Brücke kostete zwölf Millionen Euro und verbindet die Altstadt mit dem Hafen.

@ dpa.de
"""


def start(tmp_path, monkeypatch, seeds: bool = True) -> AppTest:
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "index"))
    if not seeds:
        empty = tmp_path / "no-seeds"
        empty.mkdir()
        monkeypatch.setenv("QA_SEEDS", str(empty))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    app.run()
    assert not app.exception
    return app


def html_of(app: AppTest) -> str:
    return "\n".join(element.value for element in app.get("html"))


def ask(app: AppTest, question: str) -> AppTest:
    app.chat_input[0].set_value(question).run()
    assert not app.exception
    return app


def test_asking_shows_the_answer_its_sources_and_the_highlight(tmp_path, monkeypatch):
    app = start(tmp_path, monkeypatch)
    assert app.sidebar.metric[0].value == "1"  # built from seeds/ on first start
    assert app.sidebar.metric[2].value == "6"
    ask(app, "Who leads the Ukrainian delegation?")
    shown = html_of(app)
    assert (
        "<div class='qa-answer'>Den US-Berichten zufolge wird der ukrainische Chefunterhändler Rustem Umjerow" in shown
    )
    assert "<mark>Den US-Berichten zufolge wird der ukrainische Chefunterhändler" in shown
    assert "<div class='qa-short-answer'>Rustem Umjerow</div>" in shown
    assert shown.index("qa-short-answer") < shown.index("<div class='qa-answer'>")
    assert "<strong class='qa-short'>Rustem Umjerow</strong>" in shown  # marked in the passage and the article
    assert "kommt Dmitrijew\n\nMit der russischen Seite" in shown and "white-space:pre-line" in shown  # paragraphs
    assert "USA und Russland planen neue Gespräche - Treffen mit Ukraine" in shown
    assert "18.12.2025 12:21" in shown and "USA, Russland" in shown
    assert "<span class='qa-teaser'>Teaser</span>" in shown
    assert len(app.get("vega_lite_chart")) == 1  # the timeline of the sources
    assert any(expander.label == "Whole article" for expander in app.expander)


def test_the_answer_comes_first_and_the_translations_are_folded(tmp_path, monkeypatch):
    """The word translations of an English question had stood above every answer; now the short
    answer is the first thing under the question, and the translations are folded."""
    app = start(tmp_path, monkeypatch)
    ask(app, "Who leads the Ukrainian delegation?")
    shown = [element.value for element in app.get("html") if not element.value.startswith("<style>")]
    assert shown[0] == "<div>Who leads the Ukrainian delegation?</div>"
    assert shown[1].startswith("<div class='qa-short-answer'>Rustem Umjerow</div>"), shown[1]
    assert "Likely right (" in shown[1] or "Uncertain (" in shown[1]
    (read_as,) = [value for value in shown if "qa-read-as" in value]
    assert "English" in read_as and "translated" not in read_as
    (fold,) = [expander for expander in app.expander if expander.label == "How the question was read"]
    folded = "".join(element.value for element in fold.get("html"))
    assert "translated terms: ukrainian → " in folded and "Hauptrollen" not in folded  # only what the archive holds


def test_a_declined_question_says_the_archive_does_not_say_and_why(tmp_path, monkeypatch):
    app = start(tmp_path, monkeypatch)
    ask(app, "Wie viele Tote gab es bei der Messerattacke von Brokstedt?")
    shown = html_of(app)
    assert "<b>The archive does not say.</b>" in shown and "Brokstedt" in shown
    assert "<div class='qa-short-answer'>" not in shown
    assert any(expander.label.startswith("Closest passages") for expander in app.expander)


def test_a_follow_up_is_read_with_the_conversation(tmp_path, monkeypatch):
    app = start(tmp_path, monkeypatch)
    ask(app, "Who leads the Ukrainian delegation?")
    ask(app, "Und wer verhandelt für Russland?")
    answers = [e.value for e in app.get("html") if e.value.startswith("<div class='qa-answer'>")]
    assert len(answers) == 2
    assert "Rustem Umjerow" in answers[0]
    assert "Dmitrijew" in answers[1]
    assert "Read as a follow-up to: Who leads the Ukrainian delegation?" in html_of(app)
    assert "English, translated terms: " in html_of(app) and "Asks for: a person" in html_of(app)


def test_an_answer_over_time_shows_the_other_dates_answer_linked_to_its_source(tmp_path, monkeypatch):
    seeds = tmp_path / "seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    name, title, published, paragraphs = ISTANBUL
    write_article(seeds, name, title, published, paragraphs, tags="Politik")
    monkeypatch.setenv("QA_SEEDS", str(seeds))
    app = ask(start(tmp_path, monkeypatch), "Who leads the Ukrainian delegation?")
    shown = html_of(app)
    if "<div class='qa-short-answer'>Rustem Umjerow</div>" in shown:
        line = r"Earlier: David Arachamia \(<a href='#(qa-dated-\w+-1)'>28\.03\.2022</a>\)"
        source = "Verhandlungen in Istanbul"
    else:
        assert "<div class='qa-short-answer'>David Arachamia</div>" in shown
        line, source = r"Newer: Rustem Umjerow \(<a href='#(qa-dated-\w+-1)'>18\.12\.2025</a>\)", ""
    found = re.search(line, shown)
    assert found, shown
    assert f"<a id='{found.group(1)}'></a><div class='qa-source'><b>1. {source}" in shown
    assert shown.index("qa-short-answer") < found.start() < shown.index("qa-read-as")


def test_a_time_named_in_the_question_is_applied_and_shown(tmp_path, monkeypatch):
    app = start(tmp_path, monkeypatch)
    ask(app, "Wer wird im Dezember 2025 in Miami erwartet?")
    shown = html_of(app)
    assert "Time: in 12/2025, and reports of the 92 days after (read from &quot;im Dezember 2025&quot;)" in shown
    assert "<div class='qa-answer'>" in shown
    ask(app, "Wer wurde im Juli 2020 in Miami erwartet?")
    assert "nothing was published in 07/2020; searched the whole archive" in html_of(app)


def test_filters_reach_the_search(tmp_path, monkeypatch):
    app = start(tmp_path, monkeypatch)
    assert "Ausland" in app.sidebar.multiselect[0].options
    app.sidebar.date_input[0].set_value((date(2026, 2, 8), date(2026, 2, 28))).run()
    ask(app, "Who leads the Ukrainian delegation?")
    shown = html_of(app)
    assert "USA und Russland planen neue Gespräche" not in shown  # published 18.12.2025
    assert "10.02.2026" in shown or "09.02.2026" in shown
    app.sidebar.button[0].click().run()  # New conversation
    app.sidebar.date_input[0].set_value(()).run()
    app.sidebar.multiselect[0].select("Politik").run()
    ask(app, "Who is seen as the greatest risk to peace?")
    sources = [e.value for e in app.get("html") if e.value.startswith("<div class='qa-source'>")]
    assert len(sources) == 1 and "Politik" in sources[0]  # the archive holds one item tagged Politik


def test_importing_uploads_shows_each_file_and_the_chat_sees_them(tmp_path, monkeypatch):
    app = start(tmp_path, monkeypatch)
    app.sidebar.file_uploader[0].set_value(
        [
            ("bruecke.txt", NEW_ARTICLE.encode("utf-8"), "text/plain"),
            ("leer.txt", b"", "text/plain"),
            ("latin1.txt", NEW_ARTICLE.replace("Neue", "Alte").encode("latin-1"), "text/plain"),
            ("../../escape.txt", NEW_ARTICLE.replace("Neue", "Dritte").encode("utf-8"), "text/plain"),
        ]
    ).run()
    app.sidebar.button[1].click().run()
    assert not app.exception
    assert not app.sidebar.dataframe, "the result table stands above the chat, where its columns have room"
    (fold,) = [expander for expander in app.expander if expander.label == "Last import"]
    results = fold.dataframe[0].value
    by_file = dict(zip(results["file"], results["result"], strict=True))
    assert by_file == {
        "bruecke.txt": "imported",
        "leer.txt": "failed",
        "latin1.txt": "failed",
        "../../escape.txt": "imported",
    }
    reasons = " ".join(results["reason"])
    assert "empty" in reasons and "UTF-8" in reasons
    assert app.sidebar.metric[0].value == "3"
    failed = [element.value for element in fold.get("html") if "qa-failed" in element.value]
    assert len(failed) == 2 and "<b>leer.txt</b> was not imported" in failed[0] and "UTF-8" in failed[1]
    stored = sorted(p.relative_to(tmp_path) for p in (tmp_path).rglob("*.txt"))
    assert all(p.parts[:2] == ("index", "uploads") for p in stored), stored
    assert len(stored) == 2, stored  # the files nothing could be read from are not kept
    ask(app, "Wer ist der Bürgermeister von Testhausen?")
    assert "Karl Brückner" in html_of(app)


def test_an_empty_index_explains_how_to_import(tmp_path, monkeypatch):
    app = start(tmp_path, monkeypatch, seeds=False)
    assert app.sidebar.metric[0].value == "0"
    assert "The index is empty" in app.info[0].value and "qa import" in app.info[0].value
    ask(app, "Who leads the Ukrainian delegation?")
    assert "Nothing relevant found" in html_of(app)


def test_article_text_is_shown_as_text_never_as_html(tmp_path, monkeypatch):
    app = start(tmp_path, monkeypatch, seeds=False)
    app.sidebar.file_uploader[0].set_value(("<b>x</b>.txt", HOSTILE_ARTICLE.encode("utf-8"), "text/plain")).run()
    app.sidebar.button[1].click().run()
    ask(app, "Wie viel kostete die Brücke in Testhausen?")
    shown = html_of(app)
    assert "zwölf Millionen Euro" in shown
    assert "&lt;script&gt;window.qaHacked=1&lt;/script&gt;" in shown
    assert "&lt;img src=x onerror=&quot;window.qaHacked=1&quot;&gt;" in shown
    assert "<script" not in shown and "<img" not in shown
    assert "javascript:" not in " ".join(m.value for m in [*app.markdown, *app.caption])


def test_sources_show_their_origin_and_the_copies_of_their_story(tmp_path, monkeypatch):
    import json

    from qa import Archive
    from tests.test_wire import FIXTURES

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    entry = json.loads((FIXTURES / "entry.json").read_text(encoding="utf-8"))
    corrected = {**entry, "version": 2, "signal": "sig:correction"}
    (seeds / "wire.json").write_text(json.dumps(corrected, ensure_ascii=False), encoding="utf-8")
    reprint = {**entry, "urn": "urn:newsml:dpa.com:20090101:250304-99-000009", "creditline": "Quxlinger Bote"}
    (seeds / "reprint.json").write_text(json.dumps(reprint, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("QA_SEEDS", str(seeds))
    app = start(tmp_path, monkeypatch)
    assert dict(Archive.open(tmp_path / "index").outlets()) == {"dpa": 1, "Quxlinger Bote": 1}
    ask(app, "Wie viele Containerschiffe liefen im Februar in Quxlingen ein?")
    shown = html_of(app)
    assert "qa-origin" in shown
    assert "dpa · corrected (version 2, 04.03.2025 10:15)" in shown or "Quxlinger Bote" in shown
    versions = [e.label for e in app.expander if "more version" in e.label]
    assert len(versions) == 1 and versions[0].startswith("1 more version: ")
    assert "Outlets" in [widget.label for widget in app.multiselect]
