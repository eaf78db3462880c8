"""Time in questions and answers: the current state from the newest report, the period of an
event, and answers over time.

The archive is the seed (December 2025: Rustem Umjerow leads the Ukrainian delegation) with a
made-up report of 28.03.2022 in which David Arachamia leads it in Istanbul.
"""

import json
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from qa import Archive
from qa.answering import AnswerFinder, ReadingChoice
from qa.cli import main
from qa.gathering import Option, grouped
from qa.parsing import BERLIN
from qa.reading import Reading
from qa.records import Hit, Span
from qa.timing import TimeRelation, TimeWeights, burst_shares, time_relation, timed
from qa.words import Language
from tests.conftest import SEEDS, write_article

ISTANBUL = (
    "istanbul.txt",
    "Verhandlungen in Istanbul: Ukraine und Russland sprechen wieder",
    "28.03.2022 - 18:20:00",
    [
        "In Istanbul sollen am Dienstag die Verhandlungen zwischen der Ukraine und Russland fortgesetzt werden. "
        "Die ukrainische Delegation wird von David Arachamia angeführt, dem Fraktionschef der Präsidentenpartei "
        "im Parlament.",
        "Für Russland verhandelt erneut Wladimir Medinski, ein Berater von Kremlchef Wladimir Putin. Der türkische "
        "Präsident Recep Tayyip Erdogan will die Delegationen zu Beginn empfangen.",
    ],
)


@pytest.mark.parametrize(
    ("question", "language", "named", "relation"),
    [
        ("Who leads the Ukrainian delegation?", Language.ENGLISH, False, TimeRelation.CURRENT),
        ("Wer ist Direktor des Wiener Konzerthauses?", Language.GERMAN, False, TimeRelation.CURRENT),
        ("How many beds does the Jewish Hospital have?", Language.ENGLISH, False, TimeRelation.CURRENT),
        ("Who delivered the Vatican note?", Language.ENGLISH, False, TimeRelation.EVENT),
        ("Who won the final?", Language.ENGLISH, False, TimeRelation.EVENT),
        ("Wer übergab die Vatikan-Note?", Language.GERMAN, False, TimeRelation.EVENT),
        ("Welcher Darts-Weltmeister forderte den Abbruch der WM?", Language.GERMAN, False, TimeRelation.EVENT),
        ("Wer ist zurückgetreten?", Language.GERMAN, False, TimeRelation.EVENT),
        ("Wer war 2023 Präsident der Weltbank?", Language.GERMAN, True, TimeRelation.NAMED),
        ("Why the tariffs on India?", Language.ENGLISH, False, TimeRelation.TIMELESS),
    ],
)
def test_a_question_is_read_for_its_relation_to_time(question, language, named, relation):
    assert time_relation(question, language, named) is relation


def _hit(chunk_id: int, published: datetime | None, score: float = 1.0) -> Hit:
    return Hit(chunk_id, f"a{chunk_id}", "Titel", published, (), "Text", Span(0, 4), score, score)


NEWEST = datetime(2025, 12, 18, 12, 0, tzinfo=BERLIN)


def test_a_current_state_question_prefers_the_newer_of_two_equal_passages_and_an_event_question_does_not():
    older, newer = _hit(1, NEWEST - timedelta(days=3 * 365)), _hit(2, NEWEST - timedelta(days=10))
    current = timed([older, newer], TimeRelation.CURRENT, NEWEST, TimeWeights())
    assert [hit.chunk_id for hit in current] == [2, 1]
    assert current[0].score > current[1].score
    event = timed([older, newer], TimeRelation.EVENT, NEWEST, TimeWeights())
    assert {hit.chunk_id: hit.score for hit in event}[1] == pytest.approx({hit.chunk_id: hit.score for hit in event}[2])
    assert timed([older, newer], TimeRelation.TIMELESS, NEWEST, TimeWeights()) == [older, newer]


def test_an_event_question_ranks_up_the_period_most_of_its_reports_fall_in():
    burst = [_hit(i, datetime(2022, 3, 20 + i, tzinfo=BERLIN), 1.0) for i in range(1, 5)]
    stray = _hit(9, datetime(2024, 7, 1, tzinfo=BERLIN), 1.0)
    shares = burst_shares([stray, *burst], TimeWeights())
    assert shares[0] < min(shares[1:])
    ranked = timed([stray, *burst], TimeRelation.EVENT, NEWEST, TimeWeights())
    assert ranked[-1].chunk_id == 9
    undated = _hit(7, None)
    assert burst_shares([stray, undated, *burst], TimeWeights())[1] == 1.0, "reference text is not moved"


def _option(text: str, article: str, weight: float, published: datetime) -> Option:
    hit = Hit(1, article, "Titel", published, (), text, Span(0, len(text)), 1.0, 0.8)
    return Option(weight, Reading(0, Span(0, len(text)), text, weight, 0.9), 0, hit)


