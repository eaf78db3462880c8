"""Parsing the archive formats: scraped article pages (``.txt``) and JSON Lines (the agency
formats, ``.json`` and ``.xml``, are read by ``qa.wire``).

Both readers yield :class:`~qa.records.Article` objects with repaired text, or raise
:class:`InvalidInputError` naming the file (and line) and the reason. A JSON Lines file
is streamed, so a bad line fails alone and a large file never sits in memory whole.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from qa.records import Article, Teaser, stable_hash
from qa.repair import repair_text

logger = logging.getLogger(__name__)

BERLIN = ZoneInfo("Europe/Berlin")
ARTICLE_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
DIGITALWIRES_SUFFIXES = (".json",)
NEWSML_SUFFIXES = (".xml",)
SUPPORTED_SUFFIXES = ARTICLE_SUFFIXES + JSONL_SUFFIXES + DIGITALWIRES_SUFFIXES + NEWSML_SUFFIXES
DEFAULT_MAX_ARTICLE_BYTES = 5_000_000
MAX_WIRE_FILE_BYTES = 4 * DEFAULT_MAX_ARTICLE_BYTES
"""A digitalwires or NewsML-G2 file may hold many entries, each an article."""

_DATE_LINE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4}) - (\d{2}):(\d{2})(?::(\d{2}))?$")
_SOURCE_LINE = re.compile(r"^@\s*(\S+)$")
_MORE_NEWS = "Weitere Meldungen"
_TEASER_TAIL = re.compile(r"\(([^()]*),\s*(\d{2}\.\d{2}\.\d{4} - \d{2}:\d{2}(?::\d{2})?)\)\s*weiterlesen\.*\s*$")
_TITLE_END = re.compile(r"(?<![\d\s])[.!?](?=\s+[A-ZÄÖÜ\"„])")
_MAX_TEASER_TITLE = 160
_SENTENCE_OPENERS = (
    "Der Die Das Den Dem Des Ein Eine Einer Eines Er Sie Es Wir Ich Man Mehr Weniger Laut Nach Nun Doch Auch "
    "Im In Am An Auf Bei Mit Seit Trotz Wegen Während Wie Was Wer Wo Warum Zum Zur Vor Für Über Unter Noch Jetzt "
    "Dabei Damit Deshalb Bislang Bisher Schon So Da Dass Als Wenn Weil Ob Aber Und Oder Zudem Inzwischen Erst "
    "Dort Hier Dies Diese Dieser Dieses Viele Alle Kein Keine Seine Ihre Sein Ihr Gegen Ohne Rund Fast Knapp"
).split()
_RUN_ON_TITLE = re.compile(r"(?<=[a-zäöüß]) (?=(?:" + "|".join(_SENTENCE_OPENERS) + r") )")
"""Where a scraped teaser's title runs into its lead with no stop between ("… EU kann fordern Mehr
Verluste, …"): a lower-case word, then a word that is capitalised only as a sentence's first."""


@dataclass(frozen=True)
class InvalidInputError(ValueError):
    """An input that cannot be imported, with where it is and why."""

    source: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.reason}"


class NothingToImport(InvalidInputError):
    """An entry that carries no text to index (a wire service's image or audio entry): skipped
    with its reason, not failed."""


def _parse_date_line(value: str) -> datetime | None:
    match = _DATE_LINE.match(value.strip())
    if not match:
        return None
    day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)
    except ValueError:
        return None


