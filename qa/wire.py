"""Agency formats: dpa digitalwires entries (JSON) and IPTC NewsML-G2 news items (XML).

Both become :class:`~qa.records.Article` objects with the wire's own facts in
:class:`~qa.records.WireInfo` (urn, version, status, signal, embargo). The article keeps what
a reader of the story is meant to see: headline, teaser, the body's paragraphs with the dateline
in front of the first, and the infobox's text as paragraphs of its own; markup is dropped.
Editorial notes, the notepad and contacts are for the newsroom, not the reader: none of them
enters the article, and those marked non-public are never read at all. XML is parsed with
``defusedxml``, which refuses entity declarations (entity bombs) and external entities.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from xml.etree.ElementTree import Element, tostring

import defusedxml.ElementTree as SafeXML
from defusedxml import DefusedXmlException

from qa.parsing import (
    BERLIN,
    MAX_WIRE_FILE_BYTES,
    InvalidInputError,
    NothingToImport,
    decode_text,
    parse_json_record,
)
from qa.records import Article, WireInfo
from qa.repair import repair_text

_BLOCKS = frozenset("p h1 h2 h3 h4 h5 h6 li dt dd tr caption figcaption blockquote pre div section table ul ol".split())
_CELLS = frozenset(("td", "th"))
_SKIPPED = frozenset(("head", "header", "script", "style", "figure", "nav"))
_SPACES = re.compile(r"\s+")
_CORRECTION_NOTE = "dpaednoterole:correctionshort"


class _BlockText(HTMLParser):
    """The text of an HTML or XHTML fragment as paragraphs: one per block element (a table row
    is one, its cells joined with " | "); what ``_SKIPPED`` holds is left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._parts: list[str] = []
        self._skipping = 0

    @staticmethod
    def _name(tag: str) -> str:
        return tag.rsplit(":", 1)[-1].lower()

    def _flush(self) -> None:
        text = _SPACES.sub(" ", "".join(self._parts)).strip(" |")
        if text.strip():
            self.paragraphs.append(text.strip())
        self._parts = []

    def handle_starttag(self, tag: str, attrs) -> None:
        name = self._name(tag)
        if name in _SKIPPED:
            self._skipping += 1
        elif name in _BLOCKS:
            self._flush()
        elif name in _CELLS and self._parts:
            self._parts.append(" | ")
        elif name == "br":
            self._parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        name = self._name(tag)
        if name in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif name in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._parts.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_paragraphs(markup: str | None) -> list[str]:
    """The paragraphs of an HTML fragment, text only."""
    if not markup:
        return []
    parser = _BlockText()
    parser.feed(markup)
    parser.close()
    return parser.paragraphs


def _moment(value: object, source: str, line: int | None, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidInputError(source, f"'{field}' must be a date string, got {value!r}", line)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(source, f"'{field}' is not a date: {value!r}", line) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=BERLIN)).astimezone(BERLIN)


def _qcode_name(qcode: str | None) -> str | None:
    """``sig:correction`` → ``correction``; ``stat:canceled`` → ``canceled``."""
    return qcode.rsplit(":", 1)[-1] if qcode else None


def _items(entry: dict, key: str) -> list:
    """A field that should hold a list; anything else counts as empty."""
    value = entry.get(key)
    return value if isinstance(value, list) else []


