"""How the answer sentence is scored: the signals on their own, with the real model where they need it."""

import numpy as np
import pytest

from qa.answering import (
    AnswerFinder,
    _content_tokens,
    highlight_html,
    offers_answer_kind,
    word_alignment,
    word_overlap,
)
from qa.chunking import split_sentences
from qa.lexical import LexicalQuery
from qa.question import AnswerKind, expected_answer_kind
from qa.reading import Reading
from qa.records import Hit, Span
from tests.test_translation import write_dictd


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did Polonia Warsaw win the championship?", AnswerKind.TIME),
        ("In which year was the bridge opened?", AnswerKind.TIME),
        ("Seit wann gibt es die Brücke?", AnswerKind.TIME),
        ("In welchem Jahr wurde sie eröffnet?", AnswerKind.TIME),
        ("How many people live there?", AnswerKind.NUMBER),
        ("Wie alt war Manning?", AnswerKind.NUMBER),
        ("Who leads the Ukrainian delegation?", AnswerKind.PERSON),
        ("Und wer verhandelt für Russland?", AnswerKind.PERSON),
        ("Was legte die EU vor?", None),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question, kind):
    assert expected_answer_kind(question) is kind


OFFERS = [
    (
        "When did Polonia Warsaw win the championship prior to 2000?",
        "Sie gewannen auch die Landesmeisterschaft von 1946.",
        1.0,
    ),
    (
        "When did Polonia Warsaw win the championship prior to 2000?",
        "Dennoch gewannen sie die Meisterschaft im Jahr 2000.",
        0.0,
    ),
    ("When did Polonia Warsaw win the championship prior to 2000?", "Das geschah im Dezember.", 1.0),
    ("What was won?", "Sie gewannen 1946.", 0.0),
    ("Who leads the talks with Steve Witkoff?", "Die Gespräche führt der Chefunterhändler Rustem Umjerow.", 1.0),
    ("Who leads the talks with Steve Witkoff?", "Mit ihm verhandelt Steve Witkoff.", 0.0),
    ("Who leads the talks with Steve Witkoff?", "Ein Treffen wird nicht erwartet.", 0.0),
    ("How many tonnes of cheese are made each year?", "Die Käserei stellt 300 Tonnen Bergkäse her.", 1.0),
    ("How many tonnes of cheese are made each year?", "Die Käserei stellt drei Sorten her.", 1.0),
    ("How many tonnes of cheese are made each year?", "Gegründet hat sie Anna Holler.", 0.0),
]


@pytest.mark.parametrize(("question", "sentence", "offers"), OFFERS)
def test_a_sentence_offers_the_kind_of_answer_asked_for_unless_the_question_already_names_it(
    question, sentence, offers
):
    """A year, month or number the question does not already name answers a when- or how-many
    question; a name it does not hold answers a who-question."""
    assert offers_answer_kind(expected_answer_kind(question), question, sentence) == offers


def test_sentences_are_not_split_after_initials_ordinals_or_abbreviations():
    text = "Vorsitzender war Rajendra K. Pachauri, gewählt 2002. Das 20. Paket kam z. B. später. Danach Ruhe."
    sentences = [text[span.start : span.end] for span in split_sentences(text)]
    assert sentences == [
        "Vorsitzender war Rajendra K. Pachauri, gewählt 2002.",
        "Das 20. Paket kam z. B. später.",
        "Danach Ruhe.",
    ]


def test_token_vectors_come_from_the_same_pass_as_the_embedding(embedder):
    sentences = ["Rustem Umjerow führt die ukrainische Delegation.", "Kurz."]
    with_tokens = embedder.embed_sentence_tokens(sentences)
    plain = embedder.embed_passages(sentences)
    for sentence, tokens, vector in zip(sentences, with_tokens, plain, strict=True):
        assert float(tokens.vector @ vector) > 0.9999
        assert "".join(tokens.pieces).replace("▁", " ").strip() == sentence
        assert np.allclose(np.linalg.norm(tokens.tokens.astype(np.float32), axis=1), 1.0, atol=1e-2)
    question = embedder.embed_question_tokens("Who leads the delegation?")
    assert question.pieces[0] == "▁Who" and question.pieces[-1] == "?"
    assert float(question.vector @ embedder.embed_queries(["Who leads the delegation?"])[0]) > 0.9999


