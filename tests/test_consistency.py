from datetime import datetime

import pytest

from qa.consistency import Dimension, asked_dimensions, contradiction, span_dimensions, years_dated
from tests.conftest import import_articles

REPORT = datetime(2024, 10, 2, 9, 30)


@pytest.mark.parametrize(
    ("dimensions_of", "text", "dimensions"),
    [
        (asked_dimensions, "How heavy was the coin stolen from the Bode-Museum?", {Dimension.WEIGHT}),
        (asked_dimensions, "Wie weit flog Stefan Kraft in Vikersund?", {Dimension.LENGTH}),
        (asked_dimensions, "How long was the tunnel under the headquarters?", {Dimension.LENGTH, Dimension.DURATION}),
        (asked_dimensions, "Wie lange dauerte der Streik?", {Dimension.DURATION}),
        (asked_dimensions, "What percentage voted yes?", {Dimension.PERCENT}),
        (asked_dimensions, "Wie hoch war Russlands Anteil an den Kohleimporten?", {Dimension.PERCENT, Dimension.MONEY}),
        (asked_dimensions, "How many died in the attack?", set()),
        (asked_dimensions, "Who leads the Ukrainian delegation?", set()),
        (span_dimensions, "etwa 640 Euro", {Dimension.MONEY}),
        (span_dimensions, "100 Kilogramm", {Dimension.WEIGHT}),
        (span_dimensions, "253,5 Meter", {Dimension.LENGTH}),
        (span_dimensions, "51,2 Prozent", {Dimension.PERCENT}),
        (span_dimensions, "55,1%", {Dimension.PERCENT}),
        (span_dimensions, "100€", {Dimension.MONEY}),
        (span_dimensions, "2G-Regel", set()),
        (span_dimensions, "zwei Wochen", {Dimension.DURATION}),
        (span_dimensions, "3,75 Millionen", set()),
        (span_dimensions, "Brunngasse 23", set()),
    ],
)
def test_the_dimension_a_question_asks_for_and_a_measure_has(dimensions_of, text, dimensions):
    assert dimensions_of(text) == dimensions


def test_an_answer_in_another_dimension_contradicts_the_question(seed_archive):
    heavy = seed_archive.analyse("How heavy was the coin stolen from the Bode-Museum?")
    assert "a sum of money, not a weight" in contradiction(heavy, "etwa 640 Euro", REPORT)
    assert contradiction(heavy, "100 Kilogramm", REPORT) is None
    assert contradiction(heavy, "100", REPORT) is None


def test_a_number_without_its_percent_sign_is_no_answer_to_what_percentage(seed_archive):
    """A report gives a share as a percentage or in words; a bare number is a count."""
    share = seed_archive.analyse("Wie viel Prozent stimmten beim Volksentscheid mit Ja?")
    assert "a number, not a percentage" in contradiction(share, "442 000", REPORT)
    assert contradiction(share, "51,2 Prozent", REPORT) is None
    assert contradiction(share, "51,2", REPORT, after=" Prozent eine knappe Mehrheit") is None
    assert contradiction(share, "eine knappe Mehrheit", REPORT) is None
    assert contradiction(seed_archive.analyse("How many voted yes?"), "442 000", REPORT) is None


def test_a_past_event_is_not_dated_after_its_report(seed_archive):
    opened = seed_archive.analyse("When did the museum in Potsdam open?")
    assert "after the report" in contradiction(opened, "12. Januar 2025", REPORT)
    assert contradiction(opened, "20. Januar 2017", REPORT) is None
    planned = seed_archive.analyse("When will the tunnel open?")
    assert contradiction(planned, "2029", REPORT) is None


THEFT = (
    "coin.txt",
    "Goldmünze aus dem Bode-Museum gestohlen",
    "27.03.2017 - 09:12:00",
    [
        "Diebe haben in der Nacht die riesige Goldmünze „Big Maple Leaf“ aus dem Berliner Bode-Museum gestohlen. "
        "Wie schwer der Verlust wiegt, ist klar: Die Münze ist etwa 3,75 Millionen Euro wert, sagte ein Sprecher."
    ],
)
SEARCH = (
    "search.txt",
    "Ermittlungen nach Münzdiebstahl",
    "29.03.2017 - 10:00:00",
    [
        "Die Ermittler suchen weiter nach der Goldmünze aus dem Bode-Museum. "
        "Die Münze wiegt 100 Kilogramm, die Täter brauchten eine Schubkarre."
    ],
)
HEAVY = "How heavy was the gold coin stolen from the Bode-Museum?"


def test_a_sum_of_money_is_no_answer_to_how_heavy_even_with_its_unit_after_the_span(archive, tmp_path):
    import_articles(archive, tmp_path / "articles", THEFT, SEARCH)
    answer = archive.ask(HEAVY)
    assert answer.short == "100 Kilogramm"
    assert all("Millionen" not in dated.short for dated in answer.timeline)


def test_the_only_answer_contradicting_the_question_is_declined_with_the_reason(archive, tmp_path):
    import_articles(archive, tmp_path / "articles", THEFT)
    answer = archive.ask(HEAVY)
    assert answer.short is None
    assert "a sum of money, not a weight" in answer.declined


