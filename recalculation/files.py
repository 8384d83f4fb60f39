"""Batches of workbook files: grouped onto compiled programs, written back, run on an executor.

Each workbook is read (:mod:`.io.package`, or :mod:`.io.layout` for a layout seen
before), fingerprinted by its formulas and names, and grouped with the others of the
same layout; a group runs once through the compiled program (:mod:`.compiler`) with
every file's inputs as one column each, or, when the layout cannot be shared, file by
file through the same evaluator (:mod:`.general`). Results are written back
(:mod:`.io.writeback`). Work is cut into chunks of files so memory stays flat however
many files stream past, and chunks go to any ``concurrent.futures.Executor`` (a process
pool, Dask's ``client.get_executor()``, Ray's executor ...).

Every problem with one workbook becomes that workbook's ``error`` and the batch goes
on; see docs/recalc.md for the list.
"""

from __future__ import annotations

import collections
import concurrent.futures
import concurrent.futures.process
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpitree.errors import KpitreeError

from .diagnostics import error_report, name_problems
from .graph import Graph, Key, Unsupported, build_graph, fingerprint, name_target
from .io.outputs import folder_syncs_deferred
from .io.package import DEFAULT_LIMITS, Limits, Reinflated, WorkbookData, WorkbookError, read_package, read_workbook
from .progress import Progress

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods")
CHUNK_FILES = 512  # the most files per chunk: one compiled run has a fixed cost (≈ 0.1–0.3 s), ≈ 0.15 MB per file in flight
# (10,000 template files, 2 workers, with a summary: 441 MB for the whole process tree; docs/performance.md)
MIN_FILES_PER_WORKER = 10  # a worker per this many files (docs/performance.md: from 2 files, 2 workers were faster)

Row = dict[str, Any]


