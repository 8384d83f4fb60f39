"""The working-day calendar of pace and landing forecasts (着地見込み).

A working day is a weekday (Monday–Friday) that is not a holiday. The default holidays are
Japan's public holidays (国民の祝日, 振替休日 and 国民の休日) from the ``jpholiday`` package,
which matches the Cabinet Office's list for 2026 and 2027 (research in docs/team.md);
``Calendar(kind="weekdays")`` counts Monday–Friday only, and ``extra_holidays`` adds a
company's own closures (年末年始, お盆, 創立記念日). The calendar is a setting: ``kpitree import``
and ``kpitree review`` take ``--calendar jp|weekdays`` and ``--holidays FILE``.

>>> cal = Calendar()
>>> cal.working_days(dt.date(2026, 5, 1), dt.date(2026, 5, 31))   # 5/4, 5/5, 5/6 off
18
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CALENDAR_KINDS = ("jp", "weekdays")


@functools.cache
def japanese_holidays(year: int) -> frozenset[dt.date]:
    """Japan's public holidays of ``year`` (jpholiday: 祝日, 振替休日, 国民の休日)."""
    import jpholiday

    return frozenset(day for day, _ in jpholiday.year_holidays(year))


@dataclass(frozen=True)
class Calendar:
    """Working days: weekdays minus the holidays of ``kind`` and ``extra_holidays``."""

    kind: str = "jp"
    extra_holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.kind not in CALENDAR_KINDS:
            raise ValueError(f"calendar must be one of {', '.join(CALENDAR_KINDS)}, not {self.kind!r}")

    def holidays(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Holidays between ``start`` and ``end`` (both included)."""
        days = set(d for d in self.extra_holidays if start <= d <= end)
        if self.kind == "jp":
            for year in range(start.year, end.year + 1):
                days |= {d for d in japanese_holidays(year) if start <= d <= end}
        return sorted(days)

    def working_days(self, start: dt.date, end: dt.date) -> int:
        """Working days from ``start`` to ``end``, both included (0 when ``end`` is before ``start``)."""
        if end < start:
            return 0
        return int(np.busday_count(start, end + dt.timedelta(days=1), holidays=self.holidays(start, end)))

    def is_working_day(self, day: dt.date) -> bool:
        return self.working_days(day, day) == 1


def read_holidays(path: str | Path) -> frozenset[dt.date]:
    """Company holidays from a text or CSV file: one date per line (first column), any form ``parse_date`` reads.

    Blank lines and lines starting with ``#`` are skipped; a header line that is no date is
    skipped too. Raises ValueError naming the first line that is not a date.
    """
    from .jp import parse_date, read_text

    days: set[dt.date] = set()
    for number, line in enumerate(read_text(Path(path)).splitlines(), start=1):
        cell = line.split(",")[0].strip().strip('"')
        if not cell or cell.startswith("#"):
            continue
        try:
            day = parse_date(cell)
        except ValueError:
            if number == 1 and not days:  # a header such as 日付 or date
                continue
            raise ValueError(f"{path}, line {number}: not a date: {cell!r}") from None
        if day is not None:
            days.add(day)
    return frozenset(days)


def make_calendar(kind: str = "jp", holidays: str | Path | Iterable[dt.date] | None = None) -> Calendar:
    """A :class:`Calendar` from the command line's ``--calendar`` and ``--holidays``."""
    extra: frozenset[dt.date] = frozenset()
    if isinstance(holidays, (str, Path)):
        extra = read_holidays(holidays)
    elif holidays is not None:
        extra = frozenset(holidays)
    return Calendar(kind, extra)
