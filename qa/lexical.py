"""The lexical side of retrieval: German-stemmed terms for SQLite's FTS5 and its BM25 ranking.

Chunks are stored as their stemmed terms in an FTS5 table of the same SQLite file as the
rest of the metadata, so the lexical index is written, published and rolled back with the
generation it belongs to, and a chunk's terms come and go with the chunk. FTS5 ranks with
BM25 (k1 = 1.2, b = 0.75). Questions are stemmed with both the German and the English
Snowball stemmer, as users ask in either language; names ("Umjerow") match by their letters,
and an English question's words also by their German translations (``qa.translation``).
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

from qa.translation import PHRASE_WORDS, Dictionary, german_spellings
from qa.words import Language, language_of, without_marks, word_parts, words

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


def matching_terms(text: str) -> frozenset[str]:
    """The stemmed terms a question's words are matched against in ``text``: its
    :func:`document_terms`, each also without diacritics, as the index matches them ("orban" for
    "Orbán"), and a word in the genitive also stemmed without its s: the stemmer takes only the s
    off "Vorpommerns" ("vorpommern") but "-ern" off "Vorpommern" ("vorpomm")."""
    found = content_words(text)
    genitives = [word[:-1] for word in found if len(word) > 4 and word.endswith("s") and not word.endswith("ss")]
    terms = set(_german.stemWords(found)) | set(_german.stemWords(genitives))
    return frozenset(terms | {without_marks(term) for term in terms if not term.isascii()})


def german_term(translation: str) -> str:
    """A German translation as the index holds its words: each stemmed on its own, as
    :func:`document_terms` stems a chunk's ("Baden-Württemberg" → "bad-wurttemberg", not
    "baden-wurttemberg", which no chunk holds; "voriges Jahr" → "vorig jahr"). A hyphenated
    word keeps its hyphen: it is one German word, matched where all its parts stand."""
    stemmed = []
    for word in words(translation.lower()):
        parts = [part for part in word.split("-") if part and part not in _STOPWORDS]
        if parts:
            stemmed.append("-".join(_german.stemWords(parts)))
    return " ".join(stemmed)


def translations(text: str, dictionary: Dictionary | None) -> dict[str, tuple[str, ...]]:
    """The German for each content word of the English ``text``: its translations in the
    ``dictionary`` (a capitalised plural's also as its singular's: "Greens" is listed as
    vegetables, "green" as grün) and how German spells it where only the spelling differs (see
    ``qa.translation.german_spellings``); words with neither are left out, and so are single
    letters (the "s" of "Pomerania's" is no word: the dictionary gives it Süden)."""
    found: dict[str, tuple[str, ...]] = {}
    for part in word_parts(text):
        word = part.lower()
        if word in _STOPWORDS or word in found or len(word) < 2:
            continue
        translated = dictionary.translate(word) if dictionary is not None else ()
        if dictionary is not None and part[:1].isupper() and word.endswith("s") and not word.endswith("ss"):
            translated += dictionary.translate(word[:-1])
        found[word] = tuple(dict.fromkeys(translated + german_spellings(part)))
    if dictionary is not None:
        for phrase, german in phrase_translations(text, dictionary):
            for part in word_parts(" ".join(phrase)):
                word = part.lower()
                if word in found:
                    found[word] = tuple(dict.fromkeys((*found[word], *german)))
    return {word: translated for word, translated in found.items() if translated}


def phrase_translations(text: str, dictionary: Dictionary) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The runs of two to :data:`~qa.translation.PHRASE_WORDS` adjacent words of ``text`` (or a
    hyphenated word alone) that the dictionary lists as one headword, with their German:
    ("Lower", "Saxony") → (Niedersachsen,), ("Mecklenburg-Western", "Pomerania") →
    (Mecklenburg-Vorpommern,). Each word of the run is then also matched by it. A dictd index
    writes a headword's hyphens as nothing ("mecklenburgwestern pomerania"), and so is it looked up."""
    parts = words(text)
    found = []
    for size in range(1, PHRASE_WORDS + 1):
        for start in range(len(parts) - size + 1):
            phrase = tuple(parts[start : start + size])
            if size == 1 and "-" not in phrase[0]:
                continue
            german = dictionary.translate(" ".join(word.replace("-", "") for word in phrase).lower())
            if german:
                found.append((phrase, german))
    return found


COMPOUND_LINKS = ("", "s", "n")
"""The letters German puts between a compound's parts: Welt|bank, Gesundheit|s|minister, Straße|n|bahn."""
COMPOUND_PARTS = 3
"""How many of each word's noun translations a compound is tried with."""


