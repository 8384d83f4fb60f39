"""Scenario tables: one template, each row setting named inputs, every named output per row.

The template's program (:mod:`.compiler`) runs over blocks of rows at once; a template
the compiler cannot vectorise runs row by row through ``formulas`` (:mod:`.general`).
A column that names no input of the template is a :class:`ScenarioError` before
anything runs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kpitree.udfs.excel_values import XlError

from kpitree.errors import UserError

from .diagnostics import error_report, static_diagnostics
from .graph import Graph, Key, Unsupported, build_graph, name_target
from .io.package import DEFAULT_LIMITS, Limits, WorkbookData, load
from .progress import Progress
from .summary import cell_out

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
    """Every named output per row of ``table`` (a DataFrame); returns (frame, path taken)."""
    import pandas as pd

    from .compiler import compile_graph

    mapping = check_scenarios(template, list(table.columns))
    by_key = {template.inputs[name]: col for col, name in mapping.items()}
    causes = static_diagnostics(template.graph)
    try:
        if force_general:
            raise Unsupported("general path forced")
        program: Any = compile_graph(template.graph)
        path = "fast"
    except Unsupported:
        program, path = None, "general"
    out_cols: dict[str, list[Any]] = {name: [] for name in template.outputs}
    errors: list[str] = []
    bar = Progress(len(table), "scenarios", progress)
    try:
        if program is not None:
            _run_compiled(template, program, table, by_key, causes, out_cols, errors, bar)
        else:
            _run_general(template, table, by_key, causes, out_cols, errors, bar)
    finally:
        bar.close()
    frame = table.reset_index(drop=True).copy()
    for name, values in out_cols.items():
        frame[name] = pd.Series([cell_out(v) for v in values], dtype=object) if _mixed(values) else values
    frame["error"] = errors
    return frame, path


def _run_compiled(template: Template, program: Any, table: Any, by_key: dict[Key, str], causes: dict[Key, str],
                  out_cols: dict[str, list[Any]], errors: list[str], bar: Progress) -> None:
    """Blocks of rows through the compiled program; rows with #NAME?/#REF! get an error report."""
    import numpy as np

    from .compiler import run_program
    from .values import const, from_series, to_python

    stored = {k: _stored(template.wb, k) for k in program.inputs}
    causes.update(program.diagnostics)
    for start in range(0, len(table), SCENARIO_BLOCK):
        block = table.iloc[start : start + SCENARIO_BLOCK]
        n = len(block)
        env_in = {k: (from_series(block[by_key[k]].to_numpy()) if k in by_key else const(stored[k])) for k in program.inputs}
        env = run_program(program, env_in, n)
        for name, key in template.outputs.items():
            out_cols[name].extend(to_python(env[key], n))
        # only cells holding #NAME?/#REF! somewhere are looked at element by element
        bad_cells = [k for k in program.outputs if np.isin(env[k].err, (int(XlError.NAME), int(XlError.REF))).any()]
        if bad_cells:
            cols = {k: to_python(env[k], n) for k in bad_cells}
            errors.extend(error_report(template.wb, {k: cols[k][i] for k in bad_cells}, causes) for i in range(n))
        else:
            errors.extend([""] * n)
        bar.advance(n)


def _run_general(template: Template, table: Any, by_key: dict[Key, str], causes: dict[Key, str],
                 out_cols: dict[str, list[Any]], errors: list[str], bar: Progress) -> None:
    """Row by row through ``formulas``."""
    from .general import GeneralModel

    model = GeneralModel(template.path, template.wb, template.graph)
    computed = template.graph.trees.keys() | template.graph.spill_owner.keys()
    for _, row in table.iterrows():
        res = model.run({k: _cell_input(row[col]) for k, col in by_key.items()})
        for name, key in template.outputs.items():
            out_cols[name].append(res.get(key, 0.0))
        errors.append(error_report(template.wb, {k: v for k, v in res.items() if k in computed}, causes))
        bar.advance(1)


def _stored(wb: WorkbookData, key: Key) -> Any:
    cell = wb.sheets[key[0]].cells.get(key[1:])
    return None if cell is None else cell.value


def _cell_input(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("#"):
        return XlError.from_text(value) or value
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _mixed(values: list[Any]) -> bool:
    return any(not isinstance(v, float) for v in values)
