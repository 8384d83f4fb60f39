"""What the ribbon buttons run: ``RunPython "import kpitree.addin.actions as k; k.<action>()"``.

Each click starts a fresh Python process, so this module imports only the standard
library at import time (xlwings, pandas, openpyxl and formulas load inside the
action that needs them; ``benchmarks/addin_import.py`` measures the cold import).

Every action is thin: it takes the calling workbook (``xw.Book.caller()``), reads its
contract through xlwings (:mod:`kpitree.workbook_templates.contract`, the same logic file
mode reads a file with), calls the same planning code the
file-mode commands use (:mod:`.plans`, ``kpitree.workbook_templates.plan_dashboard``),
and applies the plan with :class:`.xlwings_writer.XlwingsWriter`. A failure never
reaches Excel as a traceback: it is written to :func:`log_file_path` and the user
sees one message box saying what to do; the process then exits normally, so
xlwings shows no error dialog of its own.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpitree.udfs.catalogue import Lang


def log_file_path() -> Path:
    """``~/.kpitree/addin.log`` (``%USERPROFILE%\\.kpitree\\addin.log`` on Windows); the About box shows it."""
    return Path.home() / ".kpitree" / "addin.log"


def _log(action: str) -> Path:
    path = log_file_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"--- {_dt.datetime.now().isoformat(timespec='seconds')} {action} (python {sys.executable})\n")
            log.write(traceback.format_exc())
    except OSError:
        pass
    return path


def _lang(book: Any) -> Lang:
    try:
        from kpitree.workbook_templates.contract import detect_lang

        return detect_lang([s.name for s in book.sheets])
    except Exception:  # noqa: BLE001 - fall back to Excel's UI language guess
        return "ja" if os.environ.get("LANG", "").startswith("ja") else "en"


def _alert(book: Any, text: str) -> None:
    try:
        book.app.alert(text, title="kpitree")
    except Exception:  # noqa: BLE001 - no app to show it: stderr goes to xlwings' log
        print(text, file=sys.stderr)


def _run(name: str, action: Callable[..., tuple[str, str] | None], *args: Any, book: Any = None) -> None:
    """Run ``action(book, *args)``; user errors and failures become one message box."""
    from kpitree.udfs.texts import pick, text

    from kpitree.errors import UserError

    try:
        if book is None:
            import xlwings as xw

            book = xw.Book.caller()
    except Exception:  # noqa: BLE001
        _log(name)
        print(text("addin.generic_error", "en", log=log_file_path()), file=sys.stderr)
        return
    lang = _lang(book)
    try:
        message = action(book, *args)
    except UserError as exc:
        _alert(book, exc.text(lang))
        return
    except Exception:  # noqa: BLE001 - Excel must get a message box, never a traceback
        path = _log(name)
        _alert(book, text("addin.generic_error", lang, log=path))
        return
    if message and any(message):
        _alert(book, pick(message, lang))


def _apply_edit(book: Any, planner: Callable[..., Any]) -> tuple[str, str]:
    from kpitree.workbook_templates.contract import facts_from_xlwings

    from .xlwings_writer import XlwingsWriter

    plan = planner(facts_from_xlwings(book))
    XlwingsWriter(book).apply(plan)
    return plan.message


# --- the buttons ----------------------------------------------------------------------


def rebuild_dashboard(book: Any = None) -> None:
    """ダッシュボード再構築: plan sheet 4 from the KPI rows of sheets 1–3, apply it in Excel."""
    _run("rebuild_dashboard", _rebuild_dashboard, book=book)


def dashboard_plan_for(book: Any) -> Any:
    """The DashboardPlan for a live workbook: the same checks and plan file mode makes for a file."""
    from kpitree.workbook_templates.checks import NamedCellError, workbook_problems
    from kpitree.workbook_templates.contract import facts_from_xlwings
    from kpitree.workbook_templates.dashboard import plan_from_facts

    facts = facts_from_xlwings(book)
    problems = workbook_problems(facts)
    if problems:
        raise NamedCellError(problems)
    return plan_from_facts(facts)


def _rebuild_dashboard(book: Any) -> tuple[str, str]:
    from kpitree.udfs.texts import both

    from .xlwings_writer import XlwingsWriter

    plan = dashboard_plan_for(book)
    writer = XlwingsWriter(book)
    writer.apply(plan)
    # without Excel's COM the writer skips what only COM can set, and the message says so
    return both("addin.dashboard_rebuilt_partly" if writer.skipped else "addin.dashboard_rebuilt")


def back_calculate_plan(book: Any = None) -> None:
    """逆算プラン: monthly/daily targets on sheets 2–3 from the KGI inputs."""
    from .plans import plan_back_calculation

    _run("back_calculate_plan", _apply_edit, plan_back_calculation, book=book)


def recommend_stage_kpis(book: Any = None) -> None:
    """段階別KPI提案: the stage's recommended KPIs; KPIs outside its focus marked."""
    from .plans import plan_stage_recommendation

    _run("recommend_stage_kpis", _apply_edit, plan_stage_recommendation, book=book)


def check_kpi_design(book: Any = None) -> None:
    """KPI設計チェック: counts per tier, missing targets/units, guides, on a report sheet."""
    from .plans import plan_design_check

    _run("check_kpi_design", _apply_edit, plan_design_check, book=book)


def batch_recalculate(folder: str, book: Any = None) -> None:
    """一括再計算: recalculate the folder's workbooks, open the summary workbook."""
    _run("batch_recalculate", _batch_recalculate, _fix_surrogates(folder), book=book)


