"""The team's real data: CRM/SFA exports in, per-member KPIs, weekly and monthly reviews, pace and alerts out.

Public API::

    read_exports(activities, opportunities, leads, mapping=None, calendar=None)   # files or DataFrames -> Imported
    import_exports(workbook, activities=..., opportunities=..., leads=..., period=..., ...)   # ``kpitree import``
    review_workbook(workbook, week="2026-W15" | month="2026-04", ...)              # ``kpitree review``
    write_sample(folder, style="kpitree")                                           # ``kpitree sample``
    Calendar(kind="jp", extra_holidays=...)                                         # the working-day calendar

See docs/team.md for the standard format, the presets, the sheets and the alerts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .calendar import Calendar, make_calendar
    from .importer import Imported, read_exports
    from .reviewing import review_workbook
    from .sample import write_sample
    from .workbook import ImportReport, import_exports

__all__ = ["Calendar", "ImportReport", "Imported", "import_exports", "make_calendar", "read_exports", "review_workbook",
           "write_sample"]

# loaded on first use (PEP 562): ``kpitree --help`` imports this package's commands, not its engine
_WHERE = {"Calendar": "calendar", "make_calendar": "calendar", "Imported": "importer", "read_exports": "importer",
          "review_workbook": "reviewing", "write_sample": "sample", "ImportReport": "workbook", "import_exports": "workbook"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
