"""Scenario tables: one template, each row setting named inputs, every named output per row.

The template's program (:mod:`.compiler`) runs over blocks of rows at once; where the
rows cannot share one run (a position or a size that differs between rows), each row runs
on its own. A column that names no input of the template is a :class:`ScenarioError`
before anything runs.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kpitree.udfs.excel_values import XlError

from kpitree.errors import UserError

from .diagnostics import error_report
from .graph import Graph, Key, Unsupported, build_graph, name_target
from .io.package import DEFAULT_LIMITS, Limits, WorkbookData, load
from .progress import Progress
from .summary import Table, cell_out

SCENARIO_BLOCK = 50_000


class ScenarioError(UserError):
    """A scenario table that does not fit its template; raised before anything runs."""


@dataclass
class Template:
    """A template's named inputs (constant cells) and outputs (formula cells)."""

    path: str
    wb: WorkbookData
    graph: Graph
    inputs: dict[str, Key]
    outputs: dict[str, Key]


def open_template(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Template:
    _, _, wb = load(path, limits)
    graph = build_graph(wb)
    inputs: dict[str, Key] = {}
    outputs: dict[str, Key] = {}
    for name, dn in wb.workbook_names().items():
        key = name_target(wb, dn.text)
        if key is None:
            continue
        (outputs if key in graph.trees else inputs)[name] = key
    return Template(os.fspath(path), wb, graph, inputs, outputs)


def check_scenarios(template: Template, columns: Sequence[str]) -> dict[str, str]:
    """Scenario column -> input name (case-insensitive); unknown columns are a :class:`ScenarioError`."""
    by_upper = {n.upper(): n for n in template.inputs}
    mapping, unknown = {}, []
    for col in columns:
        name = by_upper.get(str(col).strip().upper())
        if name is None:
            unknown.append(str(col))
        else:
            mapping[str(col)] = name
    if unknown:
        outputs = {n.upper() for n in template.outputs}
        hint = [f"{c} (a formula output, not an input)" if c.upper() in outputs else c for c in unknown]
        raise ScenarioError(
            f"scenario column(s) name no input cell of {os.path.basename(template.path)}: {', '.join(hint)}; "
            f"named inputs are: {', '.join(sorted(template.inputs))}"
        )
    return mapping


def run_scenarios(template: Template, table: Any, *, force_general: bool = False, progress: bool | None = None) -> tuple[Any, str]:
    """Every named output per row of ``table`` (a DataFrame, or a :class:`~.summary.Table`); returns (the
    same kind of table with the outputs and ``error`` added, path taken).

    Each row is computed as if it were its own workbook: its values go into the named cells as Excel
    takes a typed value (:func:`typed_value`), a bad value affects only its row, and the row's ``error``
    column says which inputs were not numbers and where #NAME?/#REF! came from.
    """
    is_table = isinstance(table, Table)
    rows = table if is_table else Table.from_frame(table)
    mapping = check_scenarios(template, rows.names)
    by_key = {template.inputs[name]: col for col, name in mapping.items()}
    columns = {col: typed_column(rows[col]) for col in by_key.values()}
    program, path, because = _program(template, force_general)
    outputs: dict[str, list[Any]] = {name: [] for name in template.outputs}
    errors: list[str] = []
    n_rows = len(rows)
    bar = Progress(n_rows, "scenarios", progress)
    try:
        for start in range(0, n_rows, SCENARIO_BLOCK):
            stop = min(start + SCENARIO_BLOCK, n_rows)
            if path == "fast":
                try:
                    _run_rows(template, program, by_key, columns, start, stop, outputs, errors)
                    bar.advance(stop - start)
                    continue
                except Unsupported as exc:  # the rows differ where the program needs them alike: each row alone
                    path, because = "general", exc.because(template.wb)
            for row in range(start, stop):
                _run_rows(template, program, by_key, columns, row, row + 1, outputs, errors)
                bar.advance(1)
    finally:
        bar.close()
    result = {name: _joined(parts) for name, parts in outputs.items()}
    result["error"] = _error_column(template, by_key, columns, errors)
    if is_table:
        return Table({**rows.columns, **result}, {**rows.attrs, "general_because": because}, n_rows), path
    frame = table.reset_index(drop=True).copy()
    out = Table(result, length=n_rows).to_frame()
    for name in result:
        frame[name] = out[name]
    frame.attrs["general_because"] = because
    return frame, path


def _program(template: Template, force_general: bool) -> tuple[Any, str, str]:
    """The template's program: across rows, or per row (the general path); the path; why the general path."""
    from .compiler import compile_graph

    because = "asked for (general=True)"
    if not force_general:
        try:
            return compile_graph(template.graph), "fast", ""
        except Unsupported as exc:
            because = exc.because(template.wb)
    return compile_graph(template.graph, per_file=True), "general", because


def _run_rows(template: Template, program: Any, by_key: dict[Key, str], columns: dict[str, Any], start: int, stop: int,
              outputs: dict[str, list[Any]], errors: list[str]) -> None:
    """Rows ``start:stop`` through the program at once; rows with #NAME?/#REF! get an error report.

    An output that is a number in every row is kept as a numpy array (what the summary writer and
    the DataFrame take without a loop); others as a list of plain values."""
    import numpy as np

    from .compiler import run_program
    from .values import NUM, const, from_python, to_python

    n = stop - start
    env_in = {k: (from_python(columns[by_key[k]][start:stop]) if k in by_key else const(_stored(template.wb, k)))
              for k in program.inputs}
    env = run_program(program, env_in, n)
    for name, key in template.outputs.items():
        v = env[key]
        if v.dims is None and not np.any(v.err) and np.all(v.typ == NUM):
            outputs[name].append(np.broadcast_to(v.num + 0.0, (n,)).copy())  # + 0.0: Excel has no negative zero
        else:
            outputs[name].append([cell_out(x) for x in to_python(v, n)])
    # only cells holding #NAME?/#REF! somewhere are looked at element by element
    bad_cells = [k for k in program.outputs if np.isin(env[k].err, (int(XlError.NAME), int(XlError.REF))).any()]
    if bad_cells:
        cols = {k: to_python(env[k], n) for k in bad_cells}
        errors.extend(error_report(template.wb, {k: cols[k][i] for k in bad_cells}, program.diagnostics) for i in range(n))
    else:
        errors.extend([""] * n)


def _joined(parts: list[Any]) -> Any:
    """An output column from its blocks: one numpy array when every block is numbers, else a list."""
    import numpy as np

    if parts and all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts)
    out: list[Any] = []
    for p in parts:
        out.extend(p.tolist() if isinstance(p, np.ndarray) else p)
    return out


