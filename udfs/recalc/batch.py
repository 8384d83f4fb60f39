"""Batches: files and scenario tables, grouped onto compiled programs, run on an executor.

Files
    Each workbook is read (:mod:`.package`), fingerprinted by its formulas and names,
    and grouped with the others of the same layout; a group runs once through the
    compiled program (:mod:`.compile`) with every file's inputs as one column each,
    or, when the layout cannot be vectorised, file by file through ``formulas``
    (:mod:`.general`). Results are planned and written (:mod:`.writeback`). Work is
    cut into chunks of files so memory stays flat however many files stream past,
    and chunks go to any ``concurrent.futures.Executor`` (a process pool, Dask's
    ``client.get_executor()``, Ray's executor ...).

Scenarios
    Each row of a table sets the named input cells its columns name; the template's
    program runs over all rows at once and every named output comes back per row.

Every problem with one workbook becomes that workbook's ``error`` and the batch
goes on; see docs/recalc.md for the list.
"""

from __future__ import annotations

import concurrent.futures
import functools
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..excel_values import XlError
from .graph import Graph, Key, Unsupported, address, build_graph, fingerprint, name_target, parse_formula
from .package import DEFAULT_LIMITS, Limits, Reinflated, WorkbookData, WorkbookError, load, read_package, read_workbook

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods")
CHUNK_FILES = 256  # the most files per chunk: one compiled run has a fixed cost (≈ 0.1 s), ≈ 0.2 MB per file in flight
MIN_CHUNK_FILES = 16