def _markup(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = _SPACES.sub(" ", value).strip()
    return text or None


def _article(
    source: str,
    line: int | None,
    wire: WireInfo,
    headline: str | None,
    teaser: str | None,
    body: Sequence[str],
    tags: Sequence[str],
    outlet: str | None,
    kind: str,
) -> Article:
    if not headline:
        raise InvalidInputError(source, f"{wire.urn}: no headline", line)
    paragraphs = ([teaser] if teaser else []) + list(body)
    if not paragraphs and not wire.withdrawn:
        raise NothingToImport(source, f"{wire.urn}: no text to import ({kind} entry without article text)", line)
    title = repair_text(headline)
    repaired = [] if wire.withdrawn else [repair_text(p) for p in paragraphs]
    return Article(
        id=wire.urn,
        title=title.text,
        published=wire.version_created,
        paragraphs=tuple(r.text for r in repaired),
        tags=tuple(dict.fromkeys(t for t in (_clean(t) for t in tags) if t)),
        source=outlet,
        source_path=f"{source}:{line}" if line is not None else source,
        repairs=title.repairs + sum(r.repairs for r in repaired),
        wire=wire,
    )


def _with_dateline(dateline: str | None, body: list[str]) -> list[str]:
    """The dateline in front of the first paragraph, as printed ("Berlin (dpa) - Die ...")."""
    if not dateline or not body:
        return body
    dateline = dateline.strip()
    if body[0] == dateline and len(body) > 1:
        return [f"{dateline} {body[1]}", *body[2:]]
    if body[0].startswith(dateline):
        return body
    return [f"{dateline} {body[0]}", *body[1:]]


def is_digitalwires(record: object) -> bool:
    """Whether a JSON object is a digitalwires entry rather than an article as JSON Lines holds it."""
    if not isinstance(record, dict):
        return False
    return str(record.get("format", "")).startswith("digitalwires") or "article_html" in record or "urn" in record


def parse_record(record: object, source: str, line: int | None) -> Article:
    """A JSON Lines record: a digitalwires entry, or an article as ``qa.parsing`` reads it."""
    if is_digitalwires(record):
        return parse_digitalwires(record, source, line)
    return parse_json_record(record, source, line)


def parse_digitalwires(entry: object, source: str, line: int | None = None) -> Article:
    """One digitalwires entry (as dpa's API delivers it) as an article."""
    if not isinstance(entry, dict):
        raise InvalidInputError(source, "a digitalwires entry must be a JSON object", line)
    urn = _clean(entry.get("urn"))
    if not urn:
        raise InvalidInputError(source, "digitalwires entry without 'urn'", line)
    version = entry.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidInputError(source, f"{urn}: 'version' must be a whole number, got {version!r}", line)
    notes = _items(entry, "ednotes")
    correction = next(
        (
            _clean(note.get("ednote"))
            for note in notes
            if isinstance(note, dict) and note.get("role") == _CORRECTION_NOTE and note.get("is_publishable") is True
        ),
        None,
    )
    wire = WireInfo(
        urn=urn,
        version=version,
        version_created=_moment(entry.get("version_created"), source, line, "version_created"),
        pubstatus=_clean(entry.get("pubstatus")) or "usable",
        signal=_qcode_name(_clean(entry.get("signal"))),
        embargoed=_moment(entry.get("embargoed"), source, line, "embargoed"),
        kicker=_clean(entry.get("kicker")),
        byline=_clean(entry.get("byline")),
        correction=correction,
    )
    body = _with_dateline(_clean(entry.get("dateline")), html_paragraphs(_markup(entry.get("article_html"))))
    body += html_paragraphs(_markup(entry.get("infobox_html")))
    subhead = _clean(entry.get("subhead"))
    names = [
        name
        for key in ("dpasubject_names", "geosubject_names", "keyword_names", "genre_names")
        for name in _items(entry, key)
        if isinstance(name, str)
    ]
    return _article(
        source,
        line,
        wire,
        _clean(entry.get("headline")),
        _clean(entry.get("teaser")),
        ([subhead] if subhead else []) + body,
        names,
        _clean(entry.get("creditline")) or "dpa",
        _media_kind(entry),
    )


def _media_kind(entry: dict) -> str:
    """What an entry without text carries: its first association's type (audio, image, video)."""
    associations = _items(entry, "associations")
    first = associations[0] if associations and isinstance(associations[0], dict) else {}
    return str(first.get("type") or "media")


def read_digitalwires_file(path: Path, max_bytes: int = MAX_WIRE_FILE_BYTES) -> Iterator[Article | InvalidInputError]:
    """A ``.json`` file: one entry, a list of entries, or ``{"entries": [...]}`` as the API
    returns them (an article object as JSON Lines holds it is read too); each entry that cannot
    be read fails alone, named by its place in the file."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            yield InvalidInputError(source, f"file too large: {size:,} bytes (limit {max_bytes:,})")
            return
        data = json.loads(decode_text(path.read_bytes(), source, max_bytes))
    except OSError as error:
        yield InvalidInputError(source, f"cannot read: {error.strerror or error}")
        return
    except json.JSONDecodeError as error:
        yield InvalidInputError(source, f"invalid JSON: {error.msg} (line {error.lineno}, column {error.colno})")
        return
    except InvalidInputError as error:
        yield error
        return
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        data = data["entries"]
    if isinstance(data, dict):
        entries: list[tuple[int | None, object]] = [(None, data)]
    elif isinstance(data, list):
        entries = list(enumerate(data, start=1))
    else:
        yield InvalidInputError(source, "a digitalwires file holds an entry (JSON object) or a list of entries")
        return
    if not entries:
        yield InvalidInputError(source, "no entries")
    for number, entry in entries:
        try:
            yield parse_record(entry, source, number)
        except InvalidInputError as error:
            yield error


_G2 = "{http://iptc.org/std/nar/2006-10-01/}"
_XHTML = "{http://www.w3.org/1999/xhtml}"


def _text(element: Element | None) -> str | None:
    return _clean("".join(element.itertext())) if element is not None else None


def _nonpublic(element: Element) -> bool:
    return "nonpublic" in (element.get("pubconstraint") or "")


def parse_news_item(item: Element, source: str) -> Article:
    """One NewsML-G2 ``newsItem`` as an article."""
    urn = _clean(item.get("guid"))
    if not urn:
        raise InvalidInputError(source, "newsItem without 'guid'")
    try:
        version = int(item.get("version") or 1)
    except ValueError:
        raise InvalidInputError(
            source, f"{urn}: 'version' must be a whole number, got {item.get('version')!r}"
        ) from None
    meta = item.find(f"{_G2}itemMeta")
    content = item.find(f"{_G2}contentMeta")
    if meta is None or content is None:
        raise InvalidInputError(source, f"{urn}: newsItem without itemMeta or contentMeta")
    signals = [_qcode_name(s.get("qcode")) for s in meta.findall(f"{_G2}signal")]
    wire_signals = [s for s in signals if s in ("correction", "update")]
    status = meta.find(f"{_G2}pubStatus")
    correction = next(
        (
            _text(note)
            for note in meta.findall(f"{_G2}edNote")
            if note.get("role") == _CORRECTION_NOTE and not _nonpublic(note)
        ),
        None,
    )
    headlines = sorted(content.findall(f"{_G2}headline"), key=_rank)
    headline = _text(headlines[0]) if headlines else None
    kicker = next((_text(h) for h in headlines[1:] if h.get("rank") == "3"), None)
    wire = WireInfo(
        urn=urn,
        version=version,
        version_created=_moment(_text(meta.find(f"{_G2}versionCreated")), source, None, "versionCreated"),
        pubstatus=_qcode_name(status.get("qcode")) if status is not None else "usable",
        signal=wire_signals[0] if wire_signals else None,
        embargoed=_moment(_text(meta.find(f"{_G2}embargoed")), source, None, "embargoed"),
        kicker=kicker,
        byline=_text(content.find(f"{_G2}by")),
        correction=correction,
    )
    teaser = next(
        (_text(d) for d in content.findall(f"{_G2}description") if d.get("role") == "drol:teaser"),
        None,
    )
    names = [
        _text(subject.find(f"{_G2}name"))
        for kind in ("dpatype:dpasubject", "cpnat:geoArea")
        for subject in content.findall(f"{_G2}subject")
        if subject.get("type") == kind
    ]
    names += [_text(k) for k in content.findall(f"{_G2}keyword")]
    names += [_text(g.find(f"{_G2}name")) for g in content.findall(f"{_G2}genre")]
    body: list[str] = []
    for inline in item.iter(f"{_G2}inlineXML"):
        for html in inline.iter(f"{_XHTML}body"):
            body += html_paragraphs(tostring(html, encoding="unicode"))
    if teaser and body and body[0] == teaser:
        body = body[1:]
    body = _with_dateline(_text(content.find(f"{_G2}dateline")), body)
    provider = meta.find(f"{_G2}provider")
    outlet = _text(content.find(f"{_G2}creditline")) or (
        _text(provider.find(f"{_G2}name")) if provider is not None else None
    )
    return _article(source, None, wire, headline, teaser, body, [n for n in names if n], outlet, _item_class(meta))


def _rank(element: Element) -> int:
    rank = element.get("rank") or "1"
    return int(rank) if rank.isdigit() else 1


def _item_class(meta: Element) -> str:
    item_class = meta.find(f"{_G2}itemClass")
    return _qcode_name(item_class.get("qcode")) if item_class is not None else "media"


def read_newsml_file(path: Path, max_bytes: int = MAX_WIRE_FILE_BYTES) -> Iterator[Article | InvalidInputError]:
    """An ``.xml`` file holding a ``newsMessage`` (one or more ``newsItem``) or a ``newsItem``."""
    source = str(path)
    try:
        if path.stat().st_size > max_bytes:
            yield InvalidInputError(source, f"file too large: {path.stat().st_size:,} bytes (limit {max_bytes:,})")
            return
        root = SafeXML.parse(str(path), forbid_dtd=True).getroot()
    except OSError as error:
        yield InvalidInputError(source, f"cannot read: {error.strerror or error}")
        return
    except DefusedXmlException as error:
        yield InvalidInputError(
            source, f"unsafe XML refused ({type(error).__name__}: DTDs and entities are not allowed)"
        )
        return
    except SafeXML.ParseError as error:
        yield InvalidInputError(source, f"invalid XML: {error}")
        return
    if root.tag == f"{_G2}newsItem":
        items = [root]
    elif root.tag == f"{_G2}newsMessage":
        items = list(root.iter(f"{_G2}newsItem"))
    else:
        yield InvalidInputError(source, f"not NewsML-G2: the root element is {root.tag!r}, not newsMessage or newsItem")
        return
    if not items:
        yield InvalidInputError(source, "newsMessage without a newsItem")
    for number, item in enumerate(items, start=1):
        where = f"{source} item {number}" if len(items) > 1 else source
        try:
            yield parse_news_item(item, where)
        except InvalidInputError as error:
            yield error
