"""The nouns passed between stages: articles, teasers, chunks, hits, answers, reports."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.question import Question

PARAGRAPH_SEPARATOR = "\n\n"


def stable_hash(*parts: object) -> str:
    payload = json.dumps(parts, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Span:
    """Character offsets ``[start, end)`` into an article body."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"invalid span [{self.start}, {self.end})")

    def shift(self, offset: int) -> Span:
        return Span(self.start + offset, self.end + offset)


@dataclass(frozen=True)
class Teaser:
    """A 'Weitere Meldungen' teaser: a pointer to another article, stored on its own."""

    title: str
    text: str
    section: str | None
    published: datetime | None

    @property
    def id(self) -> str:
        published = self.published.isoformat() if self.published else None
        return "teaser:" + stable_hash(self.text, published)[:16]


@dataclass(frozen=True)
class WireInfo:
    """What an agency's delivery says of one version of a story (dpa digitalwires, NewsML-G2)."""

    urn: str
    version: int
    version_created: datetime | None = None
    pubstatus: str = "usable"
    """``usable``, ``canceled`` or ``withheld``."""
    signal: str | None = None
    """``correction`` or ``update`` where the agency marks the version so."""
    embargoed: datetime | None = None
    """Not to be published before this time."""
    kicker: str | None = None
    byline: str | None = None
    correction: str | None = None
    """The public note saying what a correction changed."""

    @property
    def corrected(self) -> bool:
        return self.signal == "correction"

    @property
    def withdrawn(self) -> bool:
        """Canceled or withheld by the agency: kept on record, never searched or shown."""
        return self.pubstatus in ("canceled", "withheld")


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    published: datetime | None
    """Berlin time; ``None`` where the file gives no date."""
    paragraphs: tuple[str, ...]
    """The body, paragraph by paragraph, as repaired."""
    tags: tuple[str, ...] = ()
    source: str | None = None
    url: str | None = None
    source_path: str = ""
    teasers: tuple[Teaser, ...] = ()
    repairs: int = 0
    wire: WireInfo | None = None

    @property
    def body(self) -> str:
        return PARAGRAPH_SEPARATOR.join(self.paragraphs)

    @property
    def content_hash(self) -> str:
        """Identifies this version of the article; teasers and provenance do not count, a wire
        version's facts (version, status, signal, embargo) do."""
        published = self.published.isoformat() if self.published else None
        parts: tuple[object, ...] = (self.title, published, self.tags, self.source, self.url, self.paragraphs)
        if self.wire is not None:
            parts += (asdict(self.wire),)
        return stable_hash(*parts)


class ChunkKind(StrEnum):
    ARTICLE = "article"
    TEASER = "teaser"


@dataclass(frozen=True)
class Chunk:
    """A piece of an article body (or a whole teaser) as it is embedded and indexed."""

    owner_id: str
    position: int
    text: str
    span: Span
    embed_text: str
    kind: ChunkKind = ChunkKind.ARTICLE

    @property
    def text_hash(self) -> str:
        return stable_hash(self.embed_text)


@dataclass(frozen=True)
class Copy:
    """Another printing of a story: where and when it appeared."""

    article_id: str
    title: str
    outlet: str | None
    published: datetime | None

    def describe(self) -> str:
        when = f"{self.published:%d.%m.%Y}" if self.published else "undated"
        return f"{self.outlet or 'unknown outlet'} {when}"


def published_label(moment: datetime | None, day_format: str = "%Y-%m-%d") -> str:
    """A publication time as shown: the day and the time, or the day alone where the source
    gave only a date (stored as midnight); "undated" without one."""
    if moment is None:
        return "undated"
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return f"{moment:{day_format}}"
    return f"{moment:{day_format} %H:%M}"


