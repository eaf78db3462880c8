"""How a question relates to time, and how that moves passages in the ranking.

A wire archive reports on one subject for years: "Who leads the Ukrainian delegation?" was
David Arachamia in March 2022 and Rustem Umjerow in 2025, and both stories match the words
equally well. So a question is read as one of

- **named**: it names a time ("im Dezember 2025", "in 2022"), applied as a filter or
  preference by ``qa.dates``;
- **current**: it asks for a state in the present tense ("Who leads …", "Wer ist Trainer …",
  "How many beds does … have"): the newest report is wanted, so older passages lose a little
  (:class:`TimeWeights.recency`) and the newest period is always searched as well;
- **event**: it asks about something that happened (past tense, "Wer übergab …", "Who won …"):
  the period of that event is wanted, read from the burst of publication dates among the best
  passages (QANA's idea), and passages from that period rank up;
- **timeless**: none of these.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from qa.records import Hit
from qa.words import Language


class TimeRelation(StrEnum):
    NAMED = "named"
    CURRENT = "current"
    EVENT = "event"
    TIMELESS = "timeless"

    @property
    def label(self) -> str:
        return {
            TimeRelation.NAMED: "the time it names",
            TimeRelation.CURRENT: "the present state: newest reports first",
            TimeRelation.EVENT: "a past event: the period most of its reports fall in",
            TimeRelation.TIMELESS: "no time in particular",
        }[self]


_ENGLISH_PAST = re.compile(
    r"\b(?:was|were|did|had|became|won|lost|died|said|made|took|gave|led|held|got|went|came|began|fell|rose|"
    r"left|met|sold|bought|found|told|saw|ran|paid|chose|wrote|spoke|shot|struck|fled|built|sent|brought|"
    r"broke|stood|hit|beat|threw|drew|flew|grew|knew|caught|taught|fought|sought|thought|meant|kept|"
    r"ago|former|formerly|previously|once)\b",
    re.IGNORECASE,
)
_ENGLISH_PRESENT = re.compile(
    r"\b(?:is|are|'s|am|does|do|has|have|leads|heads|runs|chairs|coaches|governs|owns|holds|manages|directs|"
    r"commands|lives|plays|works|serves|represents|negotiates|currently|now|today|still|current|presently)\b",
    re.IGNORECASE,
)
_ENGLISH_NOT_PAST = frozenset(
    "need based bed red shed seed speed feed breed hundred united related embed naked sacred wicked "
    "indeed proceed exceed succeed".split()
)
_GERMAN_PAST = re.compile(
    r"\b(?:war|waren|warst|wurde|wurden|worden|hatte|hatten|gab|starb|starben|gewann|gewannen|verlor|verloren|"
    r"übergab|nahm|nahmen|kam|kamen|ging|gingen|fiel|fielen|stieg|stiegen|traf|trafen|hielt|hielten|fand|"
    r"fanden|sprach|schrieb|verließ|trat|traten|floh|flohen|brachte|brachten|griff|griffen|sah|sahen|saß|saßen|"
    r"stand|standen|sank|sanken|bekam|bekamen|flog|flogen|betraf|zog|zogen|rief|riefen|lief|blieb|blieben|"
    r"schlug|warf|wies|bot|boten|erhielt|erhielten|begann|begannen|damals|ehemalige[rnms]?|früher|"
    r"einst|zuvor)\b",
    re.IGNORECASE,
)
_GERMAN_PRESENT = re.compile(
    r"\b(?:ist|sind|bin|leitet|leiten|führt|führen|hat|haben|gibt|regiert|trainiert|besitzt|amtiert|heißt|"
    r"vertritt|verhandelt|verhandeln|spielt|arbeitet|lebt|derzeit|aktuell|jetzt|heute|noch|momentan|zurzeit)\b",
    re.IGNORECASE,
)
_GERMAN_NOT_PAST = frozenset(
    "erste letzte beste meiste neueste zweite dritte vierte fünfte halbe heute weite breite mitte seite "
    "leute rente quote grenze pleite elite stunde minute arte gute".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:'[a-z]+)?", re.UNICODE)


def _is_german_past_form(word: str) -> bool:
    """A weak verb's past ("forderte", "nannten") or a participle ("gewonnen", "gegründet")."""
    lowered = word.lower()
    if word[:1].isupper() or lowered in _GERMAN_NOT_PAST or len(lowered) < 5:
        return False
    if lowered.startswith("ge") and len(lowered) >= 6 and lowered.endswith(("t", "en")):
        return True
    return lowered.endswith(("te", "ten")) and not lowered.endswith(("ste", "sten"))


