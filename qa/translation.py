"""English question words in German, for the lexical side of retrieval.

The archive is German and its users ask in English as often; BM25 alone finds an English
question's names and cognates, but not "negotiates" in "verhandelt". A dictd dictionary gives
each English word its German translations: FreeDict's English-German (the Ding word list,
Debian package ``dict-freedict-eng-deu``), read from where that package puts it or from
``$QA_DICTIONARY``. The translations of a word's :data:`SENSES` main senses, the first
:data:`WORDS_PER_SENSE` words of each, become alternatives to the word's own terms. Which sense
a question means is not decided: the words of a wrong sense seldom stand in a passage with the
question's other words, so they add little to a wrong passage's BM25. How many senses and
which ones moved English BM25 recall@5 by about a point either way (bench/RESULTS.md, issue 4).

Without a dictionary, retrieval works as before; :func:`shared_dictionary` is then None.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import os
import re
import sqlite3
import threading
import zlib
from functools import lru_cache
from pathlib import Path

from qa.embedding import default_model_dir
from qa.records import stable_hash

logger = logging.getLogger(__name__)

DICTIONARY_ENV = "QA_DICTIONARY"
DEFAULT_DICTIONARY = Path("/usr/share/dictd/freedict-eng-deu")
"""The dictd base path: ``.index`` and ``.dict.dz`` (or ``.dict``) are found next to it."""
SENSES = 3
WORDS_PER_SENSE = 2
PHRASE_WORDS = 3
"""The longest headwords kept, in words: "Lower Saxony" is Niedersachsen, "state election"
Landtagswahl, "lead candidate" Spitzenkandidat; German writes in one word what English writes in
two or three, and neither word's own translations find it."""
CACHE_FORMAT = 2
"""Changed when what is read into the cached table changes (2: phrases), so that an older table is read again."""

_BASE64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_ANNOTATION = re.compile(r"\[[^\]]*\]|<[^>]*>|\([^)]*\)|\{[^}]*\}|/[^/]*/")
_COUNTRY_CODE = re.compile(r"\s+[A-Z]{2,3}$")
"""A country's entry ends in its ISO code and a pronunciation: "Spanien <neut> [geogr.] ES,  /ˈiːz/"."""
_GERMAN_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_ABBREVIATION = re.compile(r"\s{2,}[^\W\d_]+\.$")
"""A word's abbreviation, written after its grammar note: "geboren <adj>geb." (the note taken
out leaves the gap)."""


class DictionaryError(ValueError):
    """A dictionary file that cannot be read; the message names the file and the reason."""


def _decode_number(text: str, path: Path, line: int) -> int:
    value = 0
    for char in text:
        if char not in _BASE64:
            raise DictionaryError(f"{path}: line {line}: {text!r} is not a dictd base-64 number")
        value = value * 64 + _BASE64[char]
    return value


def _translations(line: str) -> list[str]:
    """The single German words of a sense's translation line, grammar notes left out:
    "Abordnung <fem>, Delegation ([+ gen]) <fem> [adm.]" -> ["Abordnung", "Delegation"]."""
    words = []
    for alternative in _ANNOTATION.sub(" ", line).replace(";", ",").split(","):
        alternative = _COUNTRY_CODE.sub("", alternative.strip().removeprefix("sich ").strip())
        alternative = _ABBREVIATION.sub("", alternative)
        if _GERMAN_WORD.fullmatch(alternative):
            words.append(alternative)
    return words


_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_TRANSLITERATION = re.compile(r"shch|zh|kh|sh|ch|ts|v|y")
_GERMAN_LETTERS = {
    "shch": "schtsch",
    "zh": "sch",
    "kh": "ch",
    "sh": "sch",
    "ch": "tsch",
    "ts": "z",
    "v": "w",
    "y": "j",
}
"""English transliteration of Cyrillic and its German counterpart: Kinzhal/Kinschal,
Ivano-Frankivsk/Iwano-Frankiwsk, Kharkiv/Charkiw, Tsarev/Zarew."""


def german_spellings(word: str) -> tuple[str, ...]:
    """How German writes an English question's ``word`` where the spelling alone differs: an
    ordinal as its number ("20th": "20", German writes "20."), a name transliterated from Cyrillic
    with German letters ("Kinzhal": "Kinschal", "Zelensky": "Selenskyj"). Only capitalised words
    are taken for names; () where nothing differs."""
    ordinal = _ORDINAL.match(word.lower())
    if ordinal:
        return (ordinal.group(1),)
    if not (word[:1].isupper() and word.isalpha() and len(word) >= 4):
        return ()
    lowered = word.lower()
    german = _TRANSLITERATION.sub(
        lambda m: "yj" if m.group() == "y" and m.end() == len(lowered) else _GERMAN_LETTERS[m.group()], lowered
    )
    spellings = [german, "s" + german[1:] if german.startswith("z") else german]
    return tuple(spelling for spelling in dict.fromkeys(spellings) if spelling != lowered)