def with_compounds(
    text: str, translated: Mapping[str, tuple[str, ...]], frequencies: Callable[[list[str]], Mapping[str, int]]
) -> dict[str, tuple[str, ...]]:
    """``translated`` with the German compounds of two adjacent English words that the archive
    holds (``frequencies`` counts the chunks each stemmed term stands in), added to the second
    word's: "health minister" → Gesundheitsminister, "World Bank" → Weltbank, "night trains" →
    Nachtzüge. German writes as one word what English writes as two, and BM25 matches whole
    terms: neither "Gesundheit" nor "Minister" finds "Gesundheitsminister"."""
    words = content_words(text)
    candidates: dict[str, tuple[str, str]] = {}
    for first, second in itertools.pairwise(words):
        heads = [word for word in translated.get(first, ()) if word[:1].isupper()][:COMPOUND_PARTS]
        tails = [word for word in translated.get(second, ()) if word[:1].isupper()][:COMPOUND_PARTS]
        for head in heads:
            for tail in tails:
                for link in COMPOUND_LINKS:
                    compound = f"{head}{link}{tail.lower()}"
                    candidates.setdefault(document_terms(compound), (second, compound))
    if not candidates:
        return dict(translated)
    held = frequencies(list(candidates))
    found = dict(translated)
    for term, (word, compound) in candidates.items():
        if held.get(term):
            found[word] = (*found.get(word, ()), compound)
    return found


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
                variants += tuple(term for term in map(german_term, translated[word]) if term)
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

    @property
    def phrases(self) -> list[Phrase]:
        """The terms as the phrases FTS5 makes of :meth:`fts5`'s expression, in its order."""
        return [phrase for phrase in (Phrase.of(term) for term in self.terms) if phrase.tokens]

    def without_idle_prefixes(self, idle: Callable[[str, str], bool]) -> LexicalQuery:
        """The query less each prefix that ``idle(prefix, term)`` finds idle beside a whole
        term of its word that begins with it (see ``Snapshot.lexical_search``). A translation
        ("negotiates": verhandelt) never makes a prefix idle: it is not the word's own form."""
        groups = []
        for group in self.groups:
            whole = [term for term in group if not term.endswith("*")]
            dropped = {
                prefix
                for prefix in group
                if prefix.endswith("*") and any(t.startswith(prefix[:-1]) and idle(prefix, t) for t in whole)
            }
            groups.append(tuple(term for term in group if term not in dropped))
        return LexicalQuery(tuple(dict.fromkeys(groups)))

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


_TOKEN = re.compile(r"[^\W_]+")


def fts5_tokens(text: str) -> list[str]:
    """``text`` split and folded as FTS5's default ``unicode61`` tokenizer does: runs of letters
    and digits, lower-cased, diacritics removed ("Unterhändler" -> "unterhandler")."""
    text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFC", without_marks(text))
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class Phrase:
    """One quoted phrase of an FTS5 expression: its tokens, the last one a prefix when ``prefix``."""

    tokens: tuple[str, ...]
    prefix: bool = False

    @classmethod
    def of(cls, term: str) -> Phrase:
        prefix = term.endswith("*")
        return cls(tuple(fts5_tokens(term[:-1] if prefix else term)), prefix)

    def fts5(self) -> str:
        return f'"{" ".join(self.tokens)}"' + ("*" if self.prefix else "")

    def occurrences(self, tokens: Sequence[str], counts: Mapping[str, int]) -> int:
        """How often the phrase stands in a document of these ``tokens`` (``counts``: how often
        each token does): FTS5's phrase frequency."""
        width = len(self.tokens)
        if width == 1:
            (token,) = self.tokens
            if not self.prefix:
                return counts.get(token, 0)
            return sum(n for found, n in counts.items() if found.startswith(token))
        if not width:
            return 0
        *whole, last = self.tokens
        found = 0
        for start in range(len(tokens) - width + 1):
            end = tokens[start + width - 1]
            if not (end.startswith(last) if self.prefix else end == last):
                continue
            if list(tokens[start : start + width - 1]) == whole:
                found += 1
        return found


BM25_B = 0.75


@dataclass(frozen=True)
class Bm25Statistics:
    """What FTS5's ``bm25()`` reads from the whole table: its row count, its average document
    length in tokens, and in how many rows each phrase of the query occurs."""

    rows: int
    average_length: float
    phrase_rows: Mapping[Phrase, int]

    def score(self, phrases: Sequence[Phrase], document: str) -> float:
        """FTS5's BM25 of one row whose indexed text is ``document`` (higher is better): the
        same sum over the expression's phrases that ``-bm25()`` returns, so that rows scored
        here and rows FTS5 scored rank on one scale."""
        tokens = fts5_tokens(document)
        if not tokens or self.rows == 0:
            return 0.0
        norm = BM25_K1 * (1 - BM25_B + BM25_B * len(tokens) / self.average_length)
        counts = Counter(tokens)
        total = 0.0
        for phrase in phrases:
            frequency = phrase.occurrences(tokens, counts)
            if frequency:
                idf = fts5_idf(self.rows, self.phrase_rows.get(phrase, 0))
                total += idf * frequency * (BM25_K1 + 1) / (frequency + norm)
        return total
