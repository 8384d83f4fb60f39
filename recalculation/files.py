"""Batches of workbook files: grouped onto compiled programs, written back, run on an executor.

Each workbook is read (:mod:`.io.package`, or :mod:`.io.layout` for a layout seen
before), fingerprinted by its formulas and names, and grouped with the others of the
same layout; a group runs once through the compiled program (:mod:`.compiler`) with
every file's inputs as one column each, or, when the layout cannot be vectorised,
file by file through ``formulas`` (:mod:`.general`). Results are written back
(:mod:`.io.writeback`). Work is cut into chunks of files so memory stays flat however
many files stream past, and chunks go to any ``concurrent.futures.Executor`` (a process
pool, Dask's ``client.get_executor()``, Ray's executor ...).

Every problem with one workbook becomes that workbook's ``error`` and the batch goes
on; see docs/recalc.md for the list.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .diagnostics import error_report, name_problems
from .graph import Graph, Key, Unsupported, build_graph, fingerprint, name_target
from .io.package import DEFAULT_LIMITS, Limits, Reinflated, WorkbookData, WorkbookError, read_package, read_workbook
from .progress import Progress

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods")
CHUNK_FILES = 256  # the most files per chunk: one compiled run has a fixed cost (≈ 0.1 s), ≈ 0.2 MB per file in flight
MIN_CHUNK_FILES = 16

Row = dict[str, Any]


def chunk_size(n_files: int, jobs: int, most: int = CHUNK_FILES) -> int:
    """Files per chunk: as many as allowed, yet at least two chunks per worker so the pool stays busy."""
    if jobs <= 1:
        return most
    return max(MIN_CHUNK_FILES, min(most, -(-n_files // (2 * jobs))))


# --- per-process cache of compiled layouts -------------------------------------------------

_LAYOUTS: dict[str, Any] = {}  # fingerprint -> (Graph, Program | Unsupported) or WorkbookError


def _layout(fp: str, wb: WorkbookData) -> tuple[Graph, Any]:
    """Graph and program of a layout, built once per process; a broken layout raises each time."""
    cached = _LAYOUTS.get(fp)
    if cached is None:
        from .compiler import compile_graph

        try:
            graph = build_graph(wb)
            try:
                program: Any = compile_graph(graph)
            except Unsupported as exc:
                program = exc
            cached = (graph, program)
        except WorkbookError as exc:
            cached = exc
        except Exception as exc:  # noqa: BLE001 - no formula may stop the batch: the layout's files get an error row
            cached = WorkbookError(f"cannot evaluate: {type(exc).__name__}: {exc}")
        if len(_LAYOUTS) > 256:
            _LAYOUTS.clear()
        _LAYOUTS[fp] = cached
    if isinstance(cached, WorkbookError):
        raise WorkbookError(str(cached))
    return cached


# --- one chunk of files ----------------------------------------------------------------------


@dataclass
class _Loaded:
    """One file of a chunk, from reading to its summary row."""

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
        """The stored value of an input cell (None for a blank or a formula cell)."""
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
        assert self.wb is not None
        return self.view.materialize() if self.view is not None else self.wb


def named_cells(wb: WorkbookData) -> list[tuple[str, Key]]:
    """Workbook-scoped names that point at a single cell, with that cell."""
    out = []
    for name, dn in wb.workbook_names().items():
        key = name_target(wb, dn.text)
        if key is not None:
            out.append((name, key))
    return out


def _per_layout(item: _Loaded, what: str, compute: Callable[[WorkbookData], Any]) -> Any:
    """``compute(item.wb)``, once per layout for files read through one (it depends on structure only)."""
    assert item.wb is not None
    if item.view is None:
        return compute(item.wb)
    memo = item.view.layout.memo
    if what not in memo:
        memo[what] = compute(item.wb)
    return memo[what]


def named_values(wb: WorkbookData, results: dict[Key, Any], stored: Callable[[Key], Any],
                 cells: list[tuple[str, Key]]) -> dict[str, Any]:
    """Each workbook-scoped single-cell name and its value after recalculation."""
    return {name: results[key] if key in results else stored(key) for name, key in cells}


def _read(file: str, limits: Limits, force_general: bool) -> _Loaded:
    """Read one file: through a remembered layout when one matches, else by the full scan."""
    from .io import layout
    from .io.writeback import RawSource, raw_copy_possible

    item = _Loaded(str(file))
    try:
        item.infos, item.parts, item.raw = read_package(file, limits)
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
    return item


def _run_compiled(program: Any, members: list[_Loaded]) -> None:
    """Every member's inputs as one column each, through the layout's program at once."""
    from .compiler import run_program
    from .values import from_python, to_python

    n = len(members)
    inputs = {k: from_python([m.stored(k) for m in members]) for k in program.inputs}
    env = run_program(program, inputs, n)
    columns = {k: to_python(env[k], n) for k in program.outputs}
    for i, m in enumerate(members):
        m.results = {k: col[i] for k, col in columns.items()}
        m.path = "fast"


def _run_general(members: list[_Loaded]) -> dict[str, dict[Key, str]]:
    """Each member evaluated on its own; a failure is that member's error. Returns each file's diagnostics."""
    from .general import evaluate_file

    causes: dict[str, dict[Key, str]] = {}
    for m in members:
        try:
            m.results, causes[m.file] = evaluate_file(m.book(), m.stored)
            m.path = "general"
        except WorkbookError as exc:
            m.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - one bad workbook must not stop the batch
            m.error = f"cannot evaluate: {type(exc).__name__}: {exc}"
    return causes


def _evaluate_group(members: list[_Loaded], force_general: bool) -> None:
    """Recalculate the members of one layout: the compiled path, else each on its own; then diagnose."""
    try:
        _, program = _layout(members[0].fp, members[0].wb)  # type: ignore[arg-type]
    except WorkbookError as exc:
        for m in members:
            m.error = str(exc)
        return
    general = force_general or isinstance(program, Unsupported)
    causes: dict[str, dict[Key, str]] = {}
    if not general:
        try:
            _run_compiled(program, members)
            causes = {m.file: program.diagnostics for m in members}
        except Unsupported:  # found only at run time (a position that differs between files): each on its own
            general = True
        except Exception:  # noqa: BLE001 - whatever failed for the group is tried file by file, where it is each file's error
            general = True
    if general:
        causes = _run_general(members)
    for m in members:
        if m.error:
            continue
        problems = _per_layout(m, "name_problems", name_problems)
        if m.results:
            problems = [*problems, error_report(m.wb, m.results, causes.get(m.file, {}))]  # type: ignore[arg-type]
        m.error = "; ".join(p for p in problems if p)


def _summary_row(item: _Loaded, out_dir: str | None) -> Row:
    """Write the item's copy (when ``out_dir``) and give its summary row."""
    from .io.writeback import RawSource, apply, plan_writes, write_package

    row: Row = {"file": item.file, "path": item.path, "error": item.error}
    if item.wb is None or not item.path:
        return row
    dst = None if out_dir is None else os.path.join(out_dir, os.path.basename(item.file))
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
    return row


