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
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from typing import Any

from .io.package import DEFAULT_LIMITS, Limits, WorkbookError
from .scenarios import ScenarioError
from .summary import SUMMARY_SUFFIXES

PathLike = str | os.PathLike[str]

__all__ = ["DEFAULT_LIMITS", "SUMMARY_SUFFIXES", "Limits", "ScenarioError", "WorkbookError", "recalc", "recalc_file"]


def recalc(
    sources: PathLike | Iterable[PathLike],
    out: PathLike | None = None,
    *,
    scenarios: Any = None,
    summary: PathLike | None = None,
    executor: concurrent.futures.Executor | None = None,
    jobs: int = 1,
    limits: Limits = DEFAULT_LIMITS,
    progress: bool | None = None,
    report: bool = True,
    general: bool = False,
) -> Any:
    """Recalculate workbooks, or one template over a scenario table; returns a pandas DataFrame.

    Files mode (``scenarios`` is None): every workbook in ``sources`` (files, or
    folders of workbooks) is recalculated; with ``out`` the copy is written to
    ``out/<name>``. One row per workbook: ``file``, ``path`` (``fast`` or
    ``general``; empty when the file could not be read), ``error`` (empty when all
    went well) and one column per workbook-scoped single-cell defined name.

    Scenario mode: ``sources`` is one template and ``scenarios`` a DataFrame or a
    CSV/Excel/parquet path whose columns name input cells; the result has those
    inputs and every named output per row, plus ``error``; ``frame.attrs["path"]``
    says which path computed it. A column naming no input raises
    :class:`ScenarioError` before anything runs.

    ``executor`` is any ``concurrent.futures.Executor`` (a ``ProcessPoolExecutor``,
    Dask's ``client.get_executor()``, Ray's); without one, ``jobs > 1`` starts a
    process pool. Errors per file are also printed to stderr when ``report``.
    ``general=True`` evaluates everything with the general evaluator (slow; for
    checking the compiled path against it).
    """
    from .files import expand_sources, process_files, recalc_files
    from .scenarios import open_template, run_scenarios
    from .summary import read_table, rows_frame, write_summary

    src = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    if scenarios is not None:
        if len(src) != 1:
            raise ValueError("scenario mode takes exactly one template workbook")
        table = read_table(scenarios)
        template = open_template(src[0], limits)
        frame, path = run_scenarios(template, table, force_general=general, progress=progress)
        frame.attrs["path"] = path
    else:
        if general:
            rows = process_files(expand_sources(src), None if out is None else os.fspath(out), limits, force_general=True)
        else:
            rows = recalc_files(src, out, executor=executor, jobs=jobs, limits=limits, progress=progress)
        frame = rows_frame(rows)
        if report:
            for r in rows:
                if r["error"]:
                    print(f"kpitree recalc: {r['file']}: {r['error']}", file=sys.stderr)
    if summary is not None:
        write_summary(frame, summary)
    return frame


def recalc_file(src: PathLike, dst: PathLike, *, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Recalculate one workbook into ``dst`` (any name); its named values after recalculation.

    Raises :class:`WorkbookError` when the workbook cannot be recalculated. Values
    are floats, text, booleans or :class:`~kpitree.udfs.excel_values.XlError`.
    """
    from .files import process_files

    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(dst))) as tmp:
        staged = os.path.join(tmp, os.path.basename(os.fspath(src)))
        shutil.copyfile(src, staged)  # process_files names outputs after the input
        out_dir = os.path.join(tmp, "out")
        os.makedirs(out_dir)
        (row,) = process_files([staged], out_dir, limits)
        if not row["path"]:
            raise WorkbookError(row["error"])
        os.replace(os.path.join(out_dir, os.path.basename(staged)), dst)
    return {k: v for k, v in row.items() if k not in ("file", "path", "error")}