def test_two_reports_naming_one_answer_in_different_words_group_into_one():
    options = [
        _option("Rustem Umjerow", "seed", 5.0, NEWEST),
        _option("Umjerow", "other", 3.0, NEWEST - timedelta(days=2)),
        _option("David Arachamia", "istanbul", 6.0, NEWEST - timedelta(days=1360)),
    ]
    groups = grouped(options)
    assert [group.best.reading.text for group in groups] == ["David Arachamia", "Rustem Umjerow"]
    assert groups[1].stories == 2
    assert groups[1].evidence(1.5) == pytest.approx(5.0 + 1.5)


@pytest.fixture(scope="module")
def over_time(tmp_path_factory, embedder) -> Archive:
    folder = tmp_path_factory.mktemp("istanbul")
    name, title, date, paragraphs = ISTANBUL
    write_article(folder, name, title, date, paragraphs, tags="Politik")
    archive = Archive.open(tmp_path_factory.mktemp("over-time-index"), embedder=embedder)
    report = archive.import_paths([SEEDS, folder])
    assert report.imported == 2, report.summary()
    return archive


def dated(entries) -> list[tuple[str, str]]:
    return [(entry.short, f"{entry.published:%Y-%m-%d}") for entry in entries]


@pytest.mark.slow
@pytest.mark.parametrize("question", ["Who leads the Ukrainian delegation?", "Wer führt die ukrainische Delegation?"])
def test_the_leaders_of_both_dates_are_in_the_timeline_newest_first(over_time, question):
    """Whichever the answer, the other date's answer stands beside it: a reader asking about the
    delegation sees that Umjerow leads it in the newest report and Arachamia led it in 2022."""
    answer = over_time.ask(question)
    assert answer.analysis.time_relation is TimeRelation.CURRENT
    timeline = dated(answer.timeline)
    assert [day for _short, day in timeline] == sorted((day for _short, day in timeline), reverse=True)
    assert "Umjerow" in timeline[0][0] and timeline[0][1] == "2025-12-18", timeline
    assert ("David Arachamia", "2022-03-28") in timeline
    assert answer.short in ("David Arachamia", "Rustem Umjerow"), answer.short
    other = answer.newer if answer.short == "David Arachamia" else answer.earlier
    assert [short for short, _day in dated(other)] == [
        "Rustem Umjerow" if answer.short == "David Arachamia" else "David Arachamia"
    ]


@pytest.mark.slow
def test_with_the_newest_answer_chosen_for_the_current_state_umjerow_leads(over_time, embedder):
    archive = Archive.open(over_time.location, embedder=embedder, choice=ReadingChoice(newest_for_current=True))
    answer = archive.ask("Who leads the Ukrainian delegation?")
    assert answer.short is not None and "Umjerow" in answer.short, (answer.short, answer.declined)
    assert ("David Arachamia", "2022-03-28") in dated(answer.earlier)
    assert archive.ask("Who led the Ukrainian delegation in Istanbul?").short == "David Arachamia", "an event"


@pytest.mark.slow
def test_a_question_naming_2022_is_answered_from_2022(over_time):
    answer = over_time.ask("Who led the Ukrainian delegation in Istanbul in 2022?")
    assert answer.analysis.time_relation is TimeRelation.NAMED
    assert answer.short is not None and "Arachamia" in answer.short, (answer.short, answer.declined)


@pytest.mark.slow
def test_qa_ask_prints_and_carries_the_timeline(over_time):
    runner = CliRunner()
    question = "Who leads the Ukrainian delegation?"
    shown = runner.invoke(main, ["ask", question, "--index", over_time.location])
    assert shown.exit_code == 0, shown.output
    assert "Over time (newest first):" in shown.output
    assert "2025-12-18: Rustem Umjerow" in shown.output and "2022-03-28: David Arachamia" in shown.output
    carried = runner.invoke(main, ["ask", question, "--index", over_time.location, "--json"])
    data = json.loads(carried.output)
    assert [entry["short"] for entry in data["timeline"]] == ["Rustem Umjerow", "David Arachamia"]
    assert data["timeline"][-1]["published"].startswith("2022-03-28")
    assert data["timeline"][-1]["source"]["title"] == ISTANBUL[1]
    assert data["analysis"]["time_relation"] == "current"


def test_the_answer_the_support_stage_backs_is_chosen_over_a_better_read_one_it_does_not():
    """An answer read a little better in a report that never names the question's subject
    loses to one whose own report does (``ReadingChoice.support_weight``)."""
    stray = _option("Chloe Kelly", "england", 6.0, NEWEST)
    named = _option("Sophia Kleinherne", "finnland", 5.0, NEWEST)
    confidence = {id(stray): 0.1, id(named): 0.7}
    groups = grouped([stray, named])
    finder = AnswerFinder(embedder=None)  # type: ignore[arg-type]
    question = SimpleNamespace(time_relation=TimeRelation.EVENT, follow_up=None)

    def chosen(choice: ReadingChoice) -> str | None:
        finder.choice = choice
        option = finder.short_answer(question, groups, lambda option: True, lambda option: confidence[id(option)])
        return option.reading.text if option else None

    assert chosen(ReadingChoice(support_weight=0.0)) == "Chloe Kelly"
    assert chosen(ReadingChoice()) == "Sophia Kleinherne"