def typed_column(values: Any) -> Any:
    """A scenario column's cells as Excel takes typed values (:func:`typed_value`); a column of plain
    numbers (floats, or texts such as ``0.25``) is read in one pass."""
    import numpy as np

    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return [None if x != x else x for x in values.astype(float).tolist()]
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    if values and all(type(v) is str for v in values) and all(_PLAIN.fullmatch(v) for v in values):
        numbers = [float(v) for v in values]
        if all(math.isfinite(x) for x in numbers):
            return numbers
    return [typed_value(v) for v in values]


_PLAIN = re.compile(r" *[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})? *")  # what float() and Excel both read alike


def _error_column(template: Template, by_key: dict[Key, str], columns: dict[str, Any], errors: list[str]) -> list[str]:
    """The error column: rows whose inputs are all numbers and that have no #NAME?/#REF! are empty."""
    flagged = {i for col in by_key.values() for i, v in enumerate(columns[col]) if isinstance(v, (str, XlError))}
    return [_input_notes(template, by_key, columns, i, err) if (err or i in flagged) else "" for i, err in enumerate(errors)]


def typed_value(value: Any) -> Any:
    """A scenario table's cell as Excel takes it when typed into a cell: numbers ("0.25", "25%", "1,000",
    "2026/4/1") become numbers, TRUE/FALSE booleans, "#N/A" its error, an empty cell a blank; other text stays text."""
    from .excel_text import parse_number_text

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, int, float)) and not isinstance(value, str):
        return value
    if isinstance(value, XlError):
        return value
    text = str(value)
    stripped = text.strip()
    if stripped == "":
        return None
    if stripped.upper() in ("TRUE", "FALSE"):
        return stripped.upper() == "TRUE"
    if stripped.startswith("#"):
        err = XlError.from_text(stripped)
        if err is not None:
            return err
    number = parse_number_text(text)
    return text if number is None else number


def _input_notes(template: Template, by_key: dict[Key, str], columns: dict[str, list[Any]], row: int, report: str) -> str:
    """The row's error column: inputs that are not numbers (text, an error), then the #NAME?/#REF! report."""
    notes = []
    for col in by_key.values():
        v = columns[col][row]
        if isinstance(v, str):
            notes.append(f"{col}: the text {v!r} is not a number")
        elif isinstance(v, XlError):
            notes.append(f"{col}: {v.text}")
    return "; ".join([*notes, report] if report else notes)


def _stored(wb: WorkbookData, key: Key) -> Any:
    cell = wb.sheets[key[0]].cells.get(key[1:])
    return None if cell is None else cell.value


