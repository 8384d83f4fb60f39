"""Pure plans of the ribbon actions: what to write where, from values read from a workbook.

Each ``plan_*`` function takes the workbook's
:class:`~kpitree.workbook_templates.contract.WorkbookFacts` (read through xlwings from
the live workbook, or through openpyxl from a file, by one logic) and returns an
:class:`EditPlan` of :class:`~kpitree.workbook_templates.layout.PlannedCell` records
(the template's own cell record), applied by :mod:`.xlwings_writer` in Excel or by
:func:`.file_writer.apply_plan` to a file. Nothing here imports xlwings, openpyxl,
pandas or formulas.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpitree.udfs.catalogue import LANGS, Lang
from kpitree.udfs.texts import both, text, text_list, user_error
from kpitree.workbook_templates.contract import WorkbookFacts
from kpitree.workbook_templates.layout import PlannedCell, PlannedName, cell_ref

from kpitree.errors import UserError  # noqa: F401 - the planners raise it (through user_error); callers catch it from here

# action -> lang -> the title of the report sheet it owns (texts.toml [addin])
REPORT_SHEETS: dict[str, dict[str, str]] = {
    "stage": {lang: text("addin.report_sheet_stage", lang) for lang in LANGS},
    "check": {lang: text("addin.report_sheet_check", lang) for lang in LANGS},
}
OUTSIDE_FOCUS_FILL = "#FCE4D6"  # label cells of KPIs outside the stage's focus
PLAN_INPUTS = ("kgi_annual_revenue", "avg_deal_size", "plan_win_rate", "plan_conversion_rate",
               "plan_connect_rate", "working_days_per_month")


@dataclass(frozen=True)
class EditPlan:
    """Cells to write (and optionally a sheet to create and clear first), pure data.

    ``sheet`` is the report sheet the plan owns (created if missing, cleared in
    ``block`` first); ``cells`` may also address other sheets (targets, marks).
    """

    sheet: str | None
    block: str | None
    cells: tuple[PlannedCell, ...]
    names: tuple[PlannedName, ...] = ()
    activate: str | None = None
    message: tuple[str, str] = ("", "")  # (ja, en) shown when done, as texts.both makes it


def _number(facts: WorkbookFacts, name: str) -> float:
    value = facts.values.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise user_error("addin.number_needed", name=name, value=value)
    return float(value)


# --- 逆算プラン / Back-calculate plan -------------------------------------------------

# (target name, plan row, period) the back-calculation fills: tactical per month (sheet 2),
# action per working day (sheet 3); the weekly columns are formulas over these.
BACKCALC_TARGETS = (
    ("target_opportunities", "opportunities", "month"),
    ("target_calls", "calls", "day"),
)
BACKCALC_RATES = (("target_conversion_rate", "conversion_rate"), ("target_connect_rate", "connect_rate"))


def plan_back_calculation(facts: WorkbookFacts) -> EditPlan:
    """Monthly and daily targets from the KGI inputs (``back_calculate``); weekly follows by formula."""
    from kpitree.udfs.kpi_tree import back_calculate

    missing = [n for n in PLAN_INPUTS if n not in facts.names]
    if missing:
        raise user_error("addin.kgi_inputs_missing", names=", ".join(missing))
    args = [_number(facts, n) for n in PLAN_INPUTS]
    try:
        plan = back_calculate(*args)
    except ValueError as exc:
        raise user_error("addin.kgi_check", error=exc) from None
    cells = []
    for name, key, period in BACKCALC_TARGETS:
        if name in facts.names:
            sheet, ref = facts.names[name]
            cells.append(PlannedCell(sheet, ref, plan.row(key).per(period), style="input:count1", name=name))
    for name, attr in BACKCALC_RATES:
        if name in facts.names:
            sheet, ref = facts.names[name]
            cells.append(PlannedCell(sheet, ref, getattr(plan, attr), style="input:rate", name=name))
    if not cells:
        raise user_error("addin.no_target_cells")
    opp, calls = plan.row("opportunities"), plan.row("calls")
    return EditPlan(None, None, tuple(cells), message=both("addin.back_calculated", opportunities=opp.month, calls=calls.day))


# --- 段階別KPI提案 / Recommend KPIs for stage --------------------------------------------


def _report_cells(sheet: str, rows: list[list[Any]], styles: list[str]) -> list[PlannedCell]:
    cells = []
    for r, (row, style) in enumerate(zip(rows, styles)):
        for c, value in enumerate(row):
            if value is not None:
                cells.append(PlannedCell(sheet, cell_ref(r, c), value, style=style))
    return cells


def plan_stage_recommendation(facts: WorkbookFacts) -> EditPlan:
    """The stage's recommended KPIs on a report sheet; KPI labels outside its focus shaded on sheets 1–3."""
    from kpitree.udfs.catalogue import load_catalogue
    from kpitree.udfs.stage import recommend, stage_for_months

    lang = facts.lang
    months = _number(facts, "months_since_launch")
    try:
        stage = stage_for_months(months)
    except ValueError as exc:
        raise user_error("addin.months_check", error=exc) from None
    cat = load_catalogue()
    known = {k.id for k in cat.kpis}
    in_book = [r.kpi_id for r in facts.kpi_rows]
    focus = {r.kpi for r in stage.recommend}
    sheet = REPORT_SHEETS["stage"][lang]
    rows: list[list[Any]] = [[text("addin.stage_title", lang)],
                             [text("addin.stage_label", lang), stage.label(lang), stage.focus(lang)], [],
                             list(text_list("addin.stage_cols", lang))]
    styles = ["title", "label", "note", "header"]
    for rec in recommend(stage, lang):
        rows.append([rec.tier_label, rec.kpi_label, rec.stars, rec.why, "○" if rec.kpi in in_book else "—"])
        styles.append("text")
    outside = [k for k in in_book if k in known and k not in focus]
    rows += [[], [text("addin.outside_title", lang)]]
    styles += ["label", "section"]
    for k in outside:
        rows.append([cat.kpi(k).label(lang), k])
        styles.append("text")
    if not outside:
        rows.append([text("addin.none", lang)])
        styles.append("text")
    rows += [[]] + [[tip] for tip in stage.tips(lang)]
    styles += ["label"] + ["note"] * len(stage.tips(lang))
    cells = _report_cells(sheet, rows, styles)
    for r in facts.kpi_rows:  # mark (and unmark) the label cell, column B
        style = "outside_focus" if r.kpi_id in outside else "label"
        cells.append(PlannedCell(r.sheet, cell_ref(r.row, 1), None, style=style))
    # each language's message names the stage in that language
    message = (text("addin.stage_recommended", "ja", stage=stage.label("ja"), recommended=len(stage.recommend), outside=len(outside)),
               text("addin.stage_recommended", "en", stage=stage.label("en"), recommended=len(stage.recommend), outside=len(outside)))
    return EditPlan(sheet, "A1:E200", tuple(cells), activate=sheet, message=message)