def more_versions(copies: Sequence[Copy], shown: int = 3) -> str:
    """ "2 more versions: n-tv 12.01.2025, Welt 12.01.2025": a story's other copies in one line."""
    listed = ", ".join(copy.describe() for copy in copies[:shown]) + (" …" if len(copies) > shown else "")
    return f"{len(copies)} more version{'s' if len(copies) > 1 else ''}: {listed}"


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk, with what a reader needs to judge and cite it.

    ``score`` is what it was ranked by; ``similarity`` is the cosine of chunk and question,
    the scale on which the relevance threshold is set.
    """

    chunk_id: int
    article_id: str
    title: str
    published: datetime | None
    tags: tuple[str, ...]
    text: str
    span: Span
    score: float
    similarity: float = 0.0
    kind: ChunkKind = ChunkKind.ARTICLE
    outlet: str | None = None
    """The agency or publisher the article came from ("dpa", "dpa.de")."""
    wire: WireInfo | None = None
    copies: tuple[Copy, ...] = ()
    """The other articles of the same story (near-identical text, see ``qa.stories``), oldest
    first: a search shows the story once, by its best-matching copy."""

    @property
    def is_teaser(self) -> bool:
        return self.kind is ChunkKind.TEASER

    @property
    def origin(self) -> str:
        """Where the passage comes from, in words: outlet, version, corrected or updated."""
        parts = [self.outlet] if self.outlet else []
        wire = self.wire
        if wire is not None:
            stamp = f", {wire.version_created:%d.%m.%Y %H:%M}" if wire.version_created else ""
            if wire.signal in ("correction", "update"):
                word = "corrected" if wire.corrected else "updated"
                parts.append(f"{word} (version {wire.version}{stamp})")
            else:
                parts.append(f"version {wire.version}")
        return " · ".join(parts)


@dataclass(frozen=True)
class TimeWindow:
    """A time a question names, as exact bounds; ``restrict`` windows filter, the others only
    lift the passages published in them."""

    since: datetime | None
    until: datetime | None
    phrase: str
    label: str
    restrict: bool = True
    reported_days: int = 0
    """Days after ``until`` that are searched too, the window's own ranked first: a month's events
    and figures are often reported weeks later (quarterly results, statistics, court rulings)."""

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        return (self.since is None or moment >= self.since) and (self.until is None or moment <= self.until)

    def describe(self) -> str:
        later = f", and reports of the {self.reported_days} days after" if self.reported_days and self.restrict else ""
        return f'{self.label}{later} (read from "{self.phrase}")'


LIKELY = 0.8
"""From this confidence an answer is called likely right: on the news dev set, 91 % of the 60
answers shown at 0.8 or more were right, 78 % of those at 0.7-0.8 (see ``qa.support``)."""


@dataclass(frozen=True)
class SupportSignals:
    """What the support stage (``qa.support``) weighs to decide whether an answer is given."""

    reader: float
    """The reader's log-odds of its span over "this passage does not answer"."""
    similarity: float
    """The cosine of the answer's passage and the question."""
    rank: float
    """The answer's passage's place among the passages read (0: the best)."""
    coverage: float
    """The share of the question's words, weighed by their rarity in the archive, in the answer's article."""
    agreement: float
    """The share of the other passages read whose span is the same answer."""
    kind: float = 1.0
    """1 where the short answer is of the kind a who-, when- or how-many-question asks for (a
    name, a time, a number), else 0; 1 for other questions."""
    absent: tuple[str, ...] = ()
    """The question's names and numbers that the answer's article lacks."""


@dataclass(frozen=True)
class DatedAnswer:
    """One answer of an answer over time: what the reports of one date say, and where."""

    short: str
    source: Hit
    published: datetime | None
    stories: int
    """How many stories among the passages read give this answer."""


