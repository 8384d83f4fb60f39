"""Reading the exports: files or DataFrames in, the team's measures and an import report out.

:func:`read_exports` is ``kpitree import`` without the workbook: each export (a path to a
CSV/xlsx file, or a pandas DataFrame with the export's own columns) is mapped to the standard
format (a preset found automatically, a preset by name, or a mapping file), normalised
(:mod:`.records`: rejects and duplicates counted), counted per day and member
(:mod:`.measures`) and returned as an :class:`Imported`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpitree.udfs.texts import user_error

from .calendar import Calendar
from .data import TeamData
from .mapping import TABLES, Mapping, choose_preset, mapping_for, resolve
from .measures import Support, add_evidence, daily, periods, support
from .records import Rejects, TableReport, normalise

if TYPE_CHECKING:
    import pandas as pd

@dataclass
class Imported:
    """The exports read: canonical records, measures per day, the team's data, and what happened."""

    records: dict[str, pd.DataFrame]
    reports: dict[str, TableReport]
    rejects: Rejects
    mapping: Mapping
    days: pd.DataFrame
    data: TeamData

    @property
    def support(self) -> Support:
        return self.data.support


def _is_frame(source: Any) -> bool:
    return hasattr(source, "columns") and hasattr(source, "iloc")


def _load(table: str, source: Any, score: Any) -> tuple[pd.DataFrame, int, str, str]:
    """(frame, header row, encoding, name) of one source."""
    from .reading import read_export

    if _is_frame(source):
        return source, 0, "DataFrame", f"<{table} DataFrame>"
    path = Path(os.fspath(source))
    frame, header, encoding = read_export(path, score)
    return frame, header, encoding, str(path)


def read_exports(activities: Any = None, opportunities: Any = None, leads: Any = None, *,
                 mapping: str | os.PathLike[str] | Mapping | None = None,
                 calendar: Calendar | None = None) -> Imported:
    """Read the exports (paths or DataFrames; at least one) into :class:`Imported`.

    ``mapping``: None or ``"auto"`` (the preset that recognises the most columns), a preset
    name (``kpitree``, ``salesforce``, ``hubspot``, ``japanese_log``), a mapping file, or a
    :class:`~.mapping.Mapping`. Raises :class:`~kpitree.errors.UserError` for a file that
    cannot be read, a required column that is missing, or exports with no readable row.
    """
    sources = {"activities": activities, "opportunities": opportunities, "leads": leads}
    given = {t: s for t, s in sources.items() if s is not None}
    if not given:
        raise user_error("team.no_exports")
    chosen = mapping if isinstance(mapping, Mapping) else mapping_for(None if mapping is None else os.fspath(mapping))

    loaded: dict[str, tuple[pd.DataFrame, int, str, str]] = {}
    for table, source in given.items():
        def score(cells: list[Any], table: str = table) -> int:
            if chosen is not None:
                return len(resolve(chosen, table, cells))
            from .mapping import PRESETS, preset

            return max(len(resolve(preset(p), table, cells)) for p in PRESETS)

        loaded[table] = _load(table, source, score)
    if chosen is None:
        chosen = choose_preset({t: list(frame.columns) for t, (frame, _, _, _) in loaded.items()})
    rejects = Rejects()
    records: dict[str, pd.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    for table in TABLES:
        if table not in loaded:
            continue
        frame, header, encoding, name = loaded[table]
        found = resolve(chosen, table, list(frame.columns))
        date_field = "created" if table == "opportunities" else "date"
        required = [date_field] + (["type"] if table == "activities" and "type" not in chosen.defaults.get(table, {}) else [])
        lacking = [f for f in required if f not in found]
        if lacking:
            aliases = {f: ", ".join(a.column for a in chosen.columns[table].get(f, ())[:4]) for f in lacking}
            raise user_error("team.missing_required", file=name, table=table, fields=", ".join(lacking),
                             aliases="; ".join(f"{f}: {a}" for f, a in aliases.items()),
                             columns=", ".join(map(str, frame.columns[:20])))
        records[table], reports[table] = normalise(table, frame, chosen, name, header, rejects)
        reports[table].encoding = encoding
    days = daily(records)
    if not len(days):
        raise user_error("team.no_rows", rejected=len(rejects))
    first = days["date"].min().date()
    last = days["date"].max().date()
    measured = add_evidence(support({t: reports.get(t) for t in TABLES}), records)
    data = TeamData(periods(days), first, last, calendar or Calendar(), measured,
                    chosen.id, "; ".join(loaded[t][3] for t in TABLES if t in loaded))
    return Imported(records, reports, rejects, chosen, days, data)