# --- KPI設計チェック / Check KPI design ---------------------------------------------------


def plan_design_check(facts: WorkbookFacts) -> EditPlan:
    """Counts per tier, missing targets or units, targets against the catalogue's guides."""
    from kpitree.udfs.catalogue import load_catalogue
    from kpitree.udfs.stage import design_check, stage_for_months

    lang = facts.lang
    cat = load_catalogue()
    months = _number(facts, "months_since_launch")
    if months < 0:
        raise user_error("addin.months_negative", months=months)
    stage = stage_for_months(months)
    ids = [r.kpi_id for r in facts.kpi_rows]
    check = design_check(ids, stage, lang)
    sheet = REPORT_SHEETS["check"][lang]
    rows: list[list[Any]] = [[text("addin.check_title", lang)], [], list(text_list("addin.check_tier_cols", lang))]
    styles = ["title", "label", "header"]
    for t in check.tiers:
        rows.append([t.label, t.count, f"{t.min_count}–{t.max_count}", t.verdict(lang)])
        styles.append("text")
    rows += [[], [text("addin.per_kpi", lang), None, None, None, None], list(text_list("addin.check_kpi_cols", lang))]
    styles += ["label", "section", "header"]
    problems = 0
    for r in facts.kpi_rows:
        kpi = next((k for k in cat.kpis if k.id == r.kpi_id), None)
        value = facts.values.get(f"target_{r.kpi_id}")
        target = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if kpi is None:
            rows.append([r.kpi_id, text("addin.not_in_catalogue", lang), target, text("addin.no_unit", lang), ""])
            problems += 1
        else:
            note, finding = (text("addin.target_missing", lang), True) if target is None else _guide_note(kpi, target, lang)
            problems += finding
            rows.append([r.kpi_id, kpi.label(lang), target, kpi.unit, note])
        styles.append("text")
    rows += [[], [text("addin.messages", lang)]] + [[m] for m in check.messages]
    styles += ["label", "section"] + ["note"] * len(check.messages)
    tiers_bad = sum(t.status != "ok" for t in check.tiers)
    return EditPlan(sheet, "A1:E300", tuple(_report_cells(sheet, rows, styles)), activate=sheet,
                    message=both("addin.design_checked", kpis=len(ids), tiers=tiers_bad, findings=problems))


