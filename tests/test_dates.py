"""Times named in questions, and exact date filters."""

from datetime import date, datetime

import pytest

from qa.dates import MONTH_REPORTED_DAYS, day_bounds, time_window
from qa.parsing import BERLIN
from tests.conftest import import_articles, write_article

ANCHOR = datetime(2025, 12, 18, 10, 30, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("question", "first", "last"),
    [
        ("Was geschah im Dezember 2025?", date(2025, 12, 1), date(2025, 12, 31)),
        ("What happened in March 2024?", date(2024, 3, 1), date(2024, 3, 31)),
        ("Wer war im Jänner 2022 Gesundheitsminister?", date(2022, 1, 1), date(2022, 1, 31)),
        ("Was geschah im Feber 2023?", date(2023, 2, 1), date(2023, 2, 28)),
        ("Was war im Mai?", date(2025, 5, 1), date(2025, 5, 31)),
        ("Was war im Dezember?", date(2025, 12, 1), date(2025, 12, 31)),
        ("What happened last week?", date(2025, 12, 8), date(2025, 12, 14)),
        ("Was geschah vergangene Woche?", date(2025, 12, 8), date(2025, 12, 14)),
        ("Wer sprach gestern?", date(2025, 12, 17), date(2025, 12, 17)),
        ("What happened today?", date(2025, 12, 18), date(2025, 12, 18)),
        ("Was war letzten Monat?", date(2025, 11, 1), date(2025, 11, 30)),
        ("news from the last 3 days", date(2025, 12, 16), date(2025, 12, 18)),
        ("What happened last year?", date(2024, 1, 1), date(2024, 12, 31)),
    ],
)
def test_times_that_restrict(question, first, last):
    window = time_window(question, ANCHOR)
    assert window.restrict
    assert (window.since, window.until) == day_bounds(first, last)
    assert window.phrase in question


def test_since_has_no_end():
    window = time_window("Welche Sanktionen gibt es seit März 2022?", ANCHOR)
    assert window.since == day_bounds(date(2022, 3, 1), None)[0] and window.until is None


def test_a_bare_year_only_ranks_that_year_first():
    window = time_window("Who won the 2014 World Cup?", ANCHOR)
    assert not window.restrict
    assert window.contains(datetime(2014, 7, 13, 21, 0, tzinfo=BERLIN))
    assert not window.contains(datetime(2015, 1, 1, 0, 0, tzinfo=BERLIN))


@pytest.mark.parametrize(
    "question", ["Who may attend the talks?", "Wer führt die Delegation?", "Was kostet 1500 Euro?"]
)
def test_no_time_is_read_into_a_question_without_one(question):
    assert time_window(question, ANCHOR) is None


def test_relative_times_need_an_anchor():
    assert time_window("What happened last week?", None) is None
    assert time_window("im Dezember 2025", None).restrict


@pytest.mark.slow
def test_filters_are_exact_to_the_second(archive, tmp_path):
    import_articles(
        archive,
        tmp_path / "in",
        ("late.txt", "Spät", "31.12.2024 - 23:59:59", ["Der Leuchtturm von Quxlingen leuchtet."]),
        ("early.txt", "Früh", "01.01.2025 - 00:00:00", ["Der Leuchtturm von Quxlingen leuchtet neu."]),
    )
    in_2024 = day_bounds(date(2024, 1, 1), date(2024, 12, 31))
    titles = {hit.title for hit in archive.search("Leuchtturm", k=5, since=in_2024[0], until=in_2024[1])}
    assert titles == {"Spät"}
    in_2025 = day_bounds(date(2025, 1, 1), None)
    assert {hit.title for hit in archive.search("Leuchtturm", k=5, since=in_2025[0])} == {"Früh"}


@pytest.mark.slow
def test_a_question_that_names_a_time_is_answered_from_that_time(archive, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_article(
        folder, "old.txt", "Hafen alt", "10.11.2025 - 09:00:00", ["Der Hafen von Quxlingen meldete 40 Schiffe."]
    )
    write_article(
        folder, "new.txt", "Hafen neu", "12.12.2025 - 09:00:00", ["Der Hafen von Quxlingen meldete 75 Schiffe."]
    )
    archive.import_paths([folder])
    answer = archive.ask("Wie viele Schiffe meldete der Hafen von Quxlingen im November?")
    assert "40 Schiffe" in answer.sentence
    assert answer.when.restrict and "11/2025, and reports of the 92 days after" in answer.when.describe()
    assert answer.source.title == "Hafen alt" and answer.sources[0].title == "Hafen alt"
    answer = archive.ask("Wie viele Schiffe meldete der Hafen von Quxlingen im Dezember?")
    assert "75 Schiffe" in answer.sentence
    empty = archive.ask("Wie viele Schiffe meldete der Hafen von Quxlingen im Juli 2020?")
    assert "nothing was published" in empty.when.label and empty.sources
    explicit = day_bounds(date(2025, 12, 1), None)
    assert archive.ask("Schiffe in Quxlingen im November?", since=explicit[0]).when is None


def test_a_named_month_reaches_the_reports_of_the_weeks_after_it_and_ranks_its_own_first():
    window = time_window("Wie viele Frachter liefen im Januar 2026 ein?", ANCHOR)
    assert window.restrict and window.reported_days == MONTH_REPORTED_DAYS > 0
    assert "in 01/2026, and reports of the 92 days after" in window.describe()
    assert time_window("Was geschah letzte Woche?", ANCHOR).reported_days == 0


REPORTED_LATER = (
    ("january.txt", "Leuchtturm", "12.01.2026 - 09:00:00", ["Der Leuchtturm von Quxlingen wird gestrichen."]),
    (
        "quarter.txt",
        "Quartalsbilanz des Hafens",
        "18.02.2026 - 11:00:00",
        ["Im Januar 2026 liefen im Hafen von Quxlingen 52 Frachter ein, meldete die Hafenbehörde."],
    ),
    ("may.txt", "Hafen im Mai", "20.05.2026 - 11:00:00", ["Im Mai liefen in Quxlingen 61 Frachter ein."]),
)
"""January's figure is reported in February; May is beyond the 92 days after January."""


@pytest.mark.slow
def test_a_month_is_answered_from_a_report_published_after_it(archive, tmp_path):
    import_articles(archive, tmp_path / "in", *REPORTED_LATER)
    answer = archive.ask("Wie viele Frachter liefen im Januar 2026 in Quxlingen ein?")
    assert answer.when.restrict and "52 Frachter" in answer.sentence
    assert "Hafen im Mai" not in {hit.title for hit in answer.sources}
    before = archive.analyse("Wie viele Frachter liefen im Dezember 2025 in Quxlingen ein?")
    assert before.when.label == "nothing was published in 12/2025; searched the whole archive" and not before.filtered


def test_a_date_without_a_time_is_shown_without_midnight():
    from qa.records import published_label

    assert published_label(datetime(2024, 3, 5, tzinfo=BERLIN)) == "2024-03-05"
    assert published_label(datetime(2024, 3, 5, 9, 30, tzinfo=BERLIN), "%d.%m.%Y") == "05.03.2024 09:30"
    assert published_label(None) == "undated"