def test_word_alignment_finds_the_question_words_across_languages(embedder):
    question = _content_tokens(embedder.embed_question_tokens("Who chairs the climate council?"))
    answer, unrelated = embedder.embed_sentence_tokens(
        ["Den Vorsitz des Klimarats führt Bert Bolin.", "Die Käserei im Dorf stellt Bergkäse her."]
    )
    assert word_alignment(question, answer) > word_alignment(question, unrelated) + 0.05


def test_stopwords_and_punctuation_of_the_question_are_not_looked_for(embedder):
    question = embedder.embed_question_tokens("Who is the chair of the council?")
    content = _content_tokens(question)
    left_out = ("▁Who", "▁is", "▁the", "▁of", "▁the", "?")
    assert all(piece in question.pieces for piece in left_out)
    assert len(content) == len(question.pieces) - len(left_out)


def test_word_overlap_counts_the_question_words_a_sentence_holds(tmp_path):
    german = LexicalQuery.parse("Wer verhandelt für Russland?", prefixes=False)
    assert word_overlap(german, "Für Russland verhandelt Gazprom-Chef Alexej Miller.") == 1.0
    assert word_overlap(german, "Russlands Unterhändler reisen nach Miami.") == 0.5
    assert word_overlap(german, "Die Gespräche in Miami gehen weiter.") == 0.0
    assert word_overlap(LexicalQuery.parse("Wer und wann?", prefixes=False), "Wer kommt?") == 0.0

    dictionary = write_dictd(tmp_path / "eng-deu", [("negotiates", "negotiates\nverhandelt, unterhandelt\n")])
    english = "Who negotiates for Russia?"
    sentence = "Für Russland verhandelt Kirill Dmitrijew."
    assert word_overlap(LexicalQuery.parse(english, prefixes=False), sentence) == 0.0
    assert word_overlap(LexicalQuery.parse(english, prefixes=False, dictionary=dictionary), sentence) == 0.5


def test_the_short_answer_is_marked_inside_the_highlighted_sentence():
    text = "Vorher. Der Chef <b>Rustem</b> Umjerow reist. Nachher."
    sentence = Span(8, 45)
    short = Span(text.index("<b>"), text.index("Umjerow") + len("Umjerow"))
    assert highlight_html(text[5:], sentence, 5, short) == (
        "r. <mark>Der Chef <strong class='qa-short'>&lt;b&gt;Rustem&lt;/b&gt; Umjerow</strong> reist.</mark> Nachher."
    )
    plain = highlight_html(text, sentence)
    assert plain == "Vorher. <mark>Der Chef &lt;b&gt;Rustem&lt;/b&gt; Umjerow reist.</mark> Nachher."


def test_a_span_running_on_into_the_next_sentence_is_no_option(embedder):
    text = "Die Firma wuchs an der New Yorker Fifth Avenue. Dann hatte Brownie Wise die Idee der Partys."
    hit = Hit(1, "a", "Titel", None, (), text, Span(0, len(text)), 1.0, 0.8)
    finder = AnswerFinder(embedder)
    candidates = finder.candidates([hit], lambda _hit: text)
    scores = np.zeros(len(candidates))
    within = text.index("New Yorker Fifth Avenue")
    across = Span(within, text.index(" die Idee"))
    inside = Span(within, within + len("New Yorker Fifth Avenue"))
    crossing = Reading(0, across, text[across.start : across.end], 6.0, 0.9)
    holding = Reading(0, inside, text[inside.start : inside.end], 5.0, 0.9)

    assert finder.options([hit], candidates, scores, [crossing]) == []
    [option] = finder.options([hit], candidates, scores, [holding])
    assert option.reading.text == "New Yorker Fifth Avenue"
