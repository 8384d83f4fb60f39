"""The lookup sheet of a portable copy, and the functions that need cells of their own.

``KPI_STAGE_RECOMMEND`` and ``KPI_BOTTLENECK`` return tables, and ``KPI_MAPE``/``WAPE``/``BIAS``
read a range period by period; Excel since 2010 (and LibreOffice, Google Sheets) can do all of
it with ``INDEX``, ``MATCH``, ``IF`` and ``SUMPRODUCT`` — no dynamic arrays — given a few cells
to work in. The copy carries them on one sheet, :data:`SHEET_TITLE`, hidden and protected
against accidental edits (no password):

* rows 4 and down, the catalogue's tables (written from :mod:`kpitree.udfs`, never restated):
  each stage's first month (column A), the names a stage may be given with its number (C:D),
  every stage's recommended KPIs in both languages (F:M, :func:`recommend_rows` rows a stage),
  and the bottleneck labels, "none" first (O:T);
* below them, one row per call: where it is (column A, for whoever unhides the sheet), then the
  cells its native form works in — each argument's cells (absolute references to the original
  sheet), the first error met in the input policy's order, the results.

The native forms are the registry's (``WorksheetFunction.native``); the argument checks are
:func:`.expand.checked`'s. A visible cell of a table shows its piece of the result; a series
call's text becomes a reference to its result cell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kpitree.recalculation.io.package import col_letters, col_number
from kpitree.recalculation.parser import Lexer, Node, parse
from kpitree.udfs.catalogue import LANGS, Lang, load_catalogue
from kpitree.udfs.excel_values import Kind, XlError
from kpitree.udfs.kpi_tree import LEVER_KINDS, LEVERS, NO_BOTTLENECK
from kpitree.udfs.registry import FUNCTIONS
from kpitree.udfs.stage import recommend_rows, recommend_table, resolve_stage
from kpitree.udfs.texts import text

from .expand import Arg, Call, by_lang, checked, error, fill, lang_of, number_text

SHEET_TITLE = "kpitree_lookup"
FIRST_TABLE_ROW = 4
MAX_COL = 16_384

Where = tuple[int, int]  # (row, column), 1-based


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


# --- references moved to another sheet ---------------------------------------------------------------

_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")
_COLS = re.compile(r"\$?([A-Za-z]{1,3}):\$?([A-Za-z]{1,3})")
_ROWS = re.compile(r"\$?(\d+):\$?(\d+)")


def _absolute(ref: str) -> str:
    for pattern, form in ((_CELL, "${0}${1}"), (_COLS, "${0}:${1}"), (_ROWS, "${0}:${1}")):
        m = pattern.fullmatch(ref)
        if m:
            return form.format(m.group(1).upper() if pattern is not _ROWS else m.group(1), m.group(2).upper())
    return ref


def rebase(formula: str, sheet: str, local_names: set[str]) -> str:
    """``formula`` as written on ``sheet``, made to mean the same on another sheet: references absolute and
    qualified with their sheet, and the sheet's own names qualified too."""
    out = []
    previous = None
    for tok in Lexer(formula).run():
        piece = tok.text
        if tok.kind == "ref" and tok.link is None:
            if tok.sheet is None:
                after_colon = previous is not None and previous.kind == "op" and previous.text == ":"
                piece = ("" if after_colon else quote_sheet(sheet) + "!") + _absolute(piece)
            else:
                cut = piece.rindex("!") + 1
                piece = piece[:cut] + _absolute(piece[cut:])
        elif tok.kind == "name" and tok.sheet is None and tok.link is None and tok.text.upper() in local_names:
            piece = quote_sheet(sheet) + "!" + tok.text
        elif tok.kind == "str":
            piece = '"' + tok.text.replace('"', '""') + '"'
        out.append(piece)
        if tok.kind != "ws":
            previous = tok
    return "".join(out)


# --- the lookup sheet -----------------------------------------------------------------------------


