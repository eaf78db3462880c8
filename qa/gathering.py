"""Answers gathered across passages: equal spans grouped, and the answers of different dates.

The reader finds one span in each passage it reads. In a wire archive several reports state
the same answer in their own words ("Rustem Umjerow", "Umjerow"); RankQA found that an answer
read in several passages is often the right one where the single best span is not. So the
spans are grouped by the answer they name and a group is chosen by its evidence: its best
span's weight and, by ``ReadingChoice.story_weight``, how many stories give it (measured, and
weighed 0 for now). Groups whose newest reports differ in date are an answer over time:
"Umjerow (2025), earlier Arachamia (2022)".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from qa.reading import Reading
from qa.records import DatedAnswer, Hit
from qa.words import words


def published_order(published: datetime | None) -> float:
    """A sort key for publication times, undated last."""
    return published.timestamp() if published else float("-inf")


def answer_words(text: str | None) -> frozenset[str]:
    return frozenset(word.casefold() for word in words(text or ""))


def same_answer(one: str | None, other: str | None) -> bool:
    """Whether two short answers name the same thing: one's words all stand in the other's
    ("Umjerow" and "Rustem Umjerow", "15" and "15 europäische Staaten")."""
    a, b = answer_words(one), answer_words(other)
    return bool(a and b) and (a <= b or b <= a)


@dataclass(frozen=True)
class Option:
    """One passage's span as a candidate answer, with the weight the reading choice gave it."""

    weight: float
    reading: Reading
    sentence: int
    """The index of the candidate sentence that holds the span."""
    hit: Hit


@dataclass(frozen=True)
class AnswerGroup:
    """Options that name one answer, best first."""

    options: tuple[Option, ...]

    @property
    def best(self) -> Option:
        return self.options[0]

    @property
    def stories(self) -> int:
        return len({option.hit.article_id for option in self.options})

    @property
    def newest(self) -> Option:
        """The option from the most recently published passage (undated ones last)."""
        return max(self.options, key=lambda option: published_order(option.hit.published))

    def evidence(self, story_weight: float) -> float:
        """The best option's weight, and ``story_weight`` for each further story giving the answer."""
        return self.best.weight + story_weight * (self.stories - 1)


def grouped(options: Sequence[Option]) -> list[AnswerGroup]:
    """``options`` grouped by :func:`same_answer`, each group's options by weight, best first, and
    the groups in the order of their best option's weight."""
    groups: list[list[Option]] = []
    for option in sorted(options, key=lambda option: option.weight, reverse=True):
        home = next((group for group in groups if same_answer(group[0].reading.text, option.reading.text)), None)
        if home is None:
            groups.append([option])
        else:
            home.append(option)
    return [AnswerGroup(tuple(group)) for group in groups]


def answer_timeline(groups: Sequence[AnswerGroup], chosen: Option) -> tuple[DatedAnswer, ...]:
    """The answers of ``groups`` newest first, one a day (the chosen answer on its day, else the
    best-read), each as of its newest report (the chosen one as of the ``chosen`` option);
    empty when the dated answers all fall on one day."""

    def dated(group: AnswerGroup) -> DatedAnswer:
        option = chosen if chosen in group.options else group.newest
        return DatedAnswer(option.reading.text or "", option.hit, option.hit.published, group.stories)

    answers = [dated(group) for group in groups if group.newest.hit.published is not None]
    by_day: dict[object, DatedAnswer] = {}
    for answer in answers:
        if answer.published is None:
            continue
        day = answer.published.date()
        if day not in by_day or answer.source is chosen.hit:
            by_day[day] = answer
    if len(by_day) < 2 or not any(answer.source is chosen.hit for answer in by_day.values()):
        return ()
    return tuple(sorted(by_day.values(), key=lambda answer: published_order(answer.published), reverse=True))
