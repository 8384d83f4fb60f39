"""Read what the planners need from a workbook: through xlwings (live) or openpyxl (file).

Both readers give the same :class:`~.plans.WorkbookFacts`: the template language
(from the sheet titles), single-cell defined names with their values and places,
and the KPI rows of sheets 1–3 (column A ids under the ``KPI ID`` header).
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from kpitree.errors import UserError

from .plans import KpiRowRef, WorkbookFacts

KPI_SHEET_COUNT = 3
MAX_SCAN_ROWS = 400
_SINGLE = re.compile(r"^=?'?(.+?)'?!\$?([A-Z]{1,3})\$?(\d+)$")


def _templates():
    from kpitree.workbook_templates.spec import KPI_HEADER_ID, SHEETS

    return SHEETS, KPI_HEADER_ID


def detect_lang(sheet_names: Iterable[str]) -> str:
    sheets, _ = _templates()
    names = list(sheet_names)
    for lang in ("ja", "en"):
        if all(title in names for title in sheets[lang][:KPI_SHEET_COUNT]):
            return lang
    raise UserError("The KPI template's sheets 1-3 were not found. Use a workbook made with 'New workbook'.", ja="KPI設計テンプレートのシート(シート1〜3)が見つかりません。「新規ブック」から作ったブックで実行してください。")


def kpi_rows_from_column(sheet: str, column_a: list[Any], column_b: list[Any] | None = None) -> list[KpiRowRef]:
    """KPI rows of one sheet from its column A (and label column B) values (index = zero-based row)."""
    _, header = _templates()
    rows, inside = [], False
    for index, value in enumerate(column_a):
        text = str(value).strip() if value is not None else ""
        if text == header:
            inside = True
            continue
        if inside:
            if not text:
                inside = False
            elif re.fullmatch(r"[a-z][a-z0-9_]*", text):
                label = column_b[index] if column_b and index < len(column_b) else None
                rows.append(KpiRowRef(text, sheet, index, str(label) if label not in (None, "") else text))
            else:
                inside = False
    return rows


def parse_refers_to(refers_to: str) -> tuple[str, str] | None:
    """('Sheet', 'D12') of a single-cell reference like ``='Sheet'!$D$12``; None otherwise."""
    match = _SINGLE.match(refers_to.strip())
    if not match:
        return None
    return match.group(1).replace("''", "'"), f"{match.group(2)}{match.group(3)}"


def facts_from_xlwings(book: Any) -> WorkbookFacts:
    """Read through xlwings: ``book.sheets``, ``book.names`` (name, refers_to), ``sheet.range(...).value``."""
    sheet_names = [s.name for s in book.sheets]
    lang = detect_lang(sheet_names)
    sheets, _ = _templates()
    names: dict[str, tuple[str, str]] = {}
    for name in book.names:
        if "!" in name.name:  # sheet-scoped; the template's names are workbook-scoped
            continue
        place = parse_refers_to(name.refers_to)
        if place:
            names[name.name] = place
    kpi_rows: list[KpiRowRef] = []
    for title in sheets[lang][:KPI_SHEET_COUNT]:
        block = book.sheets[title].range(f"A1:B{MAX_SCAN_ROWS}").value
        kpi_rows += kpi_rows_from_column(title, [r[0] for r in block], [r[1] for r in block])
    values = {}
    for name, (sheet, ref) in names.items():
        if sheet in sheet_names:
            values[name] = book.sheets[sheet].range(ref).value
    return WorkbookFacts(lang, values, tuple(kpi_rows), names)


def facts_from_openpyxl(workbook: Any, values_workbook: Any | None = None) -> WorkbookFacts:
    """Read a workbook opened with openpyxl (``values_workbook``: the same file with data_only=True)."""
    lang = detect_lang(workbook.sheetnames)
    sheets, _ = _templates()
    names: dict[str, tuple[str, str]] = {}
    for name, defined in workbook.defined_names.items():
        place = parse_refers_to(defined.attr_text)
        if place:
            names[name] = place
    kpi_rows: list[KpiRowRef] = []
    for title in sheets[lang][:KPI_SHEET_COUNT]:
        ws = workbook[title]
        column = [ws.cell(row=r, column=1).value for r in range(1, MAX_SCAN_ROWS + 1)]
        labels = [ws.cell(row=r, column=2).value for r in range(1, MAX_SCAN_ROWS + 1)]
        kpi_rows += kpi_rows_from_column(title, column, labels)
    source = values_workbook or workbook
    values = {}
    for name, (sheet, ref) in names.items():
        if sheet in source.sheetnames:
            values[name] = source[sheet][ref].value
    return WorkbookFacts(lang, values, tuple(kpi_rows), names)
