"""The lexical side of retrieval: German-stemmed terms for SQLite's FTS5 and its BM25 ranking.

Chunks are stored as their stemmed terms in an FTS5 table of the same SQLite file as the
rest of the metadata, so the lexical index is written, published and rolled back with the
generation it belongs to, and a chunk's terms come and go with the chunk. FTS5 ranks with
BM25 (k1 = 1.2, b = 0.75). Questions are stemmed with both the German and the English
Snowball stemmer, as users ask in either language; names ("Umjerow") match by their letters,
and an English question's words also by their German translations (``qa.translation``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

from qa.translation import Dictionary
from qa.words import Language, language_of, word_parts

_STOPWORDS = frozenset(
    """
    aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes auch auf aus bei
    beim bin bis bist da damit dann das dass dasselbe dazu dein deine dem den denn der des dessen dich die dies
    diese dieselbe diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines einig
    einige er es etwas euch euer für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm ihn
    ihnen ihr ihre ihrem ihren ihrer im in indem ins ist jede jedem jeden jeder jedes jene jetzt kann kein keine
    können könnte man manche mein mich mir mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein
    seine seinem seinen seiner seit sich sie sind so solche soll sollte sondern sonst über um und uns unser unter
    viel vom von vor war waren warum was weil welche welchem welchen welcher welches wenn wer werde werden wie
    wieder will wir wird wirst wo wollen wollte würde würden zu zum zur zwar zwischen wann wem wen wessen wurde
    wurden worden
    a about after again against all am an and any are as at be because been before being between both but by can
    could did do does doing during each few for from further had has have having he her here hers him his how i
    if in into is it its itself just me more most my no nor not now of off on once only or other our out over own
    same she should so some such than that the their them then there these they this those through to too under
    until up very was we were what when where which while who whom whose why will with would you your
    """.split()
)

NAME_PATTERN = re.compile(r"\b[A-ZÄÖÜ][a-zäöüßéè]+(?:[ -][A-ZÄÖÜ][a-zäöüßéè]+)+\b")
"""Runs of capitalised words: names ("Rustem Umjerow", "Präsident Wolodymyr Selenskyj"), and
at a sentence's start the first word with the next."""

_german = Stemmer.Stemmer("german")
_english = Stemmer.Stemmer("english")


def is_stopword(word: str) -> bool:
    return word.lower() in _STOPWORDS


def content_words(text: str) -> list[str]:
    """Lower-cased words and numbers of ``text`` (compounds taken apart), stopwords left out."""
    return [w for w in (part.lower() for part in word_parts(text)) if w not in _STOPWORDS]


def document_terms(text: str) -> str:
    """What FTS5 stores for a chunk: its words, German-stemmed, separated by spaces."""
    return " ".join(_german.stemWords(content_words(text)))


def translations(text: str, dictionary: Dictionary | None) -> dict[str, tuple[str, ...]]:
    """The German translations of each content word of the English ``text``; words the
    ``dictionary`` does not know are left out."""
    if dictionary is None:
        return {}
    found = {word: dictionary.translate(word) for word in dict.fromkeys(content_words(text))}
    return {word: translated for word, translated in found.items() if translated}


PREFIX_LETTERS = 5
"""A long question word also matches German terms that begin like it ("Ukrainian" and
ukrain-isch, "Kremlin" and Kreml): the cognates and names that English and German share."""
_PREFIX_FROM = PREFIX_LETTERS + 2


@lru_cache(maxsize=4096)
def _query_variants(word: str, prefixes: bool) -> tuple[str, ...]:
    variants = [_german.stemWord(word), _english.stemWord(word), word]
    if prefixes and len(word) >= _PREFIX_FROM and not word.isdigit():
        variants.append(word[:PREFIX_LETTERS] + "*")
    return tuple(dict.fromkeys(variants))


@dataclass(frozen=True)
class LexicalQuery:
    """A question as groups of alternative terms: one group per word of the question."""

    groups: tuple[tuple[str, ...], ...]

    @classmethod
    def of(
        cls, text: str, prefixes: bool = True, translated: Mapping[str, Sequence[str]] | None = None
    ) -> LexicalQuery:
        """One group per content word of ``text``: its stems, the word itself, a prefix (with
        ``prefixes``) and its German translations in ``translated``, stemmed ("negotiates":
        verhandelt, unterhandelt)."""
        translated = translated or {}
        groups = []
        for word in content_words(text):
            variants = _query_variants(word, prefixes)
            if word in translated:
                variants += tuple(_german.stemWords([t.lower() for t in translated[word]]))
            groups.append(tuple(dict.fromkeys(variants)))
        return cls(tuple(dict.fromkeys(groups)))

    @classmethod
    def parse(cls, text: str, prefixes: bool = True, dictionary: Dictionary | None = None) -> LexicalQuery:
        """:meth:`of`, with an English text's words translated through ``dictionary``."""
        english = language_of(text) is Language.ENGLISH
        return cls.of(text, prefixes, translations(text, dictionary) if english else None)

    @property
    def terms(self) -> list[str]:
        """Whole terms and prefixes (ending in ``*``) of every group."""
        return list(dict.fromkeys(term for group in self.groups for term in group))

    def fts5(self) -> str | None:
        """An FTS5 MATCH expression: any of the terms, each quoted so that no word is read as
        syntax, prefixes with FTS5's ``*`` after the quotes."""
        terms = self.terms
        if not terms:
            return None
        return " OR ".join(
            f'"{term[:-1]}"*' if term.endswith("*") else f'"{term}"' for term in (t.replace('"', "") for t in terms)
        )


BM25_K1 = 1.2
"""BM25's constant (FTS5's and Milvus's default): a term's score saturates at (k1 + 1) times its idf."""


def fts5_idf(total: int, documents: int) -> float:
    """FTS5's idf of a term in ``documents`` of ``total`` chunks (never below 1e-6)."""
    return max(math.log((total - documents + 0.5) / (documents + 0.5)), 1e-6)


def lucene_idf(total: int, documents: int) -> float:
    """The idf of Lucene and of Milvus's BM25 function: always positive."""
    return math.log(1 + (total - documents + 0.5) / (documents + 0.5))


def bm25_ceiling(
    query: LexicalQuery,
    frequencies: Mapping[str, int],
    total: int,
    idf: Callable[[int, int], float] = fts5_idf,
) -> float:
    """The BM25 score a chunk could at best reach for ``query``, from the number of chunks
    each term occurs in (``frequencies``) among ``total``, with the store's ``idf``.

    Each word of the question adds (k1 + 1) times its idf; a word the archive does not contain
    adds the idf of a term seen once, though no chunk can match it. A German question over
    German text can then reach most of its ceiling, while an English one, whose words the
    archive mostly lacks, reaches little of it and moves the ranking less.
    """
    if not query.groups or total == 0:
        return 0.0
    ceiling = 0.0
    for group in query.groups:
        seen = [frequencies[term] for term in group if term in frequencies]
        ceiling += (BM25_K1 + 1) * (max(idf(total, n) for n in seen) if seen else idf(total, 1))
    return ceiling
