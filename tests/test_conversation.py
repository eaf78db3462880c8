from dataclasses import replace

import pytest

from qa import Answer
from qa.conversation import FollowUp, conversation_context, follow_up, is_follow_up
from qa.records import Hit, Span

EARLIER = Answer(
    question="Who leads the Ukrainian delegation?",
    sentence="Den US-Berichten zufolge wird der ukrainische Chefunterhändler Rustem Umjerow erwartet.",
    source=None,
    span=None,
    score=0.9,
)


@pytest.mark.parametrize(
    "question",
    [
        "And who negotiates for Russia?",
        "Und wer verhandelt für Russland?",
        "What about the Europeans?",
        "When was he born?",
        "Wo trifft er sie?",
        "Was ist mit den Sanktionen?",
    ],
)
def test_follow_ups_are_recognised(question):
    assert is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    [
        "Who leads the Ukrainian delegation?",
        "Wer führt die Gespräche für die USA?",
        "Where will the Kremlin and US officials meet?",
        "Why did Trump drop the tariffs on India?",
    ],
)
def test_standalone_questions_are_not_follow_ups(question):
    assert not is_follow_up(question)


def test_context_is_the_earlier_question_and_for_a_pronoun_the_names_answered():
    assert conversation_context("And who negotiates for Russia?", [EARLIER]) == EARLIER.question
    assert conversation_context("When was he born?", [EARLIER]).endswith("Rustem Umjerow")
    assert conversation_context("Who leads the Ukrainian delegation?", [EARLIER]) is None
    assert conversation_context("And who negotiates for Russia?", []) is None


def test_a_follow_up_continues_the_story_the_last_answer_came_from():
    source = Hit(1, "000_f4a94883000820e3", "USA und Russland", None, (), EARLIER.sentence, Span(0, 10), 0.9)
    answered = replace(EARLIER, source=source)
    assert follow_up("And who negotiates for Russia?", [answered]) == FollowUp(
        EARLIER.question, frozenset({"000_f4a94883000820e3"})
    )
    assert follow_up("And who negotiates for Russia?", [replace(answered, sentence=None)]).articles == frozenset()
    assert follow_up("Who leads the Ukrainian delegation?", [answered]) is None
