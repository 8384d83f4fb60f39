"""The workbook contract: what kpitree reads from a KPI workbook, by one logic for files and live workbooks.

A kpitree workbook is addressed by its contract, never by coordinates: the language
(from the sheet titles of sheets 1–3), the workbook-scoped defined names (what each
points at and holds), and the KPI rows of sheets 1–3 (column A ids under the
``KPI ID`` header). ``kpitree dashboard`` and ``kpitree new --template`` read a file
through openpyxl; the ribbon reads the open workbook through xlwings. Both go through
:func:`read_facts` over a :class:`Grid`, so one workbook gives one dashboard.

Sheets are found by their template titles, or — renamed as Excel renames them, the defined
names following — by the names that point into them (:func:`resolve_sheets`).

Two adapters give the Grid: :class:`OpenpyxlGrid` (a workbook loaded with openpyxl,
plus the same file loaded with ``data_only=True`` for cached values) and
:class:`XlwingsGrid` (an ``xw.Book``). Neither library is imported here.

KPI rows: every non-blank column-A value below the first ``KPI ID`` header, to the
last used row of the sheet — a blank (spare) row does not end the table. An id the
catalogue does not know, or one listed twice, is a problem; its row is kept (with its
sheet's tier) so a design check can name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from kpitree.udfs.catalogue import LANGS, Lang, load_catalogue
from kpitree.udfs.texts import user_error

from .layout import cell_ref
from .spec import COL_ACTUAL, COL_ID, COL_LABEL, COL_TARGET, KPI_HEADER_ID, SHEETS, TIER_SHEET, KpiRow

KPI_SHEET_COUNT = 3
ERROR_TEXTS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#SPILL!", "#CALC!"})
_REFERS_TO = re.compile(r"^=?(?:'((?:[^']|'')+)'|([^'!]+))!(\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?)$")


@dataclass(frozen=True)
class CellFacts:
    """One cell as the contract sees it: its value (a formula cell's cached value) and its formula."""

    value: Any
    formula: str | None = None  # "=..." for a formula cell

    @property
    def is_error(self) -> bool:
        return isinstance(self.value, str) and self.value.strip().upper() in ERROR_TEXTS


@dataclass(frozen=True)
class WorkbookFacts:
    """What kpitree reads from a KPI workbook (see the module doc)."""

    lang: Lang
    values: dict[str, Any]  # single-cell defined name -> its value
    kpi_rows: tuple[KpiRow, ...]
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # defined name -> (sheet, "D12" or "A1:B2")
    cells: dict[tuple[str, str], CellFacts] = field(default_factory=dict)  # named cells and KPI target/actual cells
    broken: frozenset[str] = frozenset()  # defined names that are no cell or range reference (#REF!, a missing sheet…)
    problems: tuple[str, ...] = ()  # of the KPI rows: no header, unknown or repeated ids
    sheets: tuple[str | None, ...] = ()  # the titles of sheets 1-4 in this workbook (renamed ones found by their names)

    def cell(self, name: str) -> CellFacts | None:
        """The facts of a single-cell defined name, or None."""
        place = self.names.get(name)
        return None if place is None else self.cells.get(place)


class Grid(Protocol):
    """What the contract needs from a workbook, whatever opened it."""

    def sheet_names(self) -> list[str]: ...

    def defined_names(self) -> dict[str, str]:
        """Workbook-scoped defined names and their ``refers_to`` text (``'Sheet'!$D$12``)."""
        ...

    def columns_a_b(self, sheet: str) -> list[tuple[Any, Any]]:
        """Values of columns A and B, from row 1 to the sheet's last used row."""
        ...

    def cell(self, sheet: str, ref: str) -> CellFacts: ...


def parse_reference(refers_to: str) -> tuple[str, str] | None:
    """(sheet, "D12") or (sheet, "A1:B2") of a reference like ``='Sheet'!$D$12``; None for anything else."""
    match = _REFERS_TO.match(refers_to.strip())
    if not match:
        return None
    sheet = match.group(1).replace("''", "'") if match.group(1) is not None else match.group(2)
    return sheet, match.group(3).replace("$", "")


def parse_refers_to(refers_to: str) -> tuple[str, str] | None:
    """(sheet, "D12") of a single-cell reference like ``='Sheet'!$D$12``; None for a range or anything else."""
    place = parse_reference(refers_to)
    return place if place is not None and ":" not in place[1] else None


def detect_lang(sheet_names: list[str]) -> Lang:
    """The template language whose sheets 1–3 the workbook has; UserError when neither."""
    for lang in LANGS:
        if all(title in sheet_names for title in SHEETS[lang][:KPI_SHEET_COUNT]):
            return lang
    raise user_error("contract.not_a_workbook", ja_sheets=", ".join(SHEETS["ja"][:KPI_SHEET_COUNT]),
                     en_sheets=", ".join(SHEETS["en"][:KPI_SHEET_COUNT]), found=", ".join(sheet_names))


def resolve_sheets(grid: Grid) -> tuple[Lang, tuple[str | None, ...]]:
    """The workbook's language and the titles of its sheets 1–4, renamed ones included.

    A sheet keeps its role when the user renames it, as Excel does, because the defined
    names that point into it follow the new title: a role whose template title is
    missing goes to the sheet most of that role's names (:data:`.names.NAMED_CELLS`)
    point at. The language is the one whose titles the workbook has most of; with every
    title renamed, the one whose labels its KPI rows carry. The dashboard (sheet 4) may
    be missing (None): a rebuild creates it. :class:`UserError` when sheets 1–3 cannot
    all be found.
    """
    from collections import Counter

    from .names import NAMED_CELLS

    sheets = grid.sheet_names()
    defined = grid.defined_names()
    pointed: dict[int, Counter[str]] = {}
    for named in NAMED_CELLS:
        place = parse_reference(defined.get(named.name, ""))
        if place is not None and place[0] in sheets:
            pointed.setdefault(named.sheet - 1, Counter())[place[0]] += 1

    def titles(lang: Lang) -> tuple[str | None, ...]:
        out: list[str | None] = []
        for index, title in enumerate(SHEETS[lang]):
            if title in sheets:
                out.append(title)
                continue
            taken = {t for t in out if t} | {t for t in SHEETS[lang] if t in sheets}
            candidates = [(n, t) for t, n in (pointed.get(index) or Counter()).items() if t not in taken]
            out.append(max(candidates)[1] if candidates else None)
        return tuple(out)

    exact = {lang: sum(t in sheets for t in SHEETS[lang]) for lang in LANGS}
    order = sorted(LANGS, key=lambda lang: -exact[lang])
    if exact["ja"] == exact["en"]:
        order = sorted(LANGS, key=lambda lang: -_label_matches(grid, titles(lang), lang))
    for lang in order:
        found = titles(lang)
        if all(found[:KPI_SHEET_COUNT]) and len(set(found[:KPI_SHEET_COUNT])) == KPI_SHEET_COUNT:
            return lang, found
    detect_lang(sheets)  # raises the "not a kpitree workbook" error
    raise AssertionError("unreachable")  # pragma: no cover


def _label_matches(grid: Grid, titles: tuple[str | None, ...], lang: Lang) -> int:
    """How many KPI rows of these sheets carry the catalogue's ``lang`` label (to tell ja from en)."""
    cat = load_catalogue()
    known = {k.id: k for k in cat.kpis}
    count = 0
    for title in titles[:KPI_SHEET_COUNT]:
        if title is None:
            continue
        for a, b in grid.columns_a_b(title):
            kpi = known.get(str(a).strip()) if a is not None else None
            if kpi is not None and b == kpi.label(lang):
                count += 1
    return count


def kpi_rows(grid: Grid, lang: Lang, titles: tuple[str | None, ...] | None = None) -> tuple[list[KpiRow], list[str]]:
    """KPI rows of sheets 1–3 (by their titles in this workbook) and the problems found in them (see the module doc)."""
    cat = load_catalogue()
    known = {k.id for k in cat.kpis}
    rows: list[KpiRow] = []
    problems: list[str] = []
    for tier, index in TIER_SHEET.items():
        title = (titles[index] if titles else None) or SHEETS[lang][index]
        column = grid.columns_a_b(title)
        header = next((i for i, (a, _) in enumerate(column) if a == KPI_HEADER_ID), None)
        if header is None:
            problems.append(f"{title}: no '{KPI_HEADER_ID}' table header in column A")
            continue
        for r in range(header + 1, len(column)):
            value, label = column[r]
            kpi_id = str(value).strip() if value is not None else ""
            if not kpi_id:
                continue
            if kpi_id in known:
                kpi = cat.kpi(kpi_id)
                rows.append(KpiRow(kpi_id, kpi.tier, title, r, str(label or kpi.label(lang))))
            else:
                problems.append(f"{title}!{cell_ref(r, COL_ID)}: '{kpi_id}' is not a KPI id of the catalogue")
                rows.append(KpiRow(kpi_id, tier, title, r, str(label or kpi_id)))
    seen: dict[str, int] = {}
    for row in rows:
        seen[row.kpi_id] = seen.get(row.kpi_id, 0) + 1
    problems += [f"{k}: listed {n} times" for k, n in seen.items() if n > 1]
    return rows, problems


def read_facts(grid: Grid) -> WorkbookFacts:
    """The contract of the workbook behind ``grid``; UserError when it is not a kpitree workbook."""
    sheets = grid.sheet_names()
    lang, titles = resolve_sheets(grid)
    names: dict[str, tuple[str, str]] = {}
    broken = set()
    single = set()
    for name, refers_to in grid.defined_names().items():
        place = parse_reference(refers_to)
        if place is not None and place[0] in sheets:
            names[name] = place
            if parse_refers_to(refers_to):
                single.add(place)
        else:  # #REF!, a deleted sheet, a constant or formula: nothing kpitree can read or write
            broken.add(name)
    rows, problems = kpi_rows(grid, lang, titles)
    wanted = set(single)
    wanted |= {(r.sheet, cell_ref(r.row, col)) for r in rows for col in (COL_TARGET, COL_ACTUAL)}
    cells = {place: grid.cell(*place) for place in sorted(wanted)}
    values = {name: cells[place].value for name, place in names.items() if place in cells}
    return WorkbookFacts(lang, values, tuple(rows), names, cells, frozenset(broken), tuple(problems), titles)


# --- adapters --------------------------------------------------------------------------------


class OpenpyxlGrid:
    """A workbook opened with openpyxl (formulas), and optionally the same file opened ``data_only``."""

    def __init__(self, workbook: Any, values_workbook: Any | None = None):
        self.wb = workbook
        self.values = values_workbook

    def sheet_names(self) -> list[str]:
        return list(self.wb.sheetnames)

    def defined_names(self) -> dict[str, str]:
        return {name: dn.attr_text or "" for name, dn in self.wb.defined_names.items()}

    def columns_a_b(self, sheet: str) -> list[tuple[Any, Any]]:
        ws = self.wb[sheet]
        return [(ws.cell(r, COL_ID + 1).value, ws.cell(r, COL_LABEL + 1).value) for r in range(1, ws.max_row + 1)]

    def cell(self, sheet: str, ref: str) -> CellFacts:
        stored = self.wb[sheet][ref].value
        formula = stored.text if hasattr(stored, "text") else stored if isinstance(stored, str) and stored.startswith("=") else None
        if formula is not None and hasattr(stored, "text") and not formula.startswith("="):
            formula = "=" + formula
        value = self.values[sheet][ref].value if self.values is not None else stored
        return CellFacts(value, formula)


class XlwingsGrid:
    """An open workbook through xlwings (``xw.Book``): sheets, names, ``range(...).value/.formula``."""

    def __init__(self, book: Any):
        self.book = book

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def defined_names(self) -> dict[str, str]:
        # sheet-scoped names read as "Sheet!name"; the template's names are workbook-scoped
        return {n.name: n.refers_to for n in self.book.names if "!" not in n.name}

    def columns_a_b(self, sheet: str) -> list[tuple[Any, Any]]:
        ws = self.book.sheets[sheet]
        last = ws.used_range.last_cell.row
        block = ws.range(f"A1:B{last}").value
        if last == 1:
            block = [block]
        return [(row[0], row[1]) for row in block]

    def cell(self, sheet: str, ref: str) -> CellFacts:
        rng = self.book.sheets[sheet].range(ref)
        formula = rng.formula
        return CellFacts(rng.options(err_to_str=True).value,
                         formula if isinstance(formula, str) and formula.startswith("=") else None)


def facts_from_openpyxl(workbook: Any, values_workbook: Any | None = None) -> WorkbookFacts:
    return read_facts(OpenpyxlGrid(workbook, values_workbook))


def facts_from_xlwings(book: Any) -> WorkbookFacts:
    return read_facts(XlwingsGrid(book))