@dataclass
class LookupSheet:
    """The cells of the lookup sheet, filled as calls need them: ``cells[(row, col)]`` is a number, a text,
    an :class:`XlError`, or a formula (a str starting with ``=``)."""

    title: str
    lang: Lang
    cells: dict[Where, Any] = field(default_factory=dict)
    next_row: int = 0
    ranges: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tables()

    def ref(self, row: int, col: int, last: Where | None = None) -> str:
        first = f"${col_letters(col)}${row}"
        end = f":${col_letters(last[1])}${last[0]}" if last else ""
        return f"{quote_sheet(self.title)}!{first}{end}"

    def put(self, row: int, col: int, value: Any) -> str:
        if col > MAX_COL:
            raise error("share.too_many_periods")
        self.cells[(row, col)] = value
        return self.ref(row, col)

    def _block(self, name: str, row: int, col: int, values: list[list[Any]]) -> None:
        for i, line in enumerate(values):
            for j, value in enumerate(line):
                self.cells[(row + i, col + j)] = value
        width = max(len(line) for line in values)
        self.ranges[name] = self.ref(row, col, (row + len(values) - 1, col + width - 1))

    def _tables(self) -> None:
        """The catalogue's tables the native forms look up, with a heading each."""
        cat = load_catalogue()
        lang = self.lang
        self.cells[(1, 1)] = text("share.lookup_title", lang)
        self.cells[(2, 1)] = text("share.lookup_note", lang)
        headings = dict(zip(("A", "C", "F", "O"), (text("share.lookup_stage_starts", lang), text("share.lookup_stage_names", lang),
                                                    text("share.lookup_recommend", lang), text("share.lookup_bottleneck", lang))))
        for letters, heading in headings.items():
            self.cells[(FIRST_TABLE_ROW - 1, col_number(letters))] = heading
        r0 = FIRST_TABLE_ROW
        self._block("stage_starts", r0, 1, [[s.from_months] for s in cat.stages])
        keys: dict[str, int] = {}
        for number, s in enumerate(cat.stages, start=1):
            for key in (s.id, s.ja, s.en):
                keys.setdefault(key.strip().lower(), number)
        self._block("stage_keys", r0, 3, [[k] for k in keys])
        self._block("stage_numbers", r0, 4, [[n] for n in keys.values()])
        grid = [[*a, *b] for s in cat.stages for a, b in zip(recommend_table(s, "ja"), recommend_table(s, "en"))]
        self._block("table", r0, 6, grid)
        labels = [[*NO_BOTTLENECK["ja"], *NO_BOTTLENECK["en"]]]
        for lever in LEVERS:
            b = cat.bottleneck(lever)
            labels.append([b.label("ja"), b.cause("ja"), b.action("ja"), b.label("en"), b.cause("en"), b.action("en")])
        self._block("labels", r0, 15, labels)
        self.next_row = r0 + max(len(grid), len(keys), len(labels)) + 2

    def helper_row(self, where: str) -> int:
        """A fresh row for one call's cells; column A says where the call is."""
        row = self.next_row
        self.next_row += 1
        self.cells[(row, 1)] = where
        return row


LANG_WIDTH = {"table": 4, "labels": 3}  # columns per language of the recommend table and of the bottleneck labels


def _lang_offset(lookup: LookupSheet, row: int, col: int, lang: Lang | Arg | None, width: int) -> tuple[str | None, str]:
    """(a cell holding the language's column offset or #VALUE! — None for a constant —, the offset's text)."""
    if isinstance(lang, str):
        return None, str(LANGS.index(lang) * width)
    if lang is None:
        return None, "#VALUE!"
    cell = lookup.put(row, col, "=" + by_lang(lang, lambda code: str(LANGS.index(code) * width)))
    return cell, cell


# --- a range given as an argument ---------------------------------------------------------------


def static_range(arg: Arg, names: dict[str, str]) -> tuple[int, int] | None:
    """(rows, columns) of an argument that is a range or a name of one; None when it is anything else."""
    if arg.kind != "value":
        return None
    try:
        node: Node = parse(arg.text)
    except ValueError:
        return None
    if node.kind == "name" and node.link is None and node.value.upper() in names:
        try:
            node = parse(names[node.value.upper()])
        except ValueError:
            return None
    if node.kind != "ref" or node.ref is None:
        return None
    _, r1, c1, r2, c2 = node.ref
    return r2 - r1 + 1, c2 - c1 + 1


def _cell_of(rng: str, dims: tuple[int, int], k: int) -> str:
    """The k-th cell (0-based, row by row) of a range, as Excel flattens one."""
    r, c = divmod(k, dims[1])
    return f"INDEX({rng},{r + 1},{c + 1})"