def _guide_note(kpi: Any, target: float, lang: Lang) -> tuple[str, bool]:
    """What the report says of a target against the KPI's first guide, and whether it is a finding (outside the guide)."""
    guides = [b for b in kpi.benchmarks]
    if not guides:
        return text("addin.no_guide", lang), False
    b = guides[0]
    low, high = b.low, b.high
    fmt = (lambda v: f"{v:.0%}") if kpi.unit == "rate" else (lambda v: f"{v:,g}")
    guide = f"{fmt(low)}" + ("" if high is None else f"–{fmt(high)}") + ("+" if high is None else "")
    if target < low:
        return text("addin.below_guide", lang, label=b.label(lang), guide=guide), True
    if high is not None and target > high:
        return text("addin.above_guide", lang, label=b.label(lang), guide=guide), True
    return text("addin.within_guide", lang, guide=guide), False


# --- 共有用コピー / Share a copy -----------------------------------------------------------------------------

SHAREABLE = (".xlsx", ".xlsm")  # what kpitree share reads


@dataclass(frozen=True)
class SharePlan:
    """How the ribbon makes the portable copy of the live workbook (``kpitree share``'s own plan).

    Excel saves a snapshot of the workbook as it is on screen, unsaved edits included, without
    touching the workbook (``Workbook.SaveCopyAs``) to a temporary file ending in ``snapshot_suffix``
    (SaveCopyAs keeps the workbook's format, so the suffix must be its own); ``kpitree share`` then
    writes the copy to ``out``: next to a saved workbook, in Documents for a new or cloud one, named as
    ``kpitree share`` names it (``<name>_共有用.xlsx`` / ``<name>_shared.xlsx``, never a name taken).
    """

    snapshot_suffix: str
    out: Path


def plan_share(full_name: str, sheet_names: list[str], documents: Path) -> SharePlan:
    """The share plan of a workbook Excel calls ``full_name`` (``Workbook.FullName``: a path, a URL for a
    workbook on OneDrive/SharePoint, or just ``Book1`` for one never saved) with sheets ``sheet_names``."""
    import re

    from kpitree.portable import default_out, workbook_lang

    name = re.split(r"[\\/]", full_name)[-1] or "kpitree"
    suffix = Path(name).suffix.lower()
    if suffix and suffix not in SHAREABLE:
        raise user_error("addin.share_format", name=name)
    local = full_name != name and not re.match(r"[a-z][a-z0-9+.-]*://", full_name, re.IGNORECASE)
    folder = Path(full_name).parent if local else documents
    return SharePlan(suffix or ".xlsx", default_out(folder / name, workbook_lang(sheet_names)))
