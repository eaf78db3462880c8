"""Words and languages: the one word pattern and the one language decision of the package.

Every stage that looks at words (the lexical index, the question's analysis, the answer's
signals) takes them from here, so a question and the text it is matched against are cut the
same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from enum import StrEnum

WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
"""Words and numbers; a hyphenated compound ("Witkoff-Gesandter", "G7-Gipfel") is one word."""

STEM_LENGTH = 5
"""Letters of a word's prefix stem: a shared prefix bridges cognates across languages
(Ukrainian/ukrainisch, Kremlin/Kreml, Russia/Russland)."""

_FOLDED = str.maketrans("äöüß", "aous")


def word_matches(text: str) -> Iterator[re.Match[str]]:
    return WORD.finditer(text)


def words(text: str) -> list[str]:
    """The words of ``text`` as they stand, hyphenated compounds whole."""
    return WORD.findall(text)


def word_parts(text: str) -> list[str]:
    """The words of ``text`` with hyphenated compounds taken apart: what the lexical index holds."""
    return [part for word in WORD.findall(text) for part in word.split("-")]


def fold(word: str) -> str:
    """Lower case, umlauts and ß written without their marks."""
    return word.lower().translate(_FOLDED)


def without_marks(word: str) -> str:
    """``word`` with its letters' diacritics taken off ("orbán" -> "orban"), as SQLite FTS5's
    tokenizer matches words: a question's "Orbán" finds a report's "Orban", and is counted so."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def prefix_stem(word: str) -> str:
    return fold(word)[:STEM_LENGTH]


class Language(StrEnum):
    ENGLISH = "en"
    GERMAN = "de"

    @property
    def label(self) -> str:
        return "English" if self is Language.ENGLISH else "German"


_ENGLISH_MARKERS = frozenset(
    "the of what which who whom whose when where why how did does do is are were has have to on by with from "
    "that this and for a an its their".split()
)
_GERMAN_MARKERS = frozenset(
    "der die das den dem des ein eine einer eines einem wer wann wo wie warum welche welcher welches welchen ist "
    "sind wurde wurden hat haben und für von mit zu zum zur im auf aus bei nach über".split()
)


def language_of(text: str) -> Language:
    """English or German, by the function words of ``text``; German where they do not tell,
    as the archive's own language."""
    lowered = [part.lower() for part in word_parts(text)]
    english = sum(w in _ENGLISH_MARKERS for w in lowered)
    german = sum(w in _GERMAN_MARKERS for w in lowered)
    return Language.ENGLISH if english > german else Language.GERMAN
