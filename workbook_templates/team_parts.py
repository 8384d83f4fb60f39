"""The parts of a KPI workbook that the team commands add, and removing them from a new year's copy.

``kpitree import`` adds a member sheet and a data sheet and writes a pace block on the
dashboard from column T; ``kpitree review`` adds a sheet per week or month. They belong to
the team's data, not to the design: ``kpitree new --template`` (next year from this year's
workbook) must not carry last year's members, reviews, data or pace into the new year.

The facts that identify them live here, below both writers: the team part
(:mod:`kpitree.team`) writes with them, :mod:`.new` removes by them.
"""

from __future__ import annotations

import re
from typing import Any

from kpitree.udfs.catalogue import LANGS
from kpitree.udfs.texts import text

# column A of a member sheet's tables, and of a review sheet's tables of typed columns
TARGETS_MARKER, ACTUALS_MARKER = "member_targets", "member_actuals"
REVIEW_MARKER = "review_kpis"
PACE_COL = 19  # the dashboard's pace block starts in column T: right of the managed A:R and its spare column S
PACE_FIRST_ROW = 3  # its title's row (0-based)
PACE_BLOCK_COLS, PACE_BLOCK_ROWS = 8, 301  # the block the import owns (and rewrites), from the title down


def team_sheet(title: str, first_column: list[Any]) -> bool:
    """Whether a sheet (its title, the values of its column A) is one the team commands wrote."""
    if title in {text(key, lang)[:31] for key in ("team.sheet_data", "team.sheet_members") for lang in LANGS}:
        return True
    return any(isinstance(v, str) and (v == TARGETS_MARKER or v.startswith(REVIEW_MARKER + ":")) for v in first_column)


def pace_block_title(value: Any) -> bool:
    """Whether a cell holds the pace block's title (in either language, whatever its date)."""
    if not isinstance(value, str):
        return False
    for lang in LANGS:
        head = text("team.pace_title", lang, as_of="\0", elapsed="\0", total="\0").split("\0")[0]
        if value.startswith(head):
            return True
    return False


def remove_team_parts(wb: Any, dashboard: str | None) -> list[str]:
    """Remove from an openpyxl workbook the sheets the team commands wrote, the names on them, and
    the dashboard's pace block (the block the import owns, from T4, when its title is there).
    Returns the titles of the sheets removed."""
    removed = [ws.title for ws in wb.worksheets
               if team_sheet(ws.title, [row[0] for row in ws.iter_rows(min_col=1, max_col=1, values_only=True)])]
    for title in removed:
        del wb[title]
    # a name on a removed sheet: its reference starts the text or follows an operator, never inside another
    # sheet's name (前月集計データ!A1 is not on 集計データ)
    on_removed = re.compile("|".join(rf"(?<![\w.'])(?:'{re.escape(t.replace(chr(39), chr(39) * 2))}'|{re.escape(t)})!"
                                     for t in removed)) if removed else None
    for name in [n for n, d in wb.defined_names.items() if on_removed and on_removed.search(d.attr_text or "")]:
        del wb.defined_names[name]
    if dashboard is not None and dashboard in wb.sheetnames:
        ws = wb[dashboard]
        if pace_block_title(ws.cell(PACE_FIRST_ROW + 1, PACE_COL + 1).value):
            from openpyxl.worksheet.cell_range import CellRange

            block = CellRange(min_row=PACE_FIRST_ROW + 1, min_col=PACE_COL + 1, max_row=PACE_FIRST_ROW + PACE_BLOCK_ROWS,
                              max_col=PACE_COL + PACE_BLOCK_COLS)
            clear_area(ws, block.coord)
            for merged in [m for m in ws.merged_cells.ranges if block.issuperset(m)]:
                ws.merged_cells.remove(merged)
    return removed


def clear_area(ws: Any, block: str) -> None:
    """Empty the cells, conditional formats and validations of ``block`` (``T4:AA304``) of an openpyxl sheet."""
    from openpyxl.formatting.formatting import ConditionalFormattingList
    from openpyxl.worksheet.cell_range import CellRange

    area = CellRange(block)
    for (r, c) in [k for k in ws._cells if area.min_row <= k[0] <= area.max_row and area.min_col <= k[1] <= area.max_col]:
        del ws._cells[(r, c)]
    old = ws.conditional_formatting
    ws.conditional_formatting = ConditionalFormattingList()
    for cf in old:
        if not all(area.issuperset(CellRange(str(r))) for r in cf.sqref.ranges):
            for rule in cf.rules:
                ws.conditional_formatting.add(str(cf.sqref), rule)
    ws.data_validations.dataValidation = [dv for dv in ws.data_validations.dataValidation
                                          if not all(area.issuperset(CellRange(str(r))) for r in dv.sqref.ranges)]
