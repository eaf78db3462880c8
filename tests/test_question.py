"""The query stage: a question is read once, and the stages after it read what it decided."""

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from qa.lexical import LexicalQuery, document_terms
from qa.parsing import BERLIN
from qa.question import AnswerKind, KeyTerm, QuestionAnalyser, RetrievalMode, Scope, without_quotations
from qa.support import article_terms
from qa.timing import TimeRelation
from qa.words import Language, language_of, word_parts, words
from tests.conftest import import_articles
from tests.test_translation import ENTRIES, write_dictd

HARBOUR_REPORTS = (
    ("old.txt", "Hafen alt", "10.11.2025 - 09:00:00", ["Der Hafen meldete 40 Schiffe."]),
    ("new.txt", "Hafen neu", "12.12.2025 - 09:00:00", ["Der Hafen meldete 75 Schiffe."]),
)
"""Two harbour reports a month apart: a question naming the month finds one of them."""


def test_an_english_question_is_read_once_with_its_translations(tmp_path, archive, embedder):
    dictionary = write_dictd(tmp_path / "eng-deu", ENTRIES)
    analyser = QuestionAnalyser(embedder, dictionary)
    scope = Scope(mode=RetrievalMode.BM25)
    asked = analyser.analyse("Who will negotiate for the delegation?", archive.store.snapshot(), scope)
    assert asked.language is Language.ENGLISH
    assert asked.kind is AnswerKind.PERSON
    assert asked.mode is RetrievalMode.BM25
    assert "verhandeln" in dict(asked.translated)["negotiate"]
    assert "verhandel" in asked.terms.terms and "negot*" in asked.terms.terms
    assert "verhandel" in asked.words.terms and "negot*" not in asked.words.terms
    assert asked.terms == LexicalQuery.parse("Who will negotiate for the delegation?", dictionary=dictionary)
    assert np.isclose(np.linalg.norm(asked.vector), 1.0, atol=1e-5)
    assert "English, translated terms: negotiate → " in "\n".join(asked.describe())

    german = analyser.analyse("Wer verhandelt für die Delegation?", archive.store.snapshot())
    assert german.language is Language.GERMAN and german.translated == ()


def test_a_follow_up_carries_its_context_into_terms_and_vector(seed_archive):
    first = seed_archive.ask("Who leads the Ukrainian delegation?")
    alone = seed_archive.analyse("And who negotiates for Russia?")
    continued = seed_archive.analyse("And who negotiates for Russia?", history=[first])
    assert alone.follow_up is None and alone.context is None
    assert continued.context == "Who leads the Ukrainian delegation?"
    assert continued.follow_up.articles == {first.source.article_id}
    assert "ukrainian" in continued.terms.terms and "ukrainian" not in alone.terms.terms
    assert continued.words == alone.words
    assert float(continued.vector @ alone.vector) < 0.999
    assert continued.describe()[0] == "Read as a follow-up to: Who leads the Ukrainian delegation?"
    answer = seed_archive.ask("And who negotiates for Russia?", history=[first])
    assert answer.analysis.context == answer.context == continued.context


@pytest.mark.slow
def test_the_time_a_question_names_is_applied_in_its_analysis(archive, tmp_path):
    import_articles(archive, tmp_path / "in", *HARBOUR_REPORTS)
    asked = archive.analyse("Wie viele Schiffe meldete der Hafen im November?")
    assert asked.when.restrict and asked.since.month == 11 and asked.when.until.month == 11
    assert asked.until == asked.when.until + timedelta(days=asked.when.reported_days) and asked.prefer == asked.when
    assert asked.kind is AnswerKind.NUMBER and asked.filtered
    assert any(line.startswith("Time: in 11/2025") for line in asked.describe())
    caller = datetime(2025, 12, 1, tzinfo=BERLIN)
    chosen = archive.analyse("Wie viele Schiffe meldete der Hafen im November?", since=caller, tags=["Test"])
    assert chosen.when is None and chosen.since == caller and chosen.tags == ("Test",)
    with pytest.raises(ValueError, match="is after until"):
        archive.analyse("Schiffe?", since=caller, until=datetime(2025, 11, 1, tzinfo=BERLIN))