@dataclass
class Context:
    """Where a call is: its sheet (for references moved to the lookup sheet) and the names it can use."""

    sheet: str
    where: str
    local_names: set[str]
    names: dict[str, str]  # upper-cased name -> its formula, as the call's sheet sees it

    def moved(self, arg: Arg) -> Arg:
        if arg.kind in ("const", "empty"):
            return arg
        return Arg(rebase(arg.text, self.sheet, self.local_names), arg.kind)


# --- KPI_STAGE_RECOMMEND --------------------------------------------------------------------------


def stage_recommend(lookup: LookupSheet, ctx: Context, args: list[Arg], block: tuple[int, int]) -> list[list[str | None]]:
    """The block's formulas, row by row (None: a cell past the table, left blank)."""
    native = FUNCTIONS["KPI_STAGE_RECOMMEND"].native
    rows, width = recommend_rows(), LANG_WIDTH["table"]
    if not 1 <= len(args) <= 2:
        return _anchor_only(block, "=#VALUE!")
    row = lookup.helper_row(ctx.where)
    lang_cell, offset = _lang_offset(lookup, row, 2, lang_of(args[1] if len(args) > 1 else None), width)
    stage = lookup.put(row, 3, "=" + _stage_number(lookup, ctx.moved(args[0]), native))
    out = []
    for i in range(block[0]):
        line: list[str | None] = []
        for j in range(block[1]):
            if i >= rows or j >= width:
                line.append(None)
                continue
            cell = fill(native["cell"], ("table", "stage", "rows", "row", "column"),
                        [lookup.ranges["table"], stage, str(rows), str(i + 1), f"{j + 1}+{offset}"])
            if lang_cell is not None:
                cell = f"IF(ISERROR({lang_cell}),{lang_cell},{cell})"
            elif offset == "#VALUE!":
                cell = "#VALUE!"
            line.append(f"=IF(ISERROR({stage}),{stage},{cell})")
        out.append(line)
    return out


def _stage_number(lookup: LookupSheet, arg: Arg, native: dict[str, str]) -> str:
    """The stage's number (1, 2, …) from months or from a stage's name, or the error the input policy gives."""
    if arg.kind == "const":
        stage = resolve_stage(arg.value)
        if isinstance(stage, XlError):
            return stage.text
        return str(1 + [s.id for s in load_catalogue().stages].index(stage.id))
    if arg.kind == "empty":
        return "1"
    x = arg.text
    by_name = fill(native["name"], ("stage_keys", "stage_numbers", "stage_or_months"),
                   [lookup.ranges["stage_keys"], lookup.ranges["stage_numbers"], x])
    by_months = fill(native["months"], ("stage_starts", "stage_or_months"), [lookup.ranges["stage_starts"], f"N({x})"])
    return (f"IF(ISLOGICAL({x}),#VALUE!,IF(ISTEXT({x}),IF({by_name}=0,#VALUE!,{by_name}),"
            f"IF(N({x})<0,#NUM!,{by_months})))")


def _anchor_only(block: tuple[int, int], formula: str) -> list[list[str | None]]:
    """A call that is one error as a whole (wrong arguments): the error in its first cell, as Excel 365 spills a
    single value; the rest of the block blank."""
    return [[formula if (i, j) == (0, 0) else None for j in range(block[1])] for i in range(block[0])]


# --- KPI_BOTTLENECK --------------------------------------------------------------------------------