def decode_text(data: bytes, source: str, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES, unit: str = "file") -> str:
    """Decode an input strictly as UTF-8 (or UTF-16 with its byte-order mark), saying plainly what else it is."""
    if len(data) > max_bytes:
        raise InvalidInputError(source, f"{unit} too large: {len(data):,} bytes (limit {max_bytes:,})")
    if not data.strip():
        raise InvalidInputError(source, f"empty {unit}")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise InvalidInputError(source, f"broken UTF-16 at offset {error.start}") from None
    if b"\x00" in data[:65536]:
        raise InvalidInputError(source, f"binary {unit} (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        bad = data[error.start]
        hint = ""
        try:
            data.decode("cp1252")
            hint = "; it looks like cp1252/Latin-1: convert it to UTF-8 first"
        except UnicodeDecodeError:
            hint = "; it is not text in any encoding this importer knows"
        raise InvalidInputError(source, f"not UTF-8: byte 0x{bad:02x} at offset {error.start}{hint}") from None


def _blocks(text: str) -> list[str]:
    return [block.strip() for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if block.strip()]


def _split_teaser_title(text: str) -> tuple[str, str]:
    """Scraped teasers run title and teaser together; the first sentence is the title."""
    match = _TITLE_END.search(text)
    if match and match.start() < _MAX_TEASER_TITLE:
        return text[: match.start()].strip(), text[match.end() :].strip()
    run_on = _RUN_ON_TITLE.search(text)
    if run_on and run_on.start() < _MAX_TEASER_TITLE:
        return text[: run_on.start()].strip(), text[run_on.end() :].strip()
    return text, ""


def parse_teaser(block: str) -> Teaser | None:
    match = _TEASER_TAIL.search(block)
    if not match:
        return None
    text = block[: match.start()].strip()
    if not text:
        return None
    title, _rest = _split_teaser_title(text)
    return Teaser(
        title=title,
        text=text,
        section=match.group(1).strip() or None,
        published=_parse_date_line(match.group(2)),
    )


def parse_article_text(text: str, source: str, article_id: str | None = None) -> Article:
    """Parse one scraped page: tags, title, date line, body, ``@ source``, teasers."""
    repaired = repair_text(text)
    blocks = _blocks(repaired.text)
    date_index = next((i for i, block in enumerate(blocks[:4]) if _parse_date_line(block)), None)
    if date_index is None:
        if any(_DATE_LINE.match(block) for block in blocks[:4]):
            raise InvalidInputError(source, "not an article: the date line holds an impossible date")
        raise InvalidInputError(source, "not an article: no date line 'DD.MM.YYYY - HH:MM:SS' among the first lines")
    if date_index == 0:
        raise InvalidInputError(source, "not an article: no title before the date line")
    header = blocks[:date_index]
    title = header[-1]
    tags = tuple(t.strip() for t in header[0].split(",") if t.strip()) if len(header) > 1 else ()
    published = _parse_date_line(blocks[date_index])

    paragraphs: list[str] = []
    teasers: list[Teaser] = []
    origin: str | None = None
    rest = blocks[date_index + 1 :]
    position = 0
    while position < len(rest):
        block = rest[position]
        source_match = _SOURCE_LINE.match(block)
        if source_match:
            origin = source_match.group(1)
        elif block == _MORE_NEWS:
            break
        else:
            paragraphs.append(block)
        position += 1
    for block in rest[position + 1 :]:
        teaser = parse_teaser(block)
        if teaser is None:
            logger.warning("%s: kept as body text, not a teaser: %r", source, block[:60])
            paragraphs.append(block)
        else:
            teasers.append(teaser)
    if not paragraphs:
        raise InvalidInputError(source, "not an article: no body text after the date line")
    if repaired.repairs:
        logger.info("%s: repaired %d mojibake spans", source, repaired.repairs)
    return Article(
        id=article_id or Path(source).stem,
        title=title,
        published=published,
        paragraphs=tuple(paragraphs),
        tags=tags,
        source=origin,
        source_path=source,
        teasers=tuple(teasers),
        repairs=repaired.repairs,
    )


def read_article_file(path: Path, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> Article:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InvalidInputError(source, f"file too large: {size:,} bytes (limit {max_bytes:,})")
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInputError(source, f"cannot read: {error.strerror or error}") from None
    return parse_article_text(decode_text(data, source, max_bytes), source)


def _parse_published(value: object, source: str, line: int) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidInputError(source, f"'published' must be a date string, got {value!r}", line)
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        from_line = _parse_date_line(value)
        if from_line is None:
            raise InvalidInputError(source, f"'published' is not a date: {value!r}", line) from None
        return from_line
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=BERLIN)
    return parsed.astimezone(BERLIN)


def _text_field(record: dict, key: str, source: str, line: int) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInputError(source, f"'{key}' must be a string, got {type(value).__name__}", line)
    return value


def _tags(record: dict) -> tuple[str, ...]:
    raw = record.get("tags") or record.get("keywords") or ()
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list | tuple):
        return ()
    return tuple(dict.fromkeys(str(t).strip() for t in raw if str(t).strip()))


def parse_json_record(record: object, source: str, line: int) -> Article:
    if not isinstance(record, dict):
        raise InvalidInputError(source, "not a JSON object", line)
    title = repair_text(_text_field(record, "title", source, line).strip())
    body = repair_text(_text_field(record, "body", source, line))
    if not title.text:
        raise InvalidInputError(source, "missing 'title'", line)
    paragraphs = tuple(p.strip() for p in re.split(r"\n+", body.text) if p.strip())
    if not paragraphs:
        raise InvalidInputError(source, "missing 'body'", line)
    published = _parse_published(record.get("published"), source, line)
    url = record.get("url") if isinstance(record.get("url"), str) else None
    outlet = record.get("source") or record.get("outlet")
    raw_id = record.get("id")
    article_id = (
        str(raw_id)
        if raw_id not in (None, "")
        else "jsonl:" + stable_hash(url or title.text, published.isoformat() if published else None)[:16]
    )
    return Article(
        id=article_id,
        title=title.text,
        published=published,
        paragraphs=paragraphs,
        tags=_tags(record),
        source=str(outlet) if outlet else None,
        url=url,
        source_path=f"{source}:{line}",
        repairs=title.repairs + body.repairs,
    )


RecordParser = Callable[[object, str, int], Article]


def read_jsonl_file(
    path: Path, max_line_bytes: int = DEFAULT_MAX_ARTICLE_BYTES, parse: RecordParser = parse_json_record
) -> Iterator[Article | InvalidInputError]:
    """Yield each line's article (read by ``parse``), or the error that line gave; the file goes on."""
    source = str(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        yield InvalidInputError(source, f"cannot read: {error.strerror or error}")
        return
    with handle:
        any_line = False
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            any_line = True
            try:
                text = decode_text(raw, source, max_line_bytes, unit="line")
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as error:
                    raise InvalidInputError(
                        source, f"invalid JSON: {error.msg} (column {error.colno})", number
                    ) from None
                yield parse(record, source, number)
            except InvalidInputError as error:
                yield InvalidInputError(error.source, error.reason, number)
        if not any_line:
            yield InvalidInputError(source, "empty file")


def discover(paths: list[Path]) -> tuple[list[Path], list[InvalidInputError]]:
    """Expand folders into the importable files below them, sorted; name what cannot be used."""
    found: list[Path] = []
    problems: list[InvalidInputError] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(path)
            else:
                problems.append(
                    InvalidInputError(
                        str(path),
                        f"unsupported file type {path.suffix or '(none)'}; use {', '.join(SUPPORTED_SUFFIXES)}",
                    )
                )
        else:
            problems.append(InvalidInputError(str(path), "no such file or folder"))
    return list(dict.fromkeys(found)), problems
