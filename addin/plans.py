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
from typing import Any

from kpitree.errors import UserError
from kpitree.workbook_templates.contract import WorkbookFacts
from kpitree.workbook_templates.layout import PlannedCell, PlannedName, cell_ref

REPORT_SHEETS = {
    "stage": {"ja": "段階別KPI提案", "en": "Stage KPIs"},
    "check": {"ja": "KPI設計チェック", "en": "KPI design check"},
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
    message: tuple[str, str] = ("", "")  # (ja, en) shown when done


def _t(lang: str, ja: str, en: str) -> str:
    return ja if lang == "ja" else en


def _number(facts: WorkbookFacts, name: str) -> float:
    value = facts.values.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"Enter a number in the named cell {name} (now: {value!r}).", ja=f"名前付きセル {name} に数値を入力してください(現在: {value!r})。")
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
        raise UserError(f"KGI input cells not found: {', '.join(missing)}. Use a workbook made from the template.", ja=f"KGIの入力セルが見つかりません: {', '.join(missing)}。テンプレートから作ったブックで実行してください。")
    args = [_number(facts, n) for n in PLAN_INPUTS]
    try:
        plan = back_calculate(*args)
    except ValueError as exc:
        raise UserError(f"Check the KGI inputs: {exc}", ja=f"KGIの入力を確認してください: {exc}") from None
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
        raise UserError("Sheets 2-3 have no target cells (target_opportunities, ...).", ja="シート2・3に目標セル(target_opportunities など)がありません。")
    opp, calls = plan.row("opportunities"), plan.row("calls")
    return EditPlan(None, None, tuple(cells), message=(
        f"逆算しました: 月間商談数 {opp.month:,.1f}・1日の架電数 {calls.day:,.1f}(週次は自動計算)。",
        f"Back-calculated: {opp.month:,.1f} opportunities a month, {calls.day:,.1f} calls a day (weekly follows).",
    ))


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
        raise UserError(f"Check months since launch: {exc}", ja=f"IS立ち上げからの月数を確認してください: {exc}") from None
    cat = load_catalogue()
    known = {k.id for k in cat.kpis}
    in_book = [r.kpi_id for r in facts.kpi_rows]
    focus = {r.kpi for r in stage.recommend}
    sheet = REPORT_SHEETS["stage"][lang]
    rows: list[list[Any]] = [[_t(lang, "段階別KPI提案", "Recommended KPIs for the stage")],
                             [_t(lang, "段階", "Stage"), stage.label(lang), stage.focus(lang)], [],
                             [_t(lang, "階層", "Tier"), "KPI", _t(lang, "優先度", "Priority"), _t(lang, "理由", "Why"),
                              _t(lang, "ブックにある", "In workbook")]]
    styles = ["title", "label", "note", "header"]
    for rec in recommend(stage, lang):
        rows.append([rec.tier_label, rec.kpi_label, rec.stars, rec.why, "○" if rec.kpi in in_book else "—"])
        styles.append("text")
    outside = [k for k in in_book if k in known and k not in focus]
    rows += [[], [_t(lang, "この段階の重点外のKPI(シート1〜3で色付け)", "KPIs outside this stage's focus (shaded on sheets 1-3)")]]
    styles += ["label", "section"]
    for k in outside:
        rows.append([cat.kpi(k).label(lang), k])
        styles.append("text")
    if not outside:
        rows.append([_t(lang, "なし", "None")])
        styles.append("text")
    rows += [[]] + [[tip] for tip in stage.tips(lang)]
    styles += ["label"] + ["note"] * len(stage.tips(lang))
    cells = _report_cells(sheet, rows, styles)
    for r in facts.kpi_rows:  # mark (and unmark) the label cell, column B
        style = "outside_focus" if r.kpi_id in outside else "label"
        cells.append(PlannedCell(r.sheet, cell_ref(r.row, 1), None, style=style))
    return EditPlan(sheet, "A1:E200", tuple(cells), activate=sheet, message=(
        f"{stage.label('ja')}: 推奨KPI {len(stage.recommend)}件、重点外 {len(outside)}件。",
        f"{stage.label('en')}: {len(stage.recommend)} recommended KPIs, {len(outside)} outside the focus.",
    ))