def chunk_size(n_files: int, jobs: int, most: int = CHUNK_FILES) -> int:
    """Files per chunk: as many as allowed, yet at least two chunks per worker so the pool stays busy."""
    if jobs <= 1:
        return most
    return max(MIN_CHUNK_FILES, min(most, -(-n_files // (2 * jobs))))
SCENARIO_BLOCK = 50_000
MAX_LISTED = 20


class ScenarioError(ValueError):
    """A scenario table that does not fit its template; raised before anything runs."""


# --- per-process caches ------------------------------------------------------------------

_LAYOUTS: dict[str, Any] = {}  # fingerprint -> (Graph, Program | Unsupported) or WorkbookError


def _layout(fp: str, wb: WorkbookData) -> tuple[Graph, Any]:
    """Graph and program of a layout, built once per process; a broken layout raises each time."""
    cached = _LAYOUTS.get(fp)
    if cached is None:
        from .compile import compile_graph

        try:
            graph = build_graph(wb)
            try:
                program: Any = compile_graph(graph)
            except Unsupported as exc:
                program = exc
            cached = (graph, program)
        except WorkbookError as exc:
            cached = exc
        if len(_LAYOUTS) > 256:
            _LAYOUTS.clear()
        _LAYOUTS[fp] = cached
    if isinstance(cached, WorkbookError):
        raise WorkbookError(str(cached))
    return cached


# --- diagnostics ----------------------------------------------------------------------------


def static_diagnostics(graph: Graph) -> dict[Key, str]:
    """Why a cell will be #NAME? or #REF!: unknown functions and names, missing sheets, #REF! in the text."""
    from .compile import function_table, general_function_names

    fast = function_table()

    def known(fn: str) -> bool:  # formulas' table (a heavy import) only for names the fast path lacks
        return fn in fast or fn in general_function_names()

    out: dict[Key, str] = {}

    def walk(node: Any, sheet: int, key: Key, depth: int) -> None:
        if depth > 20:
            return
        if node.kind == "fn" and not known(node.value):
            out.setdefault(key, f"#NAME?: unknown function {node.value}")
        elif node.kind == "name":
            target = graph.resolver.name_node(node.value, sheet)
            if target is None:
                out.setdefault(key, f"#NAME?: no defined name {node.value!r}")
            else:
                walk(target, sheet, key, depth + 1)
        elif node.kind == "ref" and graph.resolver.sheet_index(node.ref[0], sheet) is None:
            out.setdefault(key, f"#REF!: no sheet named {node.ref[0]!r}")
        elif node.kind == "err" and node.value in ("#REF!", "#NAME?"):
            out.setdefault(key, f"{node.value} written in the formula")
        for arg in node.args:
            walk(arg, sheet, key, depth)

    for key, tree in graph.trees.items():
        walk(tree, key[0], key, 0)
    return out


def name_problems(wb: WorkbookData) -> list[str]:
    """Defined names that point nowhere (a deleted sheet, #REF!)."""
    problems = []
    for n in wb.names:
        if n.name.startswith("_xlnm."):
            continue
        if "#REF!" in n.text.upper():
            problems.append(f"defined name {n.name!r} is #REF! ({n.text})")
            continue
        try:
            node = parse_formula(n.text)
        except WorkbookError:
            continue
        if node.kind == "ref" and node.ref[0] is not None and wb.sheet(node.ref[0]) is None:
            problems.append(f"defined name {n.name!r} refers to a missing sheet {node.ref[0]!r}")
    return problems


def error_report(wb: WorkbookData, results: dict[Key, Any], causes: dict[Key, str]) -> str:
    """Every #NAME?/#REF! among the results, origins (with their cause) first."""
    bad = [k for k, v in results.items() if v in (XlError.NAME, XlError.REF) and isinstance(v, XlError)]
    if not bad:
        return ""
    bad.sort(key=lambda k: (k not in causes, k))
    listed = [f"{address(wb, k)} {causes[k] if k in causes else results[k].text}" for k in bad[:MAX_LISTED]]
    more = f"; and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
    return f"#NAME?/#REF! in {len(bad)} cell(s): " + "; ".join(listed) + more


# --- one chunk of files -------------------------------------------------------------------


@dataclass
class _Loaded:
    file: str
    infos: Any = None
    parts: Any = None
    raw: bytes | None = None
    view: Any = None  # a layout.FileView: then ``wb`` is the layout's structure, values come from the view
    wb: WorkbookData | None = None
    fp: str = ""
    results: dict[Key, Any] = field(default_factory=dict)
    path: str = ""
    error: str = ""

    def stored(self, key: Key) -> Any:
        si, r, c = key
        cell = self.wb.sheets[si].cells.get((r, c)) if self.wb and si < len(self.wb.sheets) else None
        if cell is None or cell.formula is not None:
            return None
        return cell.value if self.view is None else self.view.value(key)

    def value(self, key: Key) -> Any:
        """The stored value of a cell (a formula cell's cached value), None when not stored."""
        if self.view is not None:
            return self.view.value(key)
        si, r, c = key
        cell = self.wb.sheets[si].cells.get((r, c)) if self.wb and si < len(self.wb.sheets) else None
        return None if cell is None else cell.value

    def book(self) -> WorkbookData:
        """The workbook exactly as the full scan reads it (built from the view only when asked)."""
        return self.view.materialize() if self.view is not None else self.wb


def named_cells(wb: WorkbookData) -> list[tuple[str, Key]]:
    """Workbook-scoped names that point at a single cell, with that cell."""
    out = []
    for name, dn in wb.workbook_names().items():
        key = name_target(wb, dn.text)
        if key is not None:
            out.append((name, key))
    return out


def _per_layout(item: "_Loaded", what: str, compute: Callable[[WorkbookData], Any]) -> Any:
    """``compute(item.wb)``, once per layout for files read through one (it depends on structure only)."""
    if item.view is None:
        return compute(item.wb)
    memo = item.view.layout.memo
    if what not in memo:
        memo[what] = compute(item.wb)
    return memo[what]


def named_values(wb: WorkbookData, results: dict[Key, Any], stored: Callable[[Key], Any] | None = None, cells: list[tuple[str, Key]] | None = None) -> dict[str, Any]:
    """Each workbook-scoped single-cell name and its value after recalculation.

    ``stored`` gives a cell's stored value when ``wb`` holds only the structure (a layout).
    """
    out = {}
    for name, key in named_cells(wb) if cells is None else cells:
        if key in results:
            value = results[key]
        elif stored is not None:
            value = stored(key)
        else:
            cell = wb.sheets[key[0]].cells.get(key[1:])
            value = None if cell is None else cell.value
        out[name] = value
    return out


def _out_path(file: str, out_dir: str | None) -> str | None:
    return None if out_dir is None else os.path.join(out_dir, os.path.basename(file))


def process_files(files: Sequence[str], out_dir: str | None, limits: Limits = DEFAULT_LIMITS, force_general: bool = False) -> list[dict[str, Any]]:
    """Recalculate (and write) a chunk of workbooks; one summary row per file, never raises for a file."""
    from .compile import run_program
    from .general import evaluate_file
    from .values import from_python, to_python
    from . import layout
    from .writeback import RawSource, apply, plan_writes, raw_copy_possible, write_package

    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
    loaded: list[_Loaded] = []
    for f in files:
        item = _Loaded(str(f))
        try:
            item.infos, item.parts, item.raw = read_package(f, limits)
            item.view = None if force_general else layout.read_via_layout(item.parts)
            if item.view is not None:
                item.wb, item.fp = item.view.layout.wb, item.view.layout.fp
                if item.raw is not None and raw_copy_possible(item.infos, RawSource(item.raw)):
                    # every member is copied from the raw bytes but the patched sheets, inflated again then
                    item.parts = Reinflated(item.raw, item.infos, {sl.part for sl in item.view.layout.sheets})
                    item.view.parts = item.parts
            else:
                item.wb = read_workbook(item.parts)
                item.fp = fingerprint(item.wb)
                if not force_general and layout.worth_remembering(item.parts):
                    layout.remember(item.parts, item.wb, item.fp)
        except WorkbookError as exc:
            item.error = str(exc)
        except OSError as exc:
            item.error = f"cannot read: {exc.strerror or exc}"
        loaded.append(item)

    groups: dict[str, list[_Loaded]] = {}
    for item in loaded:
        if not item.error:
            groups.setdefault(item.fp, []).append(item)

    for fp, members in groups.items():
        try:
            graph, program = _layout(fp, members[0].wb)
        except WorkbookError as exc:
            for m in members:
                m.error = str(exc)
            continue
        causes = static_diagnostics(graph)
        if not (isinstance(program, Unsupported) or force_general):
            try:
                n = len(members)
                inputs = {k: from_python([m.stored(k) for m in members]) for k in program.inputs}
                env = run_program(program, inputs, n)
                columns = {k: to_python(env[k], n) for k in program.outputs}
                for i, m in enumerate(members):
                    m.results = {k: col[i] for k, col in columns.items()}
                    m.path = "fast"
                causes = {**causes, **program.diagnostics}
            except Unsupported:  # found only at run time (e.g. a text lang argument): general path
                program = Unsupported("run time")
        if isinstance(program, Unsupported) or force_general:
            for m in members:
                try:
                    m.results = evaluate_file(m.file, m.book(), graph)
                    m.path = "general"
                except Exception as exc:  # noqa: BLE001 - one bad workbook must not stop the batch
                    m.error = f"general evaluator failed: {type(exc).__name__}: {exc}"
        for m in members:
            if m.error:
                continue
            problems = _per_layout(m, "name_problems", name_problems) + ([error_report(m.wb, m.results, causes)] if m.results else [])
            m.error = "; ".join(p for p in problems if p)

    rows = []
    for item in loaded:
        row: dict[str, Any] = {"file": item.file, "path": item.path, "error": item.error}
        if item.wb is not None and item.path:
            dst = _out_path(item.file, out_dir)
            try:
                if dst is not None:
                    raw = None if item.raw is None else RawSource(item.raw)
                    if item.view is not None:
                        write_package(item.infos, item.parts, functools.partial(item.view.patched, item.results), dst, raw)
                    else:
                        apply(item.infos, item.parts, plan_writes(item.wb, item.results), dst, raw)
                cells = _per_layout(item, "named_cells", named_cells)
                row.update(named_values(item.wb, item.results, item.value, cells))
            except OSError as exc:
                row["error"] = "; ".join(e for e in (item.error, f"cannot write {dst}: {exc}") if e)
        rows.append(row)
        item.parts = item.infos = item.raw = item.view = None  # let the bytes go before the next file
    return rows


# --- the batch -------------------------------------------------------------------------------


def expand_sources(sources: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files as given, and the workbooks (by suffix) of each directory, sorted."""
    out = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            out.extend(str(q) for q in sorted(p.iterdir()) if q.is_file() and q.suffix.lower() in WORKBOOK_SUFFIXES and not q.name.startswith(("~$", ".")))
        else:
            out.append(str(p))
    return out


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


class _Progress:
    """A rich progress bar that appears only after a second and only on a terminal."""

    def __init__(self, total: int, label: str, enabled: bool | None):
        self.total, self.label, self.done = total, label, 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self.bar: Any = None

    def advance(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is None and time.monotonic() - self.start > 1.0 and self.done < self.total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.total)
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def recalc_files(
    sources: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None,
    *,
    executor: concurrent.futures.Executor | None = None,
    jobs: int = 1,
    limits: Limits = DEFAULT_LIMITS,
    chunk_files: int | None = None,
    progress: bool | None = None,
    on_rows: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Summary rows of every workbook, in input order (see :func:`kpitree.udfs.recalc.recalc`)."""
    files = expand_sources(sources)
    out = None if out_dir is None else os.fspath(out_dir)
    if out is not None:
        clash = {os.path.abspath(f) for f in files} & {os.path.abspath(os.path.join(out, os.path.basename(f))) for f in files}
        if clash:
            raise ValueError(f"--out would overwrite a source workbook: {sorted(clash)[0]}")
        by_name: dict[str, list[str]] = {}
        for f in files:
            by_name.setdefault(os.path.basename(f), []).append(f)
        same = [paths for paths in by_name.values() if len(paths) > 1]
        if same:  # one copy would silently replace the other in --out
            raise ValueError(f"inputs with the same name would both be written to {os.path.join(out, os.path.basename(same[0][0]))}: "
                             f"{', '.join(same[0])}; recalculate them into different --out folders")
        os.makedirs(out, exist_ok=True)
    workers = jobs if executor is None else max(jobs, getattr(executor, "_max_workers", 0) or os.cpu_count() or 2)
    chunks = list(_chunks(files, chunk_files or chunk_size(len(files), workers)))
    bar = _Progress(len(files), "recalc", progress)
    rows: list[dict[str, Any]] = []
    own = None
    if executor is None and jobs > 1 and len(chunks) > 1:
        own = executor = concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(chunks)))
    try:
        if executor is None:
            for chunk in chunks:
                part = process_files(chunk, out, limits)
                rows.extend(part)
                bar.advance(len(part))
                if on_rows:
                    on_rows(part)
        else:
            # a bounded window of chunks in flight keeps memory flat on huge batches
            window = max(2, 2 * (jobs or os.cpu_count() or 2))
            pending: list[concurrent.futures.Future[Any]] = []
            it = iter(chunks)
            for chunk in it:
                pending.append(executor.submit(process_files, chunk, out, limits))
                if len(pending) >= window:
                    break
            while pending:
                part = pending.pop(0).result()
                rows.extend(part)
                bar.advance(len(part))
                if on_rows:
                    on_rows(part)
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(executor.submit(process_files, nxt, out, limits))
    except BaseException:
        if own is not None:
            own.shutdown(wait=True, cancel_futures=True)
            own = None
        raise
    finally:
        bar.close()
        if own is not None:
            own.shutdown()
    return rows


# --- scenarios -------------------------------------------------------------------------------


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
    inputs, outputs = {}, {}
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
    import numpy as np
    import pandas as pd

    from .compile import compile_graph, run_program
    from .values import const, from_series, to_python

    mapping = check_scenarios(template, list(table.columns))
    by_key = {template.inputs[name]: col for col, name in mapping.items()}
    causes = static_diagnostics(template.graph)
    try:
        if force_general:
            raise Unsupported("general path forced")
        program = compile_graph(template.graph)
        path = "fast"
    except Unsupported:
        program, path = None, "general"
    n_total = len(table)
    out_cols: dict[str, list[Any]] = {name: [] for name in template.outputs}
    errors: list[str] = []
    bar = _Progress(n_total, "scenarios", progress)
    try:
        if program is not None:
            stored = {k: _stored(template.wb, k) for k in program.inputs}
            for start in range(0, n_total, SCENARIO_BLOCK):
                block = table.iloc[start : start + SCENARIO_BLOCK]
                n = len(block)
                env_in = {k: (from_series(block[by_key[k]].to_numpy()) if k in by_key else const(stored[k])) for k in program.inputs}
                env = run_program(program, env_in, n)
                for name, key in template.outputs.items():
                    out_cols[name].extend(to_python(env[key], n))
                # only cells holding #NAME?/#REF! somewhere are looked at element by element
                bad_cells = [k for k in program.outputs if np.isin(env[k].err, (int(XlError.NAME), int(XlError.REF))).any()]
                causes.update(program.diagnostics)
                if bad_cells:
                    cols = {k: to_python(env[k], n) for k in bad_cells}
                    errors.extend(error_report(template.wb, {k: cols[k][i] for k in bad_cells}, causes) for i in range(n))
                else:
                    errors.extend([""] * n)
                bar.advance(n)
        else:
            from .general import GeneralModel

            model = GeneralModel(template.path, template.wb, template.graph)
            for _, row in table.iterrows():
                values = {k: _cell_input(row[col]) for k, col in by_key.items()}
                res = model.run(values)
                for name, key in template.outputs.items():
                    out_cols[name].append(res.get(key, 0.0))
                errors.append(error_report(template.wb, {k: v for k, v in res.items() if k in template.graph.trees or k in template.graph.spill_owner}, causes))
                bar.advance(1)
    finally:
        bar.close()
    frame = table.reset_index(drop=True).copy()
    for name, values in out_cols.items():
        frame[name] = pd.Series([_cell_out(v) for v in values], dtype=object) if _mixed(values) else values
    frame["error"] = errors
    return frame, path


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


def _cell_out(value: Any) -> Any:
    """Summary cells: errors as their Excel text, so CSV/Excel/parquet readers see ``#DIV/0!``."""
    return value.text if isinstance(value, XlError) else value


def rows_frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    # column by column: a second list of row dicts would double the parent's memory on big batches
    keys: dict[str, None] = {}
    for r in rows:
        if len(r) != len(keys) or any(k not in keys for k in r):
            keys.update(dict.fromkeys(r))
    nan = float("nan")
    frame = pd.DataFrame({k: [_cell_out(r[k]) if k in r else nan for r in rows] for k in keys})
    if frame.empty:
        frame = pd.DataFrame(columns=["file", "path", "error"])
    return frame


def write_summary(frame: Any, path: str | os.PathLike[str]) -> None:
    """CSV, Excel or parquet by suffix; written to a temp file and renamed."""
    import tempfile

    path = os.fspath(path)
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".xlsx", ".parquet"):
        raise ValueError(f"summary must be .csv, .xlsx or .parquet, not {suffix or 'no suffix'}")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kpitree-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False, encoding="utf-8")
        elif suffix == ".xlsx":
            frame.to_excel(tmp, index=False, engine="xlsxwriter")
        else:
            safe = frame.copy()
            for col in safe.columns:  # parquet wants one type per column
                if safe[col].dtype == object and len({type(v) for v in safe[col] if v is not None}) > 1:
                    safe[col] = safe[col].map(lambda v: None if v is None else str(v))
            safe.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