def test_the_answer_keeps_the_question_as_read_and_its_json_says_so(seed_archive):
    answer = seed_archive.ask("Who leads the Ukrainian delegation?")
    assert answer.analysis.text == answer.question
    data = json.loads(answer.to_json())
    assert data["analysis"]["language"] == "en" and data["analysis"]["kind"] == "person"
    assert "vector" not in data["analysis"]
    assert data["analysis"]["read_as"] == answer.analysis.describe()
    assert data["context"] is None and data["when"] is None


def test_one_word_pattern_cuts_questions_and_documents_alike():
    text = "Der Witkoff-Gesandte traf G7-Vertreter 2025."
    assert words(text) == ["Der", "Witkoff-Gesandte", "traf", "G7-Vertreter", "2025"]
    assert word_parts(text) == ["Der", "Witkoff", "Gesandte", "traf", "G7", "Vertreter", "2025"]
    assert set(LexicalQuery.parse(text, prefixes=False).terms) >= set(document_terms(text).split())
    assert language_of("Who met the envoy?") is Language.ENGLISH
    assert language_of("Umjerow") is Language.GERMAN


def test_a_year_in_a_quoted_title_names_no_time(seed_archive):
    """ "»Berlin 2030 klimaneutral«" is a referendum's name: the question asks about a past event
    and names no time, so no window is applied and a year after the report contradicts it."""
    question = seed_archive.analyse("Wann fand der Volksentscheid »Berlin 2030 klimaneutral« statt?")
    assert question.when is None
    assert question.time_relation is TimeRelation.EVENT
    named = seed_archive.analyse("Wann fand der Volksentscheid im Jahr 2030 statt?")
    assert named.when is not None and named.time_relation is not TimeRelation.EVENT
    assert without_quotations("the 'Berlin 2030' vote, Germany's 2014 title") == "the   vote, Germany's 2014 title"


def test_a_word_translated_to_a_hyphenated_german_word_is_named_where_all_its_parts_stand():
    """ "Western" of "Mecklenburg-Western Pomerania" is translated to Mecklenburg-Vorpommern: a
    report naming the state names it, one naming only Mecklenburg does not."""
    western = KeyTerm(word="Western", terms=("west", "mecklenburg-vorpomm"), chunks=5, rarity=2.0, name=True)
    assert western.matches(frozenset(document_terms("Schwesig regiert Mecklenburg-Vorpommern.").split()))
    assert not western.matches(frozenset(document_terms("Schwesig reist nach Mecklenburg.").split()))


def test_a_name_written_with_diacritics_is_counted_and_matched_as_the_index_matches_it(archive, tmp_path):
    """FTS5 takes diacritics off ("orban" for "Orbán"), so BM25 finds a report writing "Orban" for
    the question's "Orbán": the name is in the archive, and named by that report."""
    import_articles(
        archive,
        tmp_path / "in",
        (
            "orban.txt",
            "Orban empfängt Erdoğan",
            "03.02.2025 - 10:00:00",
            ["Ungarns Regierungschef Viktor Orban hat den türkischen Präsidenten Erdoğan in Budapest empfangen."],
        ),
    )
    asked = archive.analyse("Wen empfing Orbán, und wo traf Erdogan ihn?")
    terms = {term.word: term for term in asked.key_terms}
    assert terms["Orbán"].chunks == 1 and terms["Erdogan"].in_archive
    held = article_terms("Ungarns Regierungschef Viktor Orban hat den türkischen Präsidenten Erdoğan empfangen.")
    assert terms["Orbán"].matches(held) and terms["Erdogan"].matches(held)