@dataclass(frozen=True)
class Answer:
    """The short answer, the sentence that holds it, where it stands, and the ranked sources.

    ``short`` is the span the reader found (``body[short_span] == short`` in the body of
    ``source``), ``short_score`` the reader's confidence in it (0-1); all three are None when no
    passage answers, and ``sentence`` is then the best sentence by the other signals.
    ``sentence`` is None when nothing relevant was found; ``sources`` then still holds the
    closest passages, for a reader who wants to see what fell short. ``analysis`` is the
    question as it was read (:class:`~qa.question.Question`): its language and terms, the
    earlier conversation a follow-up was read with (``context``), the time it named as it was
    applied (``when``).

    ``declined`` says, in words, why no answer is given ("no article names “Brokstedt”"; nothing
    relevant found); ``sentence``, ``source`` and ``short`` are then None and ``sources`` holds the
    closest passages. ``confidence`` (0-1) is how likely the short answer is right, as measured on
    the news dev set (see ``qa.support``); ``signals`` are what it was computed from.

    ``timeline`` holds, newest first, the answers the passages read give as of different dates
    ("Rustem Umjerow" in 2025, "David Arachamia" in March 2022), each with its source; it is
    empty when they agree (see ``qa.gathering``).
    """

    question: str
    sentence: str | None
    source: Hit | None
    span: Span | None
    score: float
    sources: tuple[Hit, ...] = ()
    analysis: Question | None = field(default=None, repr=False)
    short: str | None = None
    short_span: Span | None = None
    short_score: float | None = None
    confidence: float | None = None
    declined: str | None = None
    signals: SupportSignals | None = None
    timeline: tuple[DatedAnswer, ...] = ()

    @property
    def found(self) -> bool:
        return self.sentence is not None

    @property
    def context(self) -> str | None:
        return self.analysis.context if self.analysis else None

    @property
    def certainty(self) -> str | None:
        """The confidence in words: "likely right (82 %)" from :data:`LIKELY`, else "uncertain (55 %)"."""
        if self.confidence is None or self.short is None:
            return None
        word = "likely right" if self.confidence >= LIKELY else "uncertain"
        return f"{word} ({self.confidence:.0%})"

    @property
    def earlier(self) -> tuple[DatedAnswer, ...]:
        """The other answers of :attr:`timeline`, published before the given answer's source."""
        return self._dated(before=True)

    @property
    def newer(self) -> tuple[DatedAnswer, ...]:
        """The other answers of :attr:`timeline`, published after the given answer's source: a
        newer report says otherwise, which a reader must see beside the answer."""
        return self._dated(before=False)

    def _dated(self, before: bool) -> tuple[DatedAnswer, ...]:
        if self.source is None or self.source.published is None:
            return ()
        own, article = self.source.published, self.source.article_id
        return tuple(
            entry
            for entry in self.timeline
            if entry.published is not None
            and entry.source.article_id != article
            and (entry.published < own if before else entry.published > own)
        )

    @property
    def when(self) -> TimeWindow | None:
        return self.analysis.when if self.analysis else None

    def to_json(self) -> str:
        """The whole answer as JSON: spans as ``{"start", "end"}``, times in ISO 8601; the
        question as it was read under ``analysis``, its lines for a person under ``read_as``."""
        data = asdict(self)
        data["context"], data["when"] = self.context, asdict(self.when) if self.when else None
        if self.analysis is not None:
            data["analysis"].pop("vector")
            data["analysis"]["read_as"] = self.analysis.describe()
        return json.dumps(data, ensure_ascii=False, indent=2, default=_json_value)


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class ImportStatus(StrEnum):
    IMPORTED = "imported"
    UNCHANGED = "unchanged"
    UPDATED = "updated"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Nothing to import in it (a wire service's image or audio entry)."""


@dataclass(frozen=True)
class ImportOutcome:
    """What became of one article (or one unreadable file or line)."""

    source: str
    status: ImportStatus
    article_id: str | None = None
    title: str | None = None
    reason: str | None = None
    repairs: int = 0


@dataclass
class ImportReport:
    outcomes: list[ImportOutcome] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    teasers_added: int = 0
    seconds: float = 0.0

    def count(self, status: ImportStatus) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status is status)

    @property
    def imported(self) -> int:
        return self.count(ImportStatus.IMPORTED)

    @property
    def unchanged(self) -> int:
        return self.count(ImportStatus.UNCHANGED)

    @property
    def updated(self) -> int:
        return self.count(ImportStatus.UPDATED)

    @property
    def failed(self) -> int:
        return self.count(ImportStatus.FAILED)

    @property
    def skipped(self) -> int:
        return self.count(ImportStatus.SKIPPED)

    @property
    def failures(self) -> list[ImportOutcome]:
        return [o for o in self.outcomes if o.status is ImportStatus.FAILED]

    def summary(self) -> str:
        return (
            f"{self.imported} imported, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.failed} failed{f', {self.skipped} skipped' if self.skipped else ''}; "
            f"{self.chunks_embedded} chunks embedded, "
            f"{self.chunks_reused} reused, {self.teasers_added} new teasers"
        )
