"""Tidying the reader's short answers to who-, when- and how-many-questions: the span a user
reads should be the answer as the archive names it, not a grammatical form of it or a piece of
two sentences. Other questions' answers stay as read: a why-answer may run over two sentences,
and "des Klimawandels" answers "what" as well as "Klimawandel" does.

- A span that runs over a sentence end ("… am Stützpunkt Sufa. Oberstleutnant Ben Yehuda")
  keeps its last sentence: the reader's end is the surer of its two ends, and a name, a date or
  a number never spans two sentences. A period after a word of fewer than four letters is not
  taken for a sentence end ("Brown v. Board", "Jones et al. 1998", "Rev. Paul T. Stallsworth").
- For a who-question, a name in the German genitive ("Surowikins Ernennung") loses its "s"
  where the article also names it without one: "Surowikin", not "Surowikins". Without that
  evidence the "s" stays ("Pistorius", "Hamas").
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa.chunking import split_sentences
from qa.question import AnswerKind
from qa.reading import Passage, Reading
from qa.records import Span

_GENITIVE_ARTICLE = re.compile(r"\b(?:des|eines|dieses|jenes)\s+(?:\S+\s+){0,2}$", re.IGNORECASE)
_NOUN_AFTER = re.compile(r"^\s+[A-ZÄÖÜ]")
_SENTENCE_END = re.compile(r"\w{4}[.!?…][\"“”»')]*\s+$")
_LAST_WORD = re.compile(r"([A-ZÄÖÜ][\w-]*[^\Ws])s$")


def last_sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` narrowed to the span's last sentence, where the span holds more than one."""
    span = text[start:end]
    pieces = [piece for piece in split_sentences(span) if piece.start == 0 or _SENTENCE_END.search(span[: piece.start])]
    if len(pieces) < 2:
        return start, end
    return start + pieces[-1].start, end


def without_genitive(text: str, start: int, end: int, body: str) -> tuple[int, int]:
    """``(start, end)`` less a genitive "s" on its last word, where ``body`` names the word
    without it and the span stands where a genitive does (after "des", or before a noun)."""
    match = _LAST_WORD.search(text[start:end])
    if match is None:
        return start, end
    genitive_place = _GENITIVE_ARTICLE.search(text[max(0, start - 40) : start]) or _NOUN_AFTER.match(
        text[end : end + 3]
    )
    if not genitive_place or not re.search(rf"\b{re.escape(match.group(1))}\b(?!s)", body):
        return start, end
    return start, end - 1


def tidied(reading: Reading, passage: Passage, body: str, kind: AnswerKind | None) -> Reading:
    """``reading`` with its span tidied for a question asking for ``kind`` (see the module's
    docstring); ``body`` is the text of the article the passage is from."""
    if reading.span is None or kind is None:
        return reading
    text = passage.text
    start, end = reading.span.start - passage.offset, reading.span.end - passage.offset
    if not (0 <= start < end <= len(text)):
        return reading
    start, end = last_sentence(text, start, end)
    if kind is AnswerKind.PERSON:
        start, end = without_genitive(text, start, end, body)
    if (start, end) == (reading.span.start - passage.offset, reading.span.end - passage.offset):
        return reading
    return replace(reading, span=Span(passage.offset + start, passage.offset + end), text=text[start:end])