def test_an_answer_the_question_itself_names_contradicts_it(seed_archive):
    hired = seed_archive.analyse("Whom did the Las Vegas Raiders hire as head coach after Jon Gruden resigned?")
    assert "named in the question itself" in contradiction(hired, "Jon Gruden", REPORT)
    assert contradiction(hired, "Rich Bisaccia", REPORT) is None
    ministry = seed_archive.analyse("Welches Ministerium übernahm Katja Wolf in der Thüringer Landesregierung?")
    assert "named in the question itself" in contradiction(ministry, "Thüringen", REPORT)
    tax = seed_archive.analyse("Wie viel Schenkungssteuer zahlt die Stiftung auf die 20 Millionen Euro?")
    assert contradiction(tax, "20 Millionen Euro", REPORT) is not None
    assert contradiction(tax, "9 Millionen Euro", REPORT) is None
    choice = seed_archive.analyse("Which team won the game between the Broncos and the Steelers?")
    assert contradiction(choice, "die Broncos", REPORT) is None


def test_a_name_the_report_gives_another_office_is_no_answer_to_who_holds_one(seed_archive):
    army = seed_archive.analyse("Who was Israel's army chief in February 2024?")
    named = contradiction(army, "Benjamin Netanyahu", REPORT, before="Israels Ministerpräsident ")
    assert "as Ministerpräsident, which is not the office asked for" in named
    assert contradiction(army, "Ministerpräsident Benjamin Netanyahu", REPORT) is not None
    assert contradiction(army, "Herzi Halevi", REPORT, before="sagte Armeechef ") is None
    assert contradiction(army, "Herzi Halevi", REPORT, before="Generalstabschef ") is None
    assert contradiction(army, "Herzi Halevi", REPORT, before="sagte am Mittwoch ") is None
    health = seed_archive.analyse("Wer ist Österreichs Gesundheitsminister?")
    assert contradiction(health, "Karl Nehammer", REPORT, before="Bundeskanzler ") is not None
    assert contradiction(health, "Wolfgang Mückstein", REPORT, before="Gesundheitsminister ") is None
    assert contradiction(health, "Wolfgang Mückstein", REPORT, before="Minister ") is None
    contracted = seed_archive.analyse("Who's Israel's army chief?")
    assert contradiction(contracted, "Benjamin Netanyahu", REPORT, before="Ministerpräsident ") is not None
    leads = seed_archive.analyse("Who leads the Ukrainian delegation?")
    assert contradiction(leads, "Rustem Umjerow", REPORT, before="Verteidigungsminister ") is None


OFFENSIVE = (
    "nahost.txt",
    "Israel kündigt Offensive in Rafah an",
    "20.02.2024 - 09:15:00",
    [
        "Israels Ministerpräsident Benjamin Netanyahu hat eine Bodenoffensive in Rafah angekündigt. Die Armee "
        "werde die Hamas im Süden des Gazastreifens angreifen, sagte Netanyahu am Dienstag.",
        "US-Präsident Joe Biden warnte vor den Folgen für die Zivilbevölkerung.",
    ],
)


@pytest.mark.parametrize(
    ("sentence", "years"),
    [
        ("Im August 2021 unterlag man Bayer Leverkusen mit 0:3.", {2021}),
        ("Am 25.2.2022 meldete das Ministerium 2800 getötete Soldaten.", {2022}),
        ("Die 2000 Soldaten kamen im Jahr 2019.", {2019}),
        ("Seit August 2021 leitet er die Behörde.", set()),
        ("Bis Ende 2022 soll der Bau fertig sein.", set()),
        ("Das Museum wurde 2017 eröffnet.", set()),
    ],
)
def test_the_years_a_sentence_dates_what_it_says_to(sentence, years):
    assert years_dated(sentence) == years


def test_a_sentence_about_another_year_does_not_answer_a_question_naming_one(seed_archive):
    score = seed_archive.analyse("What was the score of Lok Leipzig against Eintracht Frankfurt in August 2023?")
    other = "Im August 2021 unterlag man Bayer Leverkusen mit 0:3."
    assert "speaks of 2021" in contradiction(score, "0:3", REPORT, sentence=other)
    assert contradiction(score, "1:7", REPORT, sentence="Im August 2023 verlor Lok gegen Frankfurt mit 1:7.") is None
    assert contradiction(score, "1:7", REPORT, sentence="Lok verlor gegen Frankfurt mit 1:7.") is None
    unnamed = seed_archive.analyse("What was the score of Lok Leipzig against Eintracht Frankfurt?")
    assert contradiction(unnamed, "0:3", REPORT, sentence=other) is None
    act = seed_archive.analyse("Where was an assembly to be set up under the Scotland Act of 1978?")
    assert (
        contradiction(act, "Edinburgh", REPORT, sentence="Im März 1979 scheiterte das Referendum in Edinburgh.") is None
    )


PREVIEW = (
    "lok.txt",
    "Lok Leipzig empfängt Eintracht Frankfurt",
    "11.08.2023 - 09:00:00",
    [
        "Der 1. FC Lokomotive Leipzig empfängt am Sonntag in der ersten Runde des DFB-Pokals Eintracht "
        "Frankfurt. Im August 2021 unterlag man Bayer Leverkusen mit 0:3. Nun kommt die Eintracht mit "
        "ihrem neuen Trainer ins Bruno-Plache-Stadion.",
    ],
)


@pytest.mark.parametrize(
    ("article", "question", "reason"),
    [
        (OFFENSIVE, "Who is Israel's army chief?", "as Ministerpräsident, which is not the office asked for"),
        (
            PREVIEW,
            "What was the final score of Lok Leipzig against Eintracht Frankfurt in August 2023?",
            "its sentence speaks of 2021",
        ),
    ],
    ids=["another-office", "another-year"],
)
def test_an_archive_holding_only_answers_of_another_office_or_year_declines_with_the_reason(
    archive, tmp_path, article, question, reason
):
    """The report on Rafah names the army but not its chief; the preview of the August 2023 match
    recalls the score of another year's."""
    import_articles(archive, tmp_path / "articles", article)
    answer = archive.ask(question)
    assert answer.short is None
    assert reason in answer.declined