def worth_workers(n_files: int) -> int:
    """How many worker processes a batch of ``n_files`` gains from. A forked worker starts in milliseconds
    and compiles the layout while the other does the same, so on an idle machine two workers beat one even
    for 2 files (docs/performance.md); one per ``MIN_FILES_PER_WORKER`` files keeps a handful of files, where
    the gain is a few per cent, from taking a second CPU (and ≈ 50 MB) from a busy machine."""
    return max(1, n_files // MIN_FILES_PER_WORKER)


def chunk_size(n_files: int, jobs: int, most: int = CHUNK_FILES) -> int:
    """Files per chunk: as many as allowed, and the batch shared evenly among the workers (a chunk's compiled
    run costs about the same for 16 files as for 256, so fewer, wider chunks are faster)."""
    if jobs <= 1:
        return most
    per_worker = -(-n_files // jobs)  # (ceilings)
    chunks_each = max(1, -(-per_worker // most))  # (no file: no chunk, yet no division by zero)
    return max(1, -(-per_worker // chunks_each))


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
    because: str = ""  # why the general path: the function and cell that sent the file there

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
    except FileNotFoundError as exc:
        item.error = (f"a link to a missing file ({os.readlink(file)})" if os.path.islink(file)
                      else f"cannot read: {exc.strerror or exc}")
    except OSError as exc:
        item.error = f"cannot read: {exc.strerror or exc}"
    except Exception as exc:  # noqa: BLE001 - one bad workbook must not stop the batch
        item.error = unexpected("reading", exc)
    if item.error:
        item.infos = item.parts = item.raw = item.view = item.wb = None
    return item


def unexpected(doing: str, exc: BaseException) -> str:
    """The ``error`` of a file for an exception nobody foresaw: what was being done, and what happened."""
    if isinstance(exc, RecursionError):
        return f"{doing}: a formula or an XML element is nested too deeply to read"
    if isinstance(exc, MemoryError):
        return f"{doing}: out of memory"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{doing}: unexpected {type(exc).__name__}" + (f": {text}" if text else "")


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
        m.results, m.path = {}, ""
        try:
            m.results, causes[m.file] = evaluate_file(m.book(), m.stored)
            m.path = "general"
        except WorkbookError as exc:
            m.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - one bad workbook must not stop the batch
            m.error = unexpected("general evaluator failed", exc).replace(": unexpected ", ": ", 1)
    return causes


def _evaluate_group(members: list[_Loaded], force_general: bool, phase: Callable[[str], None] = lambda text: None) -> None:
    """Recalculate the members of one layout: the compiled path, else each on its own; then diagnose.

    Nothing raises out of here: a failure of the layout is every member's error, a
    failure of the compiled run sends the members to the general path, a failure
    there or in the diagnosis is that member's error.
    """
    try:
        graph, program = _layout(members[0].fp, members[0].wb)  # type: ignore[arg-type]
    except WorkbookError as exc:
        for m in members:
            m.error = str(exc)
        return
    except Exception as exc:  # noqa: BLE001 - one bad layout must not stop the batch
        for m in members:
            m.error = unexpected("reading the formulas", exc)
        return
    general = force_general or isinstance(program, Unsupported)
    because = "asked for (general=True)" if force_general else (
        program.because(members[0].wb) if isinstance(program, Unsupported) else "")
    causes: dict[str, dict[Key, str]] = {}
    phase(f"evaluating {len(graph.trees):,} formulas" + (" (general path)" if general else ""))
    if not general:
        try:
            _run_compiled(program, members)
            causes = {m.file: program.diagnostics for m in members}
        except Unsupported as exc:  # found only at run time (sizes that differ even within groups): each on its own
            general, because = True, exc.because(members[0].wb)
        except Exception as exc:  # noqa: BLE001 - whatever failed for the group is tried file by file, where it is each file's error
            general, because = True, f"the compiled run failed ({type(exc).__name__}: {exc})"
    if general:
        causes = _run_general(members)
        for m in members:
            m.because = because if m.path == "general" else ""
    _diagnose(members, causes)


def _diagnose(members: list[_Loaded], causes: dict[str, dict[Key, str]]) -> None:
    """Each member's ``error``: missing names, and the origins of its #NAME?/#REF! values."""
    for m in members:
        if m.error:
            continue
        try:
            problems = _per_layout(m, "name_problems", name_problems)
            if m.results:
                problems = [*problems, error_report(m.wb, m.results, causes.get(m.file, {}))]  # type: ignore[arg-type]
            m.error = "; ".join(p for p in problems if p)
        except Exception as exc:  # noqa: BLE001 - one bad workbook must not stop the batch
            m.error = unexpected("checking the results", exc)


def _summary_row(item: _Loaded, dst: str | None, strict_write: bool = False) -> Row:
    """Write the item's copy to ``dst`` (when given) and give its summary row.

    A copy that cannot be written is the row's ``error`` — or, with ``strict_write``, raises.
    """
    from .io.writeback import RawSource, apply, plan_writes, write_package

    row: Row = {"file": item.file, "path": item.path, "error": item.error, "general_because": item.because}
    if item.wb is None or not item.path:
        return row
    try:
        cells = _per_layout(item, "named_cells", named_cells)
        row.update(named_values(item.wb, item.results, item.value, cells))
    except Exception as exc:  # noqa: BLE001 - one bad workbook must not stop the batch
        row["error"] = "; ".join(e for e in (item.error, unexpected("reading the named cells", exc)) if e)
    if dst is None:
        return row
    problem = ""
    try:
        raw = None if item.raw is None else RawSource(item.raw)
        if item.view is not None:
            write_package(item.infos, item.parts, functools.partial(item.view.patched, item.results), dst, raw)
        else:
            apply(item.infos, item.parts, plan_writes(item.wb, item.results), dst, raw)
    except Exception as exc:
        if strict_write:
            raise
        problem = _write_problem(dst, exc)
    if problem:
        row["error"] = "; ".join(e for e in (row["error"], problem) if e)
    return row


def _write_problem(dst: str, exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"cannot write {dst}: {exc.strerror or exc}"
    if isinstance(exc, KpitreeError):  # an output that may not be replaced (read-only, hard links)
        return f"not written: {exc}"
    return unexpected("writing the recalculated copy", exc)


def process_files(files: Sequence[str], out_dir: str | None, limits: Limits = DEFAULT_LIMITS,
                  force_general: bool = False, dests: Sequence[str | None] | None = None,
                  phases: Progress | None = None, strict_write: bool = False) -> list[Row]:
    """Recalculate (and write) a chunk of workbooks; one summary row per file, never raises for a file.

    Copies go to ``out_dir/<name>``, or to ``dests[i]`` for ``files[i]`` when given
    (folders are made as needed). ``phases`` is told each step (for one large workbook).
    With ``strict_write`` a copy that cannot be written raises instead (one file, :func:`recalc_file`).
    """
    def phase(text: str) -> None:
        if phases is not None:
            phases.phase(text)

    if dests is None:
        dests = [None if out_dir is None else os.path.join(out_dir, os.path.basename(f)) for f in files]
    loaded = []
    for f in files:
        phase(f"reading {os.path.basename(f)}")
        loaded.append(_read(f, limits, force_general))
    groups: dict[str, list[_Loaded]] = {}
    for item in loaded:
        if not item.error:
            groups.setdefault(item.fp, []).append(item)
    for members in groups.values():
        phase(f"reading the formulas ({_cell_count(members[0])} cells)")
        _evaluate_group(members, force_general, phase)
    rows = []
    with folder_syncs_deferred():
        for item, dst in zip(loaded, dests):
            if dst is not None:
                phase(f"writing {dst}")
                try:
                    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
                except OSError:
                    pass  # the write below says why
            rows.append(_summary_row(item, dst, strict_write))
            item.parts = item.infos = item.raw = item.view = None  # let the bytes go before the next file
    phase("")
    return rows


def _cell_count(item: _Loaded) -> str:
    wb = item.wb
    n = sum(len(s.cells) for s in wb.sheets) if wb is not None else 0
    return f"{n:,}"


# --- the batch -------------------------------------------------------------------------------


@dataclass
class Sources:
    """What a list of files and folders holds: the workbooks, where each one's copy goes, what was passed over."""

    files: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # the copy's path under --out (a file's name, or its path in a folder)
    skipped: list[str] = field(default_factory=list)  # notes: subfolders without --recursive, ...


def _is_workbook_name(name: str) -> bool:
    return Path(name).suffix.lower() in WORKBOOK_SUFFIXES and not name.startswith(("~$", "."))


def find_sources(sources: Iterable[str | os.PathLike[str]], *, recursive: bool = False,
                 exclude: Iterable[str | os.PathLike[str]] = ()) -> Sources:
    """Files as given, and the workbooks (by suffix) of each folder, sorted.

    A folder's subfolders are searched with ``recursive`` (their copies keep the
    relative path), else each one is noted in ``skipped``. A symbolic link in a folder
    whose target is missing is kept as a file (its summary row says so). Folders in
    ``exclude`` (the output folder) are never searched. A workbook reached twice (a file
    and its folder, a link) is recalculated once, with a note.
    """
    finder = _Finder(recursive, exclude)
    for src in sources:
        p = Path(src)
        if p.is_dir():
            finder.folder(p)
        else:
            finder.add(p, p.name)
    return finder.found


class _Finder:
    def __init__(self, recursive: bool, exclude: Iterable[str | os.PathLike[str]]):
        from .io.outputs import real

        self.real = real
        self.recursive = recursive
        self.excluded = {real(e) for e in exclude}
        self.taken: set[str] = set()
        self.seen_workbooks = 0
        self.found = Sources()

    def add(self, file: Path, name: str) -> None:
        key = self.real(file) if not file.is_symlink() or file.exists() else os.path.abspath(file)
        if key in self.taken:
            self.found.skipped.append(f"{file}: given more than once, recalculated once")
            return
        self.taken.add(key)
        self.found.files.append(str(file))
        self.found.names.append(name)

    def folder(self, root: Path) -> None:
        before = self.seen_workbooks
        self._search(root)
        if self.seen_workbooks == before:  # a wrong folder (exports, PDFs …): say so rather than report "0 workbooks"
            self.found.skipped.append(f"{root}: no workbook ({', '.join(WORKBOOK_SUFFIXES)}) in the folder")

    def _search(self, root: Path) -> None:
        seen = {self.real(root)}
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(folder.iterdir())
            except OSError as exc:
                self.found.skipped.append(f"{folder}: cannot list the folder ({exc.strerror or exc})")
                continue
            subfolders = []
            for q in entries:
                if q.name.startswith((".", "~$")):
                    continue
                if q.is_dir():
                    if self._descend(q, seen):
                        subfolders.append(q)
                elif _is_workbook_name(q.name) and (q.is_file() or (q.is_symlink() and not q.exists())):
                    self.seen_workbooks += 1  # counted before add(), which passes over one given twice
                    self.add(q, os.path.relpath(q, root))
            stack.extend(reversed(subfolders))

    def _descend(self, sub: Path, seen: set[str]) -> bool:
        where = self.real(sub)
        if where in self.excluded:
            return False
        if not self.recursive:
            self.found.skipped.append(f"{sub}: a subfolder, not searched (add --recursive to include subfolders)")
            return False
        if where in seen:
            self.found.skipped.append(f"{sub}: a link to a folder already searched, skipped")
            return False
        seen.add(where)
        return True


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def output_paths(found: Sources, out: str) -> list[str]:
    return [os.path.join(out, name) for name in found.names]


def check_outputs(files: Sequence[str], out: str | None, *, names: Sequence[str] | None = None,
                  summary: str | os.PathLike[str] | None = None, other_inputs: Sequence[str | os.PathLike[str]] = ()) -> None:
    """Refuse, before anything runs, outputs that would overwrite an input or each other.

    Compares real paths and inodes (:func:`.io.outputs.check_not_inputs`): ``--out``
    being a link to the inputs' folder, a copy's name being a link to a source, the
    summary being a source, are all refused (:class:`.io.outputs.OutputError`, a
    ``ValueError``).
    """
    from .io.outputs import OutputError, check_not_inputs, check_replaceable, real

    names = [os.path.basename(f) for f in files] if names is None else list(names)
    dests = [] if out is None else [os.path.join(out, n) for n in names]
    inputs = [*files, *(os.fspath(p) for p in other_inputs)]
    check_not_inputs([("--out", d) for d in dests] + ([("--summary", summary)] if summary is not None else []), inputs)
    by_dest: dict[str, list[str]] = {}
    for f, d in zip(files, dests):
        by_dest.setdefault(real(d), []).append(f)
    same = [paths for paths in by_dest.values() if len(paths) > 1]
    if same:  # one copy would silently replace the other in --out
        raise OutputError(f"inputs with the same name would both be written to {os.path.join(out or '', os.path.basename(same[0][0]))}: "
                          f"{', '.join(same[0])}; recalculate them into different --out folders")
    if summary is not None and real(summary) in by_dest:
        raise OutputError(f"--summary {summary} is also the recalculated copy of {by_dest[real(summary)][0]}; choose another name")
    if summary is not None:  # a read-only or folder summary is refused now, not after the whole batch
        check_replaceable(real(summary))
    if out is not None and os.path.exists(out) and not os.path.isdir(out):
        raise OutputError(f"--out {out} is a file; give a folder for the recalculated copies")


@dataclass
class _Unit:
    """Files sent to a worker as one task; ``suspect`` ones run alone (after a worker died)."""

    items: list[tuple[str, str | None]]
    suspect: bool = False
    done: list[Row] | None = None  # rows already computed before the pool broke


class _Batch:
    """Chunks in flight on an executor; a dead worker costs only the file that killed it.

    When a worker of the batch's own pool dies (killed, out of memory, a crash in a
    library), the pool is broken and every task in flight fails. Tasks that had
    finished keep their rows; the others run again on a new pool, one at a time, so a
    task that breaks the pool again holds the culprit: it is halved until the one file
    whose worker dies alone gets the ``error`` (a worker killed from outside costs
    nothing but time). With an executor from outside (no ``restart``), the files of a
    failed task get the error.
    """

    def __init__(self, chunks: list[list[tuple[str, str | None]]], limits: Limits, executor: Any, window: int,
                 restart: Callable[[], Any] | None):
        self.queue = collections.deque(_Unit(chunk) for chunk in chunks)
        self.limits = limits
        self.executor = executor
        self.window = window
        self.restart = restart

    def _submit(self, unit: _Unit) -> Any:
        if unit.done is not None:
            future: concurrent.futures.Future[list[Row]] = concurrent.futures.Future()
            future.set_result(unit.done)
            return future
        try:
            return self.executor.submit(process_files, [f for f, _ in unit.items], None, self.limits, False,
                                        [d for _, d in unit.items])
        except concurrent.futures.process.BrokenProcessPool as exc:
            # A worker died between two submissions: this unit was in flight as much as the others, so
            # it takes the same road (requeued, or the culprit's error) instead of ending the batch.
            broken: concurrent.futures.Future[list[Row]] = concurrent.futures.Future()
            broken.set_exception(exc)
            return broken

    def _may_submit(self, unit: _Unit, pending: collections.deque[tuple[_Unit, Any]]) -> bool:
        if not pending:
            return True
        if len(pending) >= self.window or (unit.suspect and unit.done is None):
            return False
        return not any(u.suspect and u.done is None for u, _ in pending)

    def _after_break(self, unit: _Unit, pending: collections.deque[tuple[_Unit, Any]], exc: BaseException) -> list[Row]:
        """Requeue what was in flight when the pool broke; the rows of a file proven to kill its worker."""
        again: list[_Unit] = []
        failed: list[Row] = []
        if not unit.suspect:
            again.append(_Unit(unit.items, suspect=True))
        elif len(unit.items) == 1:  # it ran alone and broke the pool again: this file kills its worker
            failed.append(_failed(unit.items[0][0], exc))
        else:
            half = len(unit.items) // 2
            again += [_Unit(unit.items[:half], suspect=True), _Unit(unit.items[half:], suspect=True)]
        for other, f in pending:
            if f.done() and not f.cancelled() and f.exception() is None:
                again.append(_Unit(other.items, done=f.result()))
            else:
                again.append(_Unit(other.items, suspect=True))
        pending.clear()
        self.queue.extendleft(reversed(again))
        assert self.restart is not None
        self.executor = self.restart()
        return failed

    def rows(self) -> Iterator[list[Row]]:
        pending: collections.deque[tuple[_Unit, Any]] = collections.deque()
        while self.queue or pending:
            while self.queue and self._may_submit(self.queue[0], pending):
                unit = self.queue.popleft()
                pending.append((unit, self._submit(unit)))
            unit, future = pending.popleft()
            try:
                result = future.result()
            except concurrent.futures.process.BrokenProcessPool as exc:
                if self.restart is None:
                    yield [_failed(f, exc) for f, _ in unit.items]
                    continue
                failed = self._after_break(unit, pending, exc)
                if failed:
                    yield failed
                continue
            except Exception as exc:  # noqa: BLE001 - an executor's own failure: these files' error, the batch goes on
                yield [_failed(f, exc) for f, _ in unit.items]
                continue
            yield result


def _failed(file: str, exc: BaseException) -> Row:
    if isinstance(exc, concurrent.futures.process.BrokenProcessPool):
        return {"file": file, "path": "", "general_because": "", "error": "the worker process recalculating this file died "
                "(killed, out of memory, or a crash); the other files went on"}
    return {"file": file, "path": "", "error": unexpected("worker failed", exc), "general_because": ""}


def recalc_files(
    sources: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None,
    *,
    executor: concurrent.futures.Executor | None = None,
    jobs: int | None = 1,
    limits: Limits = DEFAULT_LIMITS,
    chunk_files: int | None = None,
    progress: bool | None = None,
    on_rows: Callable[[list[Row]], None] | None = None,
    recursive: bool = False,
    found: Sources | None = None,
) -> list[Row]:
    """Summary rows of every workbook, in input order (see :func:`kpitree.recalculation.recalc`).

    ``jobs`` is capped at the CPUs this process may use; ``None`` chooses: one worker per
    ``MIN_FILES_PER_WORKER`` files, at most one per CPU (a smaller batch runs in this process).
    With ``jobs > 1`` and more than one chunk, the batch's own pool runs the chunks (:mod:`.workers`: its workers
    die with this process; SIGTERM/SIGHUP stop it like Ctrl-C).
    """
    from . import workers

    out = None if out_dir is None else os.fspath(out_dir)
    if found is None:
        found = find_sources(sources, recursive=recursive, exclude=[] if out is None else [out])
    files = found.files
    dests: list[str | None] = [None] * len(files)
    if out is not None:
        check_outputs(files, out, names=found.names)
        os.makedirs(out, exist_ok=True)
        dests = list(output_paths(found, out))
    if jobs is None:  # as many as the batch gains from (the command line's default)
        jobs = min(workers.cpu_count(), worth_workers(len(files))) if executor is None else workers.cpu_count()
    jobs = max(1, min(jobs, workers.cpu_count())) if executor is None else jobs
    n_workers = jobs if executor is None else max(jobs, getattr(executor, "_max_workers", 0) or workers.cpu_count())
    chunks = list(_chunks(list(zip(files, dests)), chunk_files or chunk_size(len(files), n_workers)))
    bar = Progress(len(files), "recalc", progress)
    rows: list[Row] = []

    def take(part: list[Row]) -> None:
        rows.extend(part)
        bar.advance(len(part))
        if on_rows:
            on_rows(part)

    with workers.signals_raise():
        try:
            if executor is None and (jobs <= 1 or len(chunks) <= 1):
                for chunk in chunks:
                    take(process_files([f for f, _ in chunk], None, limits, False, [d for _, d in chunk], phases=bar))
            elif executor is not None:
                for part in _Batch(chunks, limits, executor, max(2, 2 * n_workers), None).rows():
                    take(part)
            else:
                folders = {os.path.dirname(os.path.abspath(d)) for d in dests if d is not None}
                _run_own_pool(chunks, limits, min(jobs, len(chunks)), folders, take)
        finally:
            bar.close()
    return rows


def _run_own_pool(chunks: list[list[tuple[str, str | None]]], limits: Limits, n: int, folders: set[str],
                  take: Callable[[list[Row]], None]) -> None:
    """The chunks on a pool of ``n`` workers started here and stopped here, whatever happens."""
    from . import compiler, workers  # noqa: F401 - the engine imported once here; the forked workers inherit it

    pool, prefix = workers.start_pool(n)

    def restart() -> Any:
        nonlocal pool, prefix
        workers.stop_pool(pool, kill=True, prefix=prefix, folders=folders)
        pool, prefix = workers.start_pool(n)
        return pool

    try:
        for part in _Batch(chunks, limits, pool, max(2, 2 * n), restart).rows():
            take(part)
    except BaseException:  # Ctrl-C, SIGTERM, SIGHUP: workers end now, their temporary files go
        workers.stop_pool(pool, kill=True, prefix=prefix, folders=folders)
        raise
    workers.stop_pool(pool, kill=False)
