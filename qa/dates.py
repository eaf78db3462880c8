"""Dates as readers give them: calendar days in Berlin time, turned into exact bounds."""

from __future__ import annotations

from datetime import date, datetime, time

from qa.parsing import BERLIN


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """``since``/``until`` covering whole days: from 00:00 of ``first`` to the end of ``last``, Berlin time."""
    since = datetime.combine(first, time.min, BERLIN) if first else None
    until = datetime.combine(last, time.max, BERLIN) if last else None
    return since, until