def bottleneck(lookup: LookupSheet, ctx: Context, args: list[Arg], block: tuple[int, int]) -> list[list[str | None]]:
    native = FUNCTIONS["KPI_BOTTLENECK"].native
    width, n = 4, len(LEVERS)
    if not 2 <= len(args) <= 3:
        return _anchor_only(block, "=#VALUE!")
    dims = [static_range(a, ctx.names) for a in args[:2]]
    if any(d is None for d in dims):
        raise error("share.range_needed", where=ctx.where, function="KPI_BOTTLENECK")
    lang = lang_of(args[2] if len(args) > 2 else None)
    if lang is None or any(d[0] * d[1] != n for d in dims if d is not None):
        return _anchor_only(block, "=#VALUE!")
    row = lookup.helper_row(ctx.where)
    lang_cell, offset = _lang_offset(lookup, row, 2, lang, LANG_WIDTH["labels"])
    ranges = [ctx.moved(a).text for a in args[:2]]
    actuals = [lookup.put(row, 3 + k, "=" + _cell_of(ranges[0], dims[0], k)) for k in range(n)]  # type: ignore[arg-type]
    targets = [lookup.put(row, 3 + n + k, "=" + _cell_of(ranges[1], dims[1], k)) for k in range(n)]  # type: ignore[arg-type]
    # the first error in the input policy's order: every actual, then every target
    order = [(Arg(a, "value"), kind) for a, kind in zip(actuals, LEVER_KINDS)]
    order += [(Arg(t, "value"), kind) for t, kind in zip(targets, LEVER_KINDS)]
    code = _first_error(order)
    if lang_cell is not None:
        code = f"IF(ISERROR({lang_cell}),{lang_cell},{code})"
    e = lookup.put(row, 3 + 2 * n, "=" + code)
    values = [f"N({a})" for a in actuals]
    product = "*".join(values)
    recovered = []
    for k in range(n):
        lifted = "*".join(f"MAX({values[k]},N({targets[k]}))" if i == k else v for i, v in enumerate(values))
        formula = fill(native["recovered"], ("lifted_product", "product"), [lifted, product])
        recovered.append(lookup.put(row, 4 + 2 * n + k, f"=IF(ISERROR({e}),0,{formula})"))
    recovered_range = lookup.ref(row, 4 + 2 * n, (row, 3 + 3 * n))
    lever = lookup.put(row, 4 + 3 * n, "=" + fill(native["lever"], ("recovered",), [recovered_range]))
    del recovered
    out: list[list[str | None]] = []
    for i in range(block[0]):
        line: list[str | None] = []
        for j in range(block[1]):
            if i >= 1 or j >= width:
                line.append(None)
            elif j < width - 1:
                piece = fill(native["cell"], ("labels", "lever", "column"), [lookup.ranges["labels"], lever, f"{j + 1}+{offset}"])
                line.append(f"=IF(ISERROR({e}),{e},{piece})")
            else:
                piece = fill(native["revenue"], ("lever", "recovered"), [lever, recovered_range])
                line.append(f"=IF(ISERROR({e}),{e},{piece})")
        out.append(line)
    return out


def _first_error(order: Sequence[tuple[Arg, Kind | str]]) -> str:
    """0, or the error the first argument that breaks the input policy gives (leftmost first)."""

    def step(i: int) -> str:
        if i == len(order):
            return "0"
        arg, kind = order[i]
        return checked(arg, kind, lambda _value: step(i + 1))

    return step(0)


# --- KPI_MAPE, KPI_WAPE, KPI_BIAS ---------------------------------------------------------------------


def series(lookup: LookupSheet, ctx: Context, call: Call, args: list[Arg]) -> str:
    """The cell holding a series function's result (its formula text stands in the call's place)."""
    spec = call.function
    if len(args) != 2:
        return "#VALUE!"
    dims = [static_range(a, ctx.names) for a in args]
    if dims[0] is None or dims[1] is None:
        raise error("share.range_needed", where=ctx.where, function=spec.name)
    n = dims[0][0] * dims[0][1]
    if n != dims[1][0] * dims[1][1]:
        return "#VALUE!"
    row = lookup.helper_row(ctx.where)
    ranges = [ctx.moved(a).text for a in args]
    col = 2
    cells: list[list[str]] = []
    for rng, d in zip(ranges, dims):
        cells.append([lookup.put(row, col + k, "=" + _cell_of(rng, d, k)) for k in range(n)])  # type: ignore[arg-type]
        col += n
    previous = None
    for k in range(n):  # per period the actual before the forecast; the earliest period first
        code = _first_error([(Arg(cells[0][k], "value"), Kind.AMOUNT), (Arg(cells[1][k], "value"), Kind.AMOUNT)])
        previous = lookup.put(row, col + k, "=" + (code if previous is None else f"IF(ISERROR({previous}),{previous},{code})"))
    col += n
    clean = []
    for values in cells:
        for k, cell in enumerate(values):
            lookup.put(row, col + k, f"=N({cell})")
        clean.append(lookup.ref(row, col, (row, col + n - 1)))
        col += n
    body = fill(spec.native, ("actuals", "forecasts"), clean)
    return lookup.put(row, col, f"=IF(ISERROR({previous}),{previous},{body})")


def constant_cell(value: Any) -> Any:
    """A lookup-sheet constant as the writer takes it (numbers as floats)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


__all__ = ["SHEET_TITLE", "Context", "LookupSheet", "bottleneck", "number_text", "rebase", "series", "stage_recommend"]
