"""Batch recalculation of kpitree workbooks without Excel: files, folders, scenario tables.

>>> import kpitree
>>> summary = kpitree.recalc(["teams/"], out="recalculated/")            # doctest: +SKIP
>>> what_if = kpitree.recalc("template.xlsx", scenarios="inputs.csv")    # doctest: +SKIP

The public API is :func:`recalc`, :func:`recalc_file`, :class:`Limits` and the errors
(:class:`WorkbookError`, :class:`ScenarioError`); ``kpitree.recalc`` and
``kpitree.recalc_file`` are the same functions. The modules of this package are the
engine's inside, described in docs/architecture.md; docs/recalc.md says how it computes,
how it fails and where it differs from Excel.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .io.package import DEFAULT_LIMITS, Limits, WorkbookError
    from .scenarios import ScenarioError

PathLike = str | os.PathLike[str]

# loaded on first use (PEP 562): ``kpitree --help`` and argument errors must not import the engine (numpy)
_WHERE = {"DEFAULT_LIMITS": ".io.package", "Limits": ".io.package", "WorkbookError": ".io.package",
          "ScenarioError": ".scenarios"}
SUMMARY_SUFFIXES = (".csv", ".xlsx", ".parquet")  # what --summary may end in (summary.py writes each)
SUMMARY_FIELDS = ("file", "path", "error", "general_because")  # a files-mode summary's columns before the named values


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["DEFAULT_LIMITS", "SUMMARY_SUFFIXES", "Limits", "ScenarioError", "WorkbookError", "recalc", "recalc_file", "summary_table"]


def recalc(
    sources: PathLike | Iterable[PathLike],
    out: PathLike | None = None,
    *,
    scenarios: Any = None,
    summary: PathLike | None = None,
    executor: concurrent.futures.Executor | None = None,
    jobs: int | None = 1,
    limits: Limits | None = None,
    progress: bool | None = None,
    report: bool = True,
    general: bool = False,
    recursive: bool = False,
    bom: bool = True,
) -> Any:
    """Recalculate workbooks, or one template over a scenario table; returns a pandas DataFrame.

    Files mode (``scenarios`` is None): every workbook in ``sources`` (files, or
    folders of workbooks; their subfolders too with ``recursive``, copies keeping the
    relative path) is recalculated; with ``out`` the copy is written to ``out/<name>``.
    One row per workbook: ``file``, ``path`` (``fast`` or ``general``; empty when the
    file could not be read), ``error`` (empty when all went well), ``general_because``
    (for the general path: the function and cell that sent the file there, as
    ``"OFFSET in F!A1: …"``) and one column per workbook-scoped single-cell defined name.

    Scenario mode: ``sources`` is one template and ``scenarios`` a DataFrame or a
    CSV/Excel/parquet path whose columns name input cells (a CSV may be UTF-8, with or
    without a BOM, UTF-16 or cp932); the result has those inputs and every named
    output per row, plus ``error``; ``frame.attrs["path"]`` says which path computed
    it. A column naming no input, or named twice, raises :class:`ScenarioError` before
    anything runs.

    No output ever replaces an input, through any path (a link, ``..``): that is a
    ``ValueError`` (:class:`~kpitree.recalculation.io.outputs.OutputError`) before
    anything runs. ``summary`` is written as data only (a CSV cell that a spreadsheet
    would run as a formula is quoted, see docs/recalc.md), a CSV with a UTF-8 BOM
    unless ``bom=False``.

    ``executor`` is any ``concurrent.futures.Executor`` (a ``ProcessPoolExecutor``,
    Dask's ``client.get_executor()``, Ray's); without one, ``jobs > 1`` starts a
    process pool (at most one worker per CPU) whose workers die with this process, and
    ``jobs=None`` lets the batch's size decide (workers only where they gain: a small batch
    runs in this process, see docs/performance.md).
    Errors per file, and notes (subfolders passed over, the encoding a scenario CSV
    was read in), are also printed to stderr when ``report``. ``general=True``
    evaluates everything with the general evaluator (slow; for checking the compiled
    path against it).
    """
    return summary_table(sources, out, scenarios=scenarios, summary=summary, executor=executor, jobs=jobs, limits=limits,
                         progress=progress, report=report, general=general, recursive=recursive, bom=bom, as_frame=True)


def summary_table(
    sources: PathLike | Iterable[PathLike],
    out: PathLike | None = None,
    *,
    scenarios: Any = None,
    summary: PathLike | None = None,
    executor: concurrent.futures.Executor | None = None,
    jobs: int | None = 1,
    limits: Limits | None = None,
    progress: bool | None = None,
    report: bool = True,
    general: bool = False,
    recursive: bool = False,
    bom: bool = True,
    as_frame: bool = False,
) -> Any:
    """:func:`recalc`, returning a :class:`~.summary.Table` (``as_frame``: a DataFrame). The command line
    uses the table: it never needs pandas, whose import costs more than a small batch."""
    from .files import check_outputs, find_sources, process_files, recalc_files
    from .io.package import DEFAULT_LIMITS
    from .scenarios import open_template, run_scenarios
    from .summary import Table, read_columns, read_table, rows_frame, write_summary

    limits = DEFAULT_LIMITS if limits is None else limits

    src = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    notes: list[str] = []
    frame: Any
    if scenarios is not None:
        if len(src) != 1:
            raise ValueError("scenario mode takes exactly one template workbook")
        inputs = [os.fspath(src[0])] + ([] if not isinstance(scenarios, (str, os.PathLike)) else [os.fspath(scenarios)])
        if summary is not None:
            check_outputs([], None, summary=summary, other_inputs=inputs)
        table = read_table(scenarios) if as_frame else read_columns(scenarios)
        encoding = table.attrs.get("encoding")
        if encoding and encoding not in ("utf-8", "utf-8-sig"):
            notes.append(f"{os.fspath(scenarios)}: read as {ENCODING_NAMES.get(encoding, encoding)} (not UTF-8)")
        _report(notes, report)
        template = open_template(src[0], limits)
        frame, path = run_scenarios(template, table, force_general=general, progress=progress)
        frame.attrs["path"] = path
        if encoding:
            frame.attrs["encoding"] = encoding
    else:
        out_dir = None if out is None else os.fspath(out)
        found = find_sources(src, recursive=recursive, exclude=[] if out_dir is None else [out_dir])
        check_outputs(found.files, out_dir, names=found.names, summary=summary)
        notes += found.skipped
        _report(notes, report)
        if general:
            dests = [None if out_dir is None else os.path.join(out_dir, n) for n in found.names]
            rows = process_files(found.files, None, limits, force_general=True, dests=dests)
        else:
            rows = recalc_files(src, out, executor=executor, jobs=jobs, limits=limits, progress=progress, found=found)
        frame = rows_frame(rows) if as_frame else Table.from_rows(rows)
        if report:
            for r in rows:
                if r["error"]:
                    print(f"kpitree recalc: {r['file']}: {r['error']}", file=sys.stderr)
    frame.attrs["notes"] = notes
    if summary is not None:
        write_summary(frame, summary, bom=bom)
    return frame


ENCODING_NAMES = {"cp932": "cp932 (Shift_JIS, as Japanese Excel saves CSV)", "utf-16": "UTF-16"}


def _report(notes: list[str], report: bool) -> None:
    if report:
        for note in notes:
            print(f"kpitree recalc: note: {note}", file=sys.stderr)


def recalc_file(src: PathLike, dst: PathLike, *, limits: Limits | None = None) -> dict[str, Any]:
    """Recalculate one workbook into ``dst`` (any name); its named values after recalculation.

    Raises :class:`WorkbookError` when the workbook cannot be recalculated, and
    :class:`~kpitree.recalculation.io.outputs.OutputError` (a ``ValueError``) when
    ``dst`` is ``src`` (through any path) or may not be replaced. ``dst`` is written
    atomically, keeping the mode and links of a file it replaces. Values are floats,
    text, booleans or :class:`~kpitree.udfs.excel_values.XlError`.
    """
    from .files import process_files
    from .io.outputs import check_not_inputs
    from .io.package import DEFAULT_LIMITS, WorkbookError

    src, dst = os.fspath(src), os.fspath(dst)
    check_not_inputs([("the output", dst)], [src])
    (row,) = process_files([src], None, DEFAULT_LIMITS if limits is None else limits, dests=[dst], strict_write=True)
    if not row["path"]:
        raise WorkbookError(row["error"])
    return {k: v for k, v in row.items() if k not in SUMMARY_FIELDS}
