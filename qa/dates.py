"""Dates as readers give them: calendar days in Berlin time, turned into exact bounds."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from qa.parsing import BERLIN
from qa.records import TimeWindow


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """``since``/``until`` covering whole days: from 00:00 of ``first`` to the end of ``last``, Berlin time."""
    since = datetime.combine(first, time.min, BERLIN) if first else None
    until = datetime.combine(last, time.max, BERLIN) if last else None
    return since, until


MONTHS = {
    **{
        name: number
        for number, names in enumerate(
            [
                ("januar", "jänner", "jaenner", "january", "jan"),
                ("februar", "feber", "february", "feb"),
                ("märz", "maerz", "march", "mar"),
                ("april", "apr"),
                ("mai", "may"),
                ("juni", "june", "jun"),
                ("juli", "july", "jul"),
                ("august", "aug"),
                ("september", "sept", "sep"),
                ("oktober", "october", "okt", "oct"),
                ("november", "nov"),
                ("dezember", "december", "dez", "dec"),
            ],
            start=1,
        )
        for name in names
    }
}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_YEAR = r"(?:19|20)\d\d"


def _month_last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _month_window(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), _month_last_day(year, month)


def _previous_month(day: date) -> tuple[int, int]:
    return (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)


_RELATIVE: list[tuple[re.Pattern[str], Callable[[date, re.Match[str]], tuple[date, date]], str]] = [
    (re.compile(r"\b(?:today|heute)\b", re.I), lambda d, m: (d, d), "on {first:%d.%m.%Y}"),
    (re.compile(r"\b(?:yesterday|gestern)\b", re.I), lambda d, m: (d - timedelta(1),) * 2, "on {first:%d.%m.%Y}"),
    (
        re.compile(r"\b(?:(?:in\s+)?the\s+)?(?:last|past|letzten|vergangenen)\s+(\d{1,3})\s+(?:days|tagen?)\b", re.I),
        lambda d, m: (d - timedelta(int(m.group(1)) - 1), d),
        "from {first:%d.%m.%Y} to {last:%d.%m.%Y}",
    ),
    (
        re.compile(r"\b(?:this|diese[rn]?)\s+(?:week|woche)\b", re.I),
        lambda d, m: (d - timedelta(d.weekday()), d),
        "from {first:%d.%m.%Y} to {last:%d.%m.%Y}",
    ),
    (
        re.compile(r"\b(?:last|previous|letzte[rn]?|vergangene[rn]?|vorige[rn]?)\s+(?:week|woche)\b", re.I),
        lambda d, m: (d - timedelta(d.weekday() + 7), d - timedelta(d.weekday() + 1)),
        "from {first:%d.%m.%Y} to {last:%d.%m.%Y}",
    ),
    (
        re.compile(r"\b(?:this|diese[nm]?)\s+(?:month|monat)\b", re.I),
        lambda d, m: (d.replace(day=1), d),
        "from {first:%d.%m.%Y} to {last:%d.%m.%Y}",
    ),
    (
        re.compile(r"\b(?:last|previous|letzte[nm]?|vergangene[nm]?|vorige[nm]?)\s+(?:month|monat)\b", re.I),
        lambda d, m: _month_window(*_previous_month(d)),
        "in {first:%m/%Y}",
    ),
    (
        re.compile(r"\b(?:this|diese[sm]?)\s+(?:year|jahr)\b", re.I),
        lambda d, m: (date(d.year, 1, 1), d),
        "from {first:%d.%m.%Y} to {last:%d.%m.%Y}",
    ),
    (
        re.compile(r"\b(?:last|previous|letzte[sm]?|vergangene[sm]?|vorige[sm]?)\s+(?:year|jahr)\b", re.I),
        lambda d, m: (date(d.year - 1, 1, 1), date(d.year - 1, 12, 31)),
        "in {first:%Y}",
    ),
]
_MONTH = re.compile(rf"\b(?:(?:in|im)\s+)?({_MONTH_NAMES})\.?(?:\s+({_YEAR}))?\b", re.I)
_SINCE = re.compile(rf"\b(?:since|seit)\s+(?:(?:dem\s+)?({_MONTH_NAMES})\.?\s+)?({_YEAR})\b", re.I)
_IN_YEAR = re.compile(rf"\b(?:in|im(?:\s+jahr)?|during|während)\s+({_YEAR})\b", re.I)
_BARE_YEAR = re.compile(rf"\b({_YEAR})\b")


MONTH_REPORTED_DAYS = 92
"""How long after a month the question names its reports are searched (see ``TimeWindow.reported_days``):
of the news dev set's questions whose month filter left out the gold article, the report came 42,
48 and 80 days after the month (statistics, quarterly results); others a year later, which no
window of weeks reaches. 45 and 92 days gave the same retrieval there; 92 reads a quarter's reports."""


def time_window(question: str, anchor: datetime | None) -> TimeWindow | None:
    """The time ``question`` names, read relative to ``anchor`` (the newest article: an
    archive's "last week" is the week before its newest report, not before today).

    Relative times ("last week", "im Dezember", "gestern"), months and "since" restrict;
    a year on its own ("in 2024", "the 2014 World Cup") only lifts passages from that year,
    since a question about a year is often answered by a report written later.
    """
    today = anchor.astimezone(BERLIN).date() if anchor else None
    if today:
        for pattern, bounds, label in _RELATIVE:
            match = pattern.search(question)
            if match:
                first, last = bounds(today, match)
                return TimeWindow(*day_bounds(first, last), match.group(), label.format(first=first, last=last))
    match = _SINCE.search(question)
    if match:
        month = MONTHS[match.group(1).lower()] if match.group(1) else 1
        first = date(int(match.group(2)), month, 1)
        return TimeWindow(day_bounds(first, None)[0], None, match.group(), f"since {first:%d.%m.%Y}")
    match = _MONTH.search(question)
    if match and (match.group(2) or today) and (match.group(2) or match.group().lower().startswith(("in", "im"))):
        month = MONTHS[match.group(1).lower()]
        latest_year = today.year if today and month <= today.month else (today.year - 1 if today else 0)
        year = int(match.group(2)) if match.group(2) else latest_year
        first, last = _month_window(year, month)
        return TimeWindow(
            *day_bounds(first, last), match.group(), f"in {first:%m/%Y}", reported_days=MONTH_REPORTED_DAYS
        )
    match = _IN_YEAR.search(question) or _BARE_YEAR.search(question)
    if match:
        year = int(match.group(1))
        first, last = date(year, 1, 1), date(year, 12, 31)
        return TimeWindow(*day_bounds(first, last), match.group(), f"published in {year} ranked first", restrict=False)
    return None
