"""The team's imported data as the workbook keeps it: measures per week and month and member, and what they cover.

:class:`TeamData` is what the member sheet, the reviews and the pace read — built by
``kpitree import`` from the exports, and read back from the workbook's data sheet (ja 集計データ,
en Data) by ``kpitree review`` and the ribbon, so a review needs the workbook only.

The data sheet, written as data (never a formula): rows 1–3 a title and a note; a block of
settings, one per row — column A the key (``data_from``, ``data_through``, ``calendar``,
``holidays``, ``mapping``, ``missing:<measure>`` …), column B its label, column C its value; then
the table: a row of labels, a row of ids (column A ``grain``: ``grain``, ``period``, ``member``
and the measures of :data:`~.measures.MEASURES`) and one row per grain (``week``, ``month``),
period (``2026-W15``, ``2026-04``) and member ("" for records with no member).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .calendar import Calendar
from .measures import MEASURES, NEEDS, Support, month_bounds, week_bounds

if TYPE_CHECKING:
    import pandas as pd

TABLE_MARKER = "grain"
TABLE_COLUMNS = ("grain", "period", "member", *MEASURES)
SETTING_KEYS = ("data_from", "data_through", "calendar", "holidays", "mapping", "sources", "members")


@dataclass
class TeamData:
    """Measures per (grain, period, member) and the facts that go with them."""

    table: pd.DataFrame  # columns TABLE_COLUMNS
    data_from: dt.date
    data_through: dt.date
    calendar: Calendar = field(default_factory=Calendar)
    support: Support = field(default_factory=Support)
    mapping: str = ""
    sources: str = ""

    @property
    def members(self) -> list[str]:
        """Members with a name, sorted; records without one count for the team only."""
        return sorted(m for m in set(self.table["member"]) if m)

    @property
    def unassigned(self) -> bool:
        return bool((self.table["member"] == "").any())

    def rows(self, grain: str, period: str) -> pd.DataFrame:
        """Measures per member of one period, every member listed (zeros where a member has none)."""
        import pandas as pd

        part = self.table[(self.table["grain"] == grain) & (self.table["period"] == period)]
        frame = part.set_index("member")[list(MEASURES)].astype(float)
        index = pd.Index([*self.members, *([""] if self.unassigned else [])], dtype=object)
        return frame.reindex(index, fill_value=0.0)

    def team(self, grain: str, period: str) -> pd.Series:
        """The team's measures of one period (members and records without a member)."""
        return self.rows(grain, period).sum()

    def months(self) -> list[str]:
        return sorted(set(self.table.loc[self.table["grain"] == "month", "period"]))

    def weeks(self) -> list[str]:
        return sorted(set(self.table.loc[self.table["grain"] == "week", "period"]))

    def working_days(self, start: dt.date, end: dt.date) -> int:
        return self.calendar.working_days(start, end)

    def elapsed(self, start: dt.date, end: dt.date) -> tuple[int, int, dt.date]:
        """(working days with data so far, working days of the period, as-of date) of ``start``..``end``."""
        as_of = min(end, self.data_through)
        if end < self.data_from or start > self.data_through:  # no day of the period has data
            return 0, self.working_days(start, end), as_of
        return self.working_days(start, as_of), self.working_days(start, end), as_of

    def month_elapsed(self, key: str) -> tuple[int, int, dt.date]:
        return self.elapsed(*month_bounds(key))

    def week_elapsed(self, key: str) -> tuple[int, int, dt.date]:
        return self.elapsed(*week_bounds(key))

    # --- the data sheet -------------------------------------------------------------------

    def settings(self) -> dict[str, str]:
        """The settings block of the data sheet, by key (values as text)."""
        out = {
            "data_from": self.data_from.isoformat(), "data_through": self.data_through.isoformat(),
            "calendar": self.calendar.kind,
            "holidays": " ".join(d.isoformat() for d in sorted(self.calendar.extra_holidays)),
            "mapping": self.mapping, "sources": self.sources, "members": str(len(self.members)),
        }
        for measure, lacking in self.support.missing.items():
            out[f"missing:{measure}"] = " ".join(f"{t}.{f}" if f else t for t, f in lacking)
        return out


def from_sheet_rows(rows: list[list[Any]], calendar: Calendar | None = None) -> TeamData:
    """A :class:`TeamData` from the values of a data sheet (a list of rows, as openpyxl or xlwings read them).

    ``calendar`` overrides the one the sheet names. ValueError when the rows hold no data table.
    """
    import pandas as pd

    settings: dict[str, str] = {}
    marker = None
    for i, row in enumerate(rows):
        first = row[0] if row else None
        if first == TABLE_MARKER and list(row[: len(TABLE_COLUMNS)]) == list(TABLE_COLUMNS):  # the ids, not the labels
            marker = i
            break
        if isinstance(first, str) and (first in SETTING_KEYS or first.startswith("missing:")) and len(row) > 2:
            settings[first] = "" if row[2] is None else str(row[2])
    if marker is None or "data_through" not in settings:
        raise ValueError("no data table")
    header = [str(c) for c in rows[marker] if c is not None]
    body = [list(r[: len(header)]) + [None] * (len(header) - len(r)) for r in rows[marker + 1:] if r and r[0] in ("week", "month")]
    frame = pd.DataFrame(body, columns=header)
    for measure in MEASURES:
        frame[measure] = pd.to_numeric(frame.get(measure), errors="coerce").fillna(0.0) if measure in frame else 0.0
    frame["member"] = frame["member"].map(lambda m: "" if m is None else str(m))
    frame["period"] = frame["period"].astype(str)
    support = Support()
    for key, value in settings.items():
        if key.startswith("missing:") and key[8:] in NEEDS:
            support.missing[key[8:]] = [tuple(p.split(".", 1)) if "." in p else (p, "") for p in value.split()]  # type: ignore[misc]
    if calendar is None:
        extra = frozenset(dt.date.fromisoformat(d) for d in settings.get("holidays", "").split())
        calendar = Calendar(settings.get("calendar") or "jp", extra)
    return TeamData(frame[list(TABLE_COLUMNS)], dt.date.fromisoformat(settings["data_from"]),
                    dt.date.fromisoformat(settings["data_through"]), calendar, support,
                    settings.get("mapping", ""), settings.get("sources", ""))