def process_files(files: Sequence[str], out_dir: str | None, limits: Limits = DEFAULT_LIMITS,
                  force_general: bool = False) -> list[Row]:
    """Recalculate (and write) a chunk of workbooks; one summary row per file, never raises for a file."""
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
    loaded = [_read(f, limits, force_general) for f in files]
    groups: dict[str, list[_Loaded]] = {}
    for item in loaded:
        if not item.error:
            groups.setdefault(item.fp, []).append(item)
    for members in groups.values():
        _evaluate_group(members, force_general)
    rows = []
    for item in loaded:
        rows.append(_summary_row(item, out_dir))
        item.parts = item.infos = item.raw = item.view = None  # let the bytes go before the next file
    return rows


# --- the batch -------------------------------------------------------------------------------


def expand_sources(sources: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files as given, and the workbooks (by suffix) of each directory, sorted."""
    out: list[str] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            out.extend(str(q) for q in sorted(p.iterdir()) if q.is_file() and q.suffix.lower() in WORKBOOK_SUFFIXES
                       and not q.name.startswith(("~$", ".")))
        else:
            out.append(str(p))
    return out


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def check_outputs(files: Sequence[str], out: str) -> None:
    """Refuse an ``--out`` where a copy would overwrite a source, or two copies each other (ValueError)."""
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


def _run_chunks(chunks: list[list[str]], out: str | None, limits: Limits, executor: concurrent.futures.Executor | None,
                window: int) -> Iterator[list[Row]]:
    """Each chunk's rows in order: here, or on ``executor`` with at most ``window`` chunks in flight."""
    if executor is None:
        for chunk in chunks:
            yield process_files(chunk, out, limits)
        return
    # a bounded window of chunks in flight keeps memory flat on huge batches
    pending: list[concurrent.futures.Future[list[Row]]] = []
    it = iter(chunks)
    for chunk in it:
        pending.append(executor.submit(process_files, chunk, out, limits))
        if len(pending) >= window:
            break
    while pending:
        part = pending.pop(0).result()
        nxt = next(it, None)
        if nxt is not None:
            pending.append(executor.submit(process_files, nxt, out, limits))
        yield part


def recalc_files(
    sources: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None,
    *,
    executor: concurrent.futures.Executor | None = None,
    jobs: int = 1,
    limits: Limits = DEFAULT_LIMITS,
    chunk_files: int | None = None,
    progress: bool | None = None,
    on_rows: Callable[[list[Row]], None] | None = None,
) -> list[Row]:
    """Summary rows of every workbook, in input order (see :func:`kpitree.recalculation.recalc`)."""
    files = expand_sources(sources)
    out = None if out_dir is None else os.fspath(out_dir)
    if out is not None:
        check_outputs(files, out)
        os.makedirs(out, exist_ok=True)
    workers = jobs if executor is None else max(jobs, getattr(executor, "_max_workers", 0) or os.cpu_count() or 2)
    chunks = list(_chunks(files, chunk_files or chunk_size(len(files), workers)))
    bar = Progress(len(files), "recalc", progress)
    rows: list[Row] = []
    own = None
    if executor is None and jobs > 1 and len(chunks) > 1:
        own = executor = concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(chunks)))
    try:
        for part in _run_chunks(chunks, out, limits, executor, max(2, 2 * (jobs or os.cpu_count() or 2))):
            rows.extend(part)
            bar.advance(len(part))
            if on_rows:
                on_rows(part)
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