# --- KPI設計チェック / Check KPI design ---------------------------------------------------


def plan_design_check(facts: WorkbookFacts) -> EditPlan:
    """Counts per tier, missing targets or units, targets against the catalogue's guides."""
    from kpitree.udfs.catalogue import load_catalogue
    from kpitree.udfs.stage import design_check, stage_for_months

    lang = facts.lang
    cat = load_catalogue()
    months = _number(facts, "months_since_launch")
    if months < 0:
        raise UserError(f"Enter months >= 0 in the named cell months_since_launch (now: {months:g}).", ja=f"名前付きセル months_since_launch には0以上の月数を入力してください(現在: {months:g})。")
    stage = stage_for_months(months)
    ids = [r.kpi_id for r in facts.kpi_rows]
    check = design_check(ids, stage, lang)
    sheet = REPORT_SHEETS["check"][lang]
    rows: list[list[Any]] = [[_t(lang, "KPI設計チェック", "KPI design check")], [],
                             [_t(lang, "階層", "Tier"), _t(lang, "KPI数", "KPIs"), _t(lang, "推奨", "Recommended"),
                              _t(lang, "判定", "Status")]]
    styles = ["title", "label", "header"]
    for t in check.tiers:
        rows.append([t.label, t.count, f"{t.min_count}–{t.max_count}", t.verdict(lang)])
        styles.append("text")
    rows += [[], [_t(lang, "KPIごとの確認", "Per KPI"), None, None, None, None],
             ["KPI ID", "KPI", _t(lang, "目標", "Target"), _t(lang, "単位", "Unit"), _t(lang, "目安との比較", "Against the guide")]]
    styles += ["label", "section", "header"]
    problems = 0
    for r in facts.kpi_rows:
        kpi = next((k for k in cat.kpis if k.id == r.kpi_id), None)
        target = facts.values.get(f"target_{r.kpi_id}")
        has_target = isinstance(target, (int, float)) and not isinstance(target, bool)
        if kpi is None:
            rows.append([r.kpi_id, _t(lang, "カタログにないKPI", "not in the catalogue"), target if has_target else None,
                         _t(lang, "単位なし", "no unit"), ""])
            problems += 1
        else:
            note = _guide_note(kpi, target, lang) if has_target else _t(lang, "目標が未入力", "target missing")
            problems += (not has_target) + note.startswith(("目安より", "below", "above"))
            rows.append([r.kpi_id, kpi.label(lang), target if has_target else None, kpi.unit, note])
        styles.append("text")
    rows += [[], [_t(lang, "メッセージ", "Messages")]] + [[m] for m in check.messages]
    styles += ["label", "section"] + ["note"] * len(check.messages)
    tiers_bad = sum(t.status != "ok" for t in check.tiers)
    return EditPlan(sheet, "A1:E300", tuple(_report_cells(sheet, rows, styles)), activate=sheet, message=(
        f"KPI {len(ids)}件を確認しました: 階層の数の問題 {tiers_bad}件、KPIごとの指摘 {problems}件。",
        f"Checked {len(ids)} KPIs: {tiers_bad} tier count issue(s), {problems} per-KPI finding(s).",
    ))


def _guide_note(kpi: Any, target: float, lang: str) -> str:
    guides = [b for b in kpi.benchmarks]
    if not guides:
        return _t(lang, "目安なし", "no guide")
    b = guides[0]
    low, high = b.low, b.high
    fmt = (lambda v: f"{v:.0%}") if kpi.unit == "rate" else (lambda v: f"{v:,g}")
    guide = f"{fmt(low)}" + ("" if high is None else f"–{fmt(high)}") + ("+" if high is None else "")
    if target < low:
        return _t(lang, f"目安より低い({b.label('ja')} {guide}, {b.source})", f"below the guide ({b.label('en')} {guide}, {b.source})")
    if high is not None and target > high:
        return _t(lang, f"目安より高い({b.label('ja')} {guide}, {b.source})", f"above the guide ({b.label('en')} {guide}, {b.source})")
    return _t(lang, f"目安の範囲内({guide})", f"within the guide ({guide})")