def summary_paths(folder: str) -> tuple[Path, Path]:
    """(folder for the recalculated copies, summary workbook) of a batch run over ``folder``."""
    out = Path(folder) / "kpitree_recalculated"
    return out, out / "kpitree_summary.xlsx"


def _batch_recalculate(book: Any, folder: str) -> tuple[str, str]:
    from kpitree.udfs.texts import both, user_error

    if not Path(folder).is_dir():
        raise user_error("addin.folder_not_found", folder=folder)
    import kpitree

    out, summary = summary_paths(folder)
    out.mkdir(exist_ok=True)
    frame = kpitree.recalc([folder], out=out, summary=summary, report=False, progress=False)
    book.app.books.open(str(summary))
    failed = int((frame["error"] != "").sum()) if len(frame) else 0
    return both("addin.recalculated", count=len(frame), failed=failed, summary=summary)


def weekly_review(book: Any = None) -> None:
    """週次レビュー: the last complete week's review sheet from the imported data (kpitree review)."""
    _run("weekly_review", _review, None, book=book)


def monthly_review(book: Any = None) -> None:
    """月次レビュー: the review of the month of the last day with data (kpitree review --month)."""
    from kpitree.team.reviewing import LATEST

    _run("monthly_review", _review, LATEST, book=book)


REVIEW_READ_COLUMNS = "AZ"  # the sheets a review reads are narrower than A:AZ


def sheet_values(book: Any, title: str) -> list[list[Any]]:
    """The values of a sheet of the live workbook as rows (an empty list when there is no such sheet)."""
    sheet = next((s for s in book.sheets if s.name == title), None)
    if sheet is None:
        return []
    last = sheet.used_range.last_cell.row
    block = sheet.range(f"A1:{REVIEW_READ_COLUMNS}{last}").value
    if not isinstance(block, list):
        return [[block]]
    return [list(row) for row in block] if block and isinstance(block[0], list) else [list(block)]


def _review(book: Any, month: str | None) -> tuple[str, str]:
    """Plan the review (and the dashboard's pace block) from the live workbook and apply both."""
    from kpitree.team.plans import sheet_title
    from kpitree.team.reviewing import plan_from_rows
    from kpitree.workbook_templates.checks import NamedCellError, workbook_problems
    from kpitree.workbook_templates.contract import facts_from_xlwings

    from .xlwings_writer import XlwingsWriter

    facts = facts_from_xlwings(book)
    problems = workbook_problems(facts)
    if problems:
        raise NamedCellError(problems)
    lang = facts.lang
    data_title, members_title = sheet_title("team.sheet_data", lang), sheet_title("team.sheet_members", lang)
    existing = {s.name: sheet_values(book, s.name) for s in book.sheets
                if s.name.startswith((sheet_title("team.sheet_week", lang, period=""), sheet_title("team.sheet_month", lang, period="")))}
    _review_data, plan, block = plan_from_rows(facts, sheet_values(book, data_title), sheet_values(book, members_title), existing,
                                               month=month, source=str(getattr(book, "name", "")))
    writer = XlwingsWriter(book)
    writer.apply(block)
    writer.apply(plan)
    return plan.message


def new_workbook(lang: str = "ja", book: Any = None) -> None:
    """新規ブック: a copy of the shipped template (ja or en), opened in Excel."""
    _run("new_workbook", _new_workbook, lang, book=book)


def documents_folder() -> Path:
    """Documents (or home, when there is none): where a new workbook, or the copy of an unsaved one, goes."""
    return Path.home() / "Documents" if (Path.home() / "Documents").is_dir() else Path.home()


def new_workbook_path(lang: str, folder: Path | None = None) -> Path:
    """A fresh file name for a new workbook: Documents (or home)/kpitree_<lang>_<n>.xlsx."""
    folder = folder or documents_folder()
    n = 1
    while (folder / f"kpitree_{lang}_{n}.xlsx").exists():
        n += 1
    return folder / f"kpitree_{lang}_{n}.xlsx"


def _new_workbook(book: Any, lang: str) -> tuple[str, str]:
    import shutil

    from kpitree.workbook_templates import template_path

    if lang not in ("ja", "en"):
        raise ValueError(f"lang must be ja or en, not {lang!r}")
    target = new_workbook_path(lang)
    shutil.copyfile(template_path(lang), target)
    book.app.books.open(str(target))
    return ("", "")


def share_copy(book: Any = None) -> None:
    """共有用コピー: the portable copy of the workbook as it is on screen (kpitree share), written next to it."""
    _run("share_copy", _share_copy, book=book)


def _share_copy(book: Any) -> tuple[str, str]:
    """Excel saves a snapshot (SaveCopyAs: unsaved edits in, the workbook untouched); kpitree share copies it."""
    import tempfile

    from kpitree.portable import share
    from kpitree.udfs.texts import both, user_error

    from .plans import plan_share

    plan = plan_share(str(book.fullname), [s.name for s in book.sheets], documents_folder())
    with tempfile.TemporaryDirectory(prefix="kpitree-") as tmp:
        try:
            save_copy = book.api.SaveCopyAs
        except AttributeError:  # no COM (Excel for Mac): the workbook as last saved, if it is a file
            source = Path(str(book.fullname))
            if not source.is_file():
                raise user_error("addin.share_unsaved") from None
        else:
            source = Path(tmp) / f"snapshot{plan.snapshot_suffix}"
            save_copy(str(source))
        report = share(source, plan.out)
    return both("addin.shared", out=report.out, replaced=report.replaced)


def _fix_surrogates(text: str) -> str:
    """Join UTF-16 surrogate pairs that VBA's \\uXXXX escaping splits (characters beyond U+FFFF)."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16")
