"""Repairing mojibake: UTF-8 text that was decoded with the wrong single-byte codec.

The archive mixes clean text with two kinds of damage (see the project README):

* *single*: UTF-8 bytes read as ISO-8859-16 with cp1252's C1 range (``für`` -> ``fĂŒr``);
* *double*: such text encoded as cp1250 and read as UTF-8 again (``Gespräche`` -> ``GesprÀche``).

Other archives have other mixtures (cp1252 or cp1250 read for UTF-8), so the repair is a
table of tried decodings rather than a list of replacements. A span is replaced only when
its bytes under that codec are valid UTF-8 *and* the result reads better: it decodes to a
character that European news text plausibly holds, and the span did not start with a
letter that clean German text uses. Clean text is therefore never touched, which the tests
check as a property over arbitrary German text.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

__all__ = ["RepairResult", "repair_text"]

_PROTECTED_LEADS = frozenset("äöüßÄÖÜ")
_NEWS_CHARACTERS = frozenset("äöüßÄÖÜé„“”‚‘’–—…€«»§°")
_MAX_PASSES = 3


@dataclass(frozen=True)
class RepairResult:
    text: str
    repairs: int


def _sloppy_decoder(base: str) -> dict[int, str]:
    """Byte -> character for a single-byte codec, C1 bytes it leaves undefined kept as C1."""
    table = {}
    for byte in range(0x80, 0x100):
        try:
            table[byte] = bytes([byte]).decode(base)
        except UnicodeDecodeError:
            table[byte] = chr(byte)
    return table


def _latin10_with_cp1252_c1() -> dict[int, str]:
    table = _sloppy_decoder("iso8859_16")
    table.update({b: c for b, c in _sloppy_decoder("cp1252").items() if b < 0xA0})
    return table


@dataclass(frozen=True)
class _Codec:
    """One way UTF-8 bytes were misread: a byte table and the regex of its damaged spans."""

    name: str
    to_char: dict[int, str]

    @property
    def to_bytes(self) -> dict[str, tuple[int, ...]]:
        """Character -> every byte it may stand for (ISO-8859-16 and cp1252 share some)."""
        table: dict[str, tuple[int, ...]] = {}
        for byte, char in self.to_char.items():
            table[char] = (*table.get(char, ()), byte)
        return table

    def chars(self, low: int, high: int) -> str:
        return "".join(re.escape(self.to_char[b]) for b in range(low, high + 1))

    @property
    def pattern(self) -> re.Pattern[str]:
        cont = f"[{self.chars(0x80, 0xBF)}]"
        lead2, lead3, lead4 = self.chars(0xC2, 0xDF), self.chars(0xE0, 0xEF), self.chars(0xF0, 0xF4)
        return re.compile(f"[{lead2}]{cont}|[{lead3}]{cont}{{2}}|[{lead4}]{cont}{{3}}")


_CODECS = (
    _Codec("utf8-as-latin10+cp1252", _latin10_with_cp1252_c1()),
    _Codec("utf8-as-cp1252", _sloppy_decoder("cp1252")),
    _Codec("utf8-as-cp1250", _sloppy_decoder("cp1250")),
)


def _plausible_target(char: str) -> bool:
    """Characters a European news text holds and mojibake of it would hide."""
    code = ord(char)
    return (
        0x00A0 <= code <= 0x017F
        or 0x0218 <= code <= 0x021B
        or 0x2010 <= code <= 0x2027
        or 0x2030 <= code <= 0x203A
        or char in "€™"
    )


def _rank(char: str) -> int:
    """How likely a character is in German news: 0 common, 1 Latin-1, 2 rarer."""
    if char in _NEWS_CHARACTERS:
        return 0
    return 1 if ord(char) <= 0xFF else 2


def _reads_better(damaged: str, repaired: str) -> bool:
    if len(repaired) != 1 or not _plausible_target(repaired):
        return False
    # Clean German yields pairs like "Ä«" that are valid UTF-8 for a Latin-Extended letter;
    # a span that starts with a German letter is text, not damage.
    return not (damaged[0] in _PROTECTED_LEADS and ord(repaired) > 0xFF)


def _best_reading(damaged: str, to_bytes: dict[str, tuple[int, ...]]) -> str | None:
    """The likeliest character a damaged span stands for, or None if it is not damage."""
    readings = []
    for candidate in itertools.product(*(to_bytes[c] for c in damaged)):
        try:
            repaired = bytes(candidate).decode("utf-8")
        except UnicodeDecodeError:
            continue
        if _reads_better(damaged, repaired):
            readings.append(repaired)
    return min(readings, key=_rank) if readings else None


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], dict[str, tuple[int, ...]]], ...]:
    return tuple((codec.pattern, codec.to_bytes) for codec in _CODECS)


@cache
def _double_damage_table() -> dict[str, str]:
    """Characters that single damage followed by a cp1250 -> UTF-8 round trip produces.

    Computed rather than written out: ``ä`` comes back as ``À``, ``€`` as an unassigned
    code point, while most characters survive that trip unchanged. Only the common
    characters of German news are read back this way; for rarer ones the damaged form
    is more likely a real character (``ß`` is the double damage of ``î``).
    """
    single = _CODECS[0].to_char
    table = {}
    for target in sorted(_NEWS_CHARACTERS):
        damaged_once = "".join(single[b] for b in target.encode("utf-8"))
        try:
            damaged_twice = damaged_once.encode("cp1250").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if len(damaged_twice) == 1 and damaged_twice != target:
            table[damaged_twice] = target
    return table


def _in_word(text: str, index: int) -> bool:
    """Whether the character at ``index`` sits inside a word, where a capital is unlikely."""
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    return before.islower() or (before.isalpha() and after.islower())


@cache
def _double_damage_pattern() -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(char) for char in _double_damage_table()) + "]")


def _repair_double(text: str) -> tuple[str, int]:
    table = _double_damage_table()
    repairs = 0

    def replace(match: re.Match[str]) -> str:
        # An unassigned code point is damage wherever it stands; a real letter (the
        # French "À") only inside a word; anything else (a hair space) never.
        nonlocal repairs
        char = match.group()
        category = unicodedata.category(char)
        if category == "Cn" or (category[0] == "L" and _in_word(text, match.start())):
            repairs += 1
            return table[char]
        return char

    return _double_damage_pattern().sub(replace, text), repairs


def _repair_single(text: str) -> tuple[str, int]:
    repairs = 0

    def replace(match: re.Match[str], to_bytes: dict[str, tuple[int, ...]]) -> str:
        nonlocal repairs
        repaired = _best_reading(match.group(), to_bytes)
        if repaired is None:
            return match.group()
        repairs += 1
        return repaired

    for pattern, to_bytes in _compiled():
        text = pattern.sub(lambda m, tb=to_bytes: replace(m, tb), text)
    return text, repairs


def repair_text(text: str) -> RepairResult:
    """Undo mojibake span by span; clean text comes back unchanged.

    >>> repair_text("GesprĂ€che fĂŒr PrÀsident").text
    'Gespräche für Präsident'
    """
    if text.isascii():
        return RepairResult(text, 0)
    total = 0
    for _ in range(_MAX_PASSES):
        text, single = _repair_single(text)
        text, double = _repair_double(text)
        total += single + double
        if not single and not double:
            break
    return RepairResult(text, total)
