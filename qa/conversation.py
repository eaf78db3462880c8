"""Follow-up questions: when a question leans on the conversation, and what it leans on.

"And who negotiates for Russia?" after "Who leads the Ukrainian delegation?" means the
same talks; alone it could mean any negotiation with Russia. A follow-up is recognised
by its opening ("and", "und", "what about", ...) or by a pronoun that points back
("he", "they", "dort", ...). Its context is the earlier
question (and, for a pronoun, the names in the earlier answer); retrieval then searches
with the question and the context blended, the context counting ``CONTEXT_WEIGHT``
against the question's 1.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.lexical import NAME_PATTERN
from qa.records import Answer

_FOLLOW_UP_OPENING = re.compile(
    r"^\W*(?:and|und|also|but|aber|or|oder|what about|how about|what of|und was|was ist mit|wie steht es mit|"
    r"sowie|außerdem|ausserdem|then|dann)\b",
    re.IGNORECASE,
)
_POINTING_BACK = re.compile(
    r"\b(?:he|him|his|she|her|hers|they|them|their|er|ihn|ihm|seine[mnrs]?|ihre[mnrs]?|dort|dorthin|darüber)\b",
    re.IGNORECASE,
)
_PERSONAL_PRONOUN = re.compile(
    r"\b(?:he|him|his|she|her|er|ihn|ihm|seine[mnrs]?|ihre[mnrs]?)\b",
    re.IGNORECASE,
)
CONTEXT_TURNS = 2
CONTEXT_WEIGHT = 0.6
"""How much the earlier turns count in a follow-up's search and answer (the question counts 1)."""
CONTINUITY_BONUS = 0.2
"""Added to the score of a passage from the article the last answer came from: a follow-up
most often asks about the same story, and another article that matches only the follow-up's
few words ("Für Russland verhandelt ..." in a story about gas) should not outrank it. About
the spread of the best passages' scores, so the story leads unless another fits clearly better;
chosen on the seed conversation (0.05 and 0.1 still let the gas story's sentence answer)."""


@dataclass(frozen=True)
class FollowUp:
    """What a follow-up question leans on: the earlier turns' text and the article the last answer came from."""

    context: str
    articles: frozenset[str] = frozenset()


def is_follow_up(question: str) -> bool:
    """Whether ``question`` reads as a continuation of the conversation."""
    if _FOLLOW_UP_OPENING.search(question):
        return True
    return bool(_POINTING_BACK.search(question))


def conversation_context(question: str, history: Sequence[Answer]) -> str | None:
    """The text of earlier turns that ``question`` leans on, or None when it stands alone.

    The context is the last turns' questions (a follow-up of a follow-up keeps the thread);
    a personal pronoun ("he", "sie") also brings the names the last answer gave.
    """
    if not history or not is_follow_up(question):
        return None
    turns = list(history[-CONTEXT_TURNS:])
    parts = [turn.question for turn in turns]
    last = turns[-1]
    if last.found and last.sentence and _PERSONAL_PRONOUN.search(question):
        parts.extend(match.group() for match in NAME_PATTERN.finditer(last.sentence))
    return " ".join(parts)


def follow_up(question: str, history: Sequence[Answer]) -> FollowUp | None:
    """The conversation ``question`` continues, or None when it stands alone."""
    context = conversation_context(question, history)
    if context is None:
        return None
    last = history[-1]
    return FollowUp(context, frozenset({last.source.article_id}) if last.found and last.source else frozenset())