class Dictionary:
    """An English-German dictd dictionary (FreeDict's has 107,461 words), read once per machine
    into a cached table that each process then looks words up in."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._senses: sqlite3.Connection | dict[str, str] | None = None
        self._lock = threading.Lock()
        self.problem: str | None = None
        """Why the dictionary could not be read, once that was tried; it then translates nothing."""

    @property
    def index_file(self) -> Path:
        return self.path.with_name(self.path.name + ".index")

    @property
    def data_file(self) -> Path:
        packed = self.path.with_name(self.path.name + ".dict.dz")
        return packed if packed.exists() else self.path.with_name(self.path.name + ".dict")

    def exists(self) -> bool:
        return self.index_file.is_file() and self.data_file.is_file()

    def read(self) -> dict[str, str]:
        """Each headword of up to :data:`PHRASE_WORDS` words (lower case) with the translation
        lines of its main senses, one line a sense: the senses with the longest entries, as a
        common sense comes with examples and phrases."""
        try:
            data = self.data_file.read_bytes()
            if self.data_file.suffix == ".dz":
                data = gzip.decompress(data)
            index = self.index_file.read_text(encoding="utf-8")
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError) as error:
            raise DictionaryError(f"{self.path}: cannot read the dictionary: {error}") from error
        kept: dict[str, list[tuple[int, int]]] = {}
        for number, line in enumerate(io.StringIO(index), 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                raise DictionaryError(f"{self.index_file}: line {number}: expected headword, offset and length")
            headword, offset, length = fields
            if headword.count(" ") >= PHRASE_WORDS or headword.startswith("00-database"):
                continue
            start = _decode_number(offset, self.index_file, number)
            size = _decode_number(length, self.index_file, number)
            if start + size > len(data):
                raise DictionaryError(f"{self.index_file}: line {number}: entry ends past the data file's end")
            senses = kept.setdefault(headword.lower(), [])
            senses.append((size, start))
            if len(senses) > SENSES:
                senses.remove(min(senses))

        def translation_line(start: int, size: int) -> str:
            lines = data[start : start + size].split(b"\n", 2)
            return lines[1].decode("utf-8", "replace") if len(lines) > 1 else ""

        return {
            word: "\n".join(translation_line(start, size) for size, start in sorted(senses, reverse=True))
            for word, senses in kept.items()
        }

    def cache_file(self) -> Path:
        """Where the read dictionary is kept as an SQLite table (word → senses), named by the
        dictionary files' paths, sizes and times, so that a changed dictionary is read again."""
        stamps = [(str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in (self.index_file, self.data_file)]
        stamps.append(("format", CACHE_FORMAT, 0))
        return default_model_dir().parent / f"dictionary-{stable_hash(stamps)[:16]}.sqlite"

    def _write_cache(self, target: Path, senses: dict[str, str]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.{os.getpid()}.partial")
        with contextlib.closing(sqlite3.connect(staging)) as db:
            db.execute("CREATE TABLE senses (word TEXT PRIMARY KEY, lines TEXT NOT NULL) WITHOUT ROWID")
            db.executemany("INSERT INTO senses VALUES (?, ?)", senses.items())
            db.commit()
        staging.replace(target)

    def _open(self) -> sqlite3.Connection | dict[str, str]:
        """The senses by word: the cached table (read and written on first use on a machine,
        1.2 s for FreeDict's; then a lookup per word), or, where no cache can be written, the
        dictionary read into memory. A broken dictionary is logged once and then translates
        nothing, so that English questions are still answered, as without one."""
        with self._lock:
            if self._senses is None:
                try:
                    cache = self.cache_file()
                    if not cache.exists():
                        senses = self.read()
                        try:
                            self._write_cache(cache, senses)
                        except (OSError, sqlite3.Error) as error:
                            logger.warning("%s: cannot cache the dictionary (%s); it is kept in memory", cache, error)
                            self._senses = senses
                            return senses
                    self._senses = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, check_same_thread=False)
                    logger.info("English-German dictionary %s, cached in %s", self.path, cache)
                except (DictionaryError, OSError) as error:
                    self._senses, self.problem = {}, str(error)
                    logger.error("%s; English question words are not translated", error)
            return self._senses

    def _senses_of(self, word: str) -> str:
        senses = self._open()
        if isinstance(senses, dict):
            return senses.get(word, "")
        with self._lock:
            row = senses.execute("SELECT lines FROM senses WHERE word = ?", (word,)).fetchone()
        return row[0] if row else ""

    def __len__(self) -> int:
        senses = self._open()
        if isinstance(senses, dict):
            return len(senses)
        with self._lock:
            return senses.execute("SELECT count(*) FROM senses").fetchone()[0]

    def translate(self, word: str) -> tuple[str, ...]:
        """German words for the English ``word`` or phrase ("lower saxony"), most common senses
        first; () when unknown."""
        translations = []
        for line in self._senses_of(word.lower()).splitlines():
            translations.extend(_translations(line)[:WORDS_PER_SENSE])
        return tuple(dict.fromkeys(translations))


@lru_cache(maxsize=1)
def shared_dictionary() -> Dictionary | None:
    """The dictionary at ``$QA_DICTIONARY`` or where Debian installs FreeDict's, or None when
    neither is there; loaded once per process."""
    configured = os.environ.get(DICTIONARY_ENV)
    dictionary = Dictionary(configured or DEFAULT_DICTIONARY)
    if dictionary.exists():
        return dictionary
    if configured:
        logger.warning("%s=%s: no .index and .dict(.dz) files there", DICTIONARY_ENV, configured)
    return None