def _is_english_past_form(word: str) -> bool:
    lowered = word.lower()
    return len(lowered) >= 5 and lowered.endswith("ed") and lowered not in _ENGLISH_NOT_PAST


def time_relation(text: str, language: Language, names_time: bool) -> TimeRelation:
    """How ``text`` relates to time: ``names_time`` when the question names one (``qa.dates``
    read it), else by its tense. A past form anywhere ("Who has won", "Wer ist zurückgetreten")
    makes it an event; a present verb of state without one makes it a current state."""
    if names_time:
        return TimeRelation.NAMED
    tokens = _WORD.findall(text)[1:]
    if language is Language.GERMAN:
        past = bool(_GERMAN_PAST.search(text)) or any(_is_german_past_form(word) for word in tokens)
        present = bool(_GERMAN_PRESENT.search(text))
    else:
        past = bool(_ENGLISH_PAST.search(text)) or any(_is_english_past_form(word) for word in tokens)
        present = bool(_ENGLISH_PRESENT.search(text))
    if past:
        return TimeRelation.EVENT
    return TimeRelation.CURRENT if present else TimeRelation.TIMELESS


@dataclass(frozen=True)
class TimeWeights:
    """How much time moves a passage; measured by ``bench/tune_time.py`` on the news dev set (see
    bench/RESULTS.md, "The right story among thousands"). Recency and the newest period were
    measured against none only: on the dev set (few questions there ask for a current state) they
    cost one or two English short questions their story at rank 1; with the seed among 3,000 older
    reports they bring the Umjerow passage from outside the first 50 to third."""

    recency: float = 0.08
    """The most a current-state question's passage loses for its age: it loses
    ``recency · (1 − exp(−age / recency_scale))``, age counted back from the archive's newest article."""
    recency_scale_days: float = 365.0
    newest_period_days: float = 90.0
    """A current-state question is always also searched among the articles of this many days
    before the newest: a passage that states today's state is not lost among years of older ones."""
    newest_candidates: int = 5
    burst: float = 0.08
    """The most an event question's passage gains for standing in the burst of its publication dates:
    on the news dev set, 0.08 answered from the right story a little more often than 0.04 or none,
    on both halves of its articles (``bench/tune_time.py``)."""
    burst_days: float = 10.0
    """The width of the burst: how far apart two reports of one event are taken to be."""
    burst_window: int = 20
    """How many of the best passages the burst is read from."""


def recency_penalty(published: datetime | None, newest: datetime | None, weights: TimeWeights) -> float:
    """What a current-state question's passage loses for its age (0 for an undated one)."""
    if published is None or newest is None:
        return 0.0
    age_days = max((newest - published).total_seconds() / 86400, 0.0)
    return weights.recency * (1 - math.exp(-age_days / weights.recency_scale_days))


def burst_shares(hits: Sequence[Hit], weights: TimeWeights) -> list[float]:
    """How much of the best passages' weight (each by its rank, 1/(1+rank)) stands near each
    passage's publication date, as a share of the densest date's. An undated passage (reference
    text, not news) is not moved against the others: its share is 1."""
    window = [hit for hit in hits[: weights.burst_window] if hit.published is not None]
    if len(window) < 3:
        return [0.0] * len(hits)
    ranked_weight = [1 / (1 + rank) for rank in range(len(window))]

    def density(moment: datetime) -> float:
        return sum(
            weight * math.exp(-abs((moment - other.published).total_seconds()) / 86400 / weights.burst_days)
            for weight, other in zip(ranked_weight, window, strict=True)
            if other.published is not None
        )

    densities = [density(hit.published) if hit.published is not None else None for hit in hits]
    peak = max(d for d in densities if d is not None)
    return [1.0 if d is None else d / peak for d in densities]


def newest_period(newest: datetime | None, weights: TimeWeights) -> tuple[datetime, datetime] | None:
    if newest is None:
        return None
    return newest - timedelta(days=weights.newest_period_days), newest + timedelta(days=1)


def timed(hits: Sequence[Hit], relation: TimeRelation, newest: datetime | None, weights: TimeWeights) -> list[Hit]:
    """``hits`` rescored for the question's relation to time and sorted again, best first."""
    if relation is TimeRelation.CURRENT and weights.recency > 0:
        moved = [replace(hit, score=hit.score - recency_penalty(hit.published, newest, weights)) for hit in hits]
    elif relation is TimeRelation.EVENT and weights.burst > 0:
        shares = burst_shares(hits, weights)
        moved = [replace(hit, score=hit.score + weights.burst * share) for hit, share in zip(hits, shares, strict=True)]
    else:
        return list(hits)
    return sorted(moved, key=lambda hit: hit.score, reverse=True)
