"""The dashboard (sheet 4) as a pure plan: what cells, names, formats and charts it has.

:func:`plan_dashboard` takes the KPI rows found on sheets 1–3 (:class:`~.spec.KpiRow`:
KPI id, tier, sheet, row) plus the two status thresholds and returns a
:class:`DashboardPlan` — plain data, no openpyxl, XlsxWriter or xlwings types — that a
writer applies: :mod:`.builder` (XlsxWriter, the shipped template),
:mod:`.dashboard_openpyxl` (files, ``kpitree dashboard``), and an xlwings writer for the
live workbook (the add-in).

Shape of a plan (every field is a tuple of frozen dataclasses from :mod:`.layout`)::

    DashboardPlan(
        sheet="KPIダッシュボード",        # sheet title; created if missing
        block="A:R",                      # managed columns: cleared and rewritten
        cells=(PlannedCell(sheet, ref="D10", value=None, formula="=IF(target_calls=\"\",\"\",target_calls)",
                           style="calc:count1", name=None, spill=None), ...),
        names=(PlannedName(name="achievement_calls", sheet, ref="F10"), ...),
        validations=(PlannedValidation(sheet, ref="C5", rule=ValidationRule(0, None, "数値", "0以上の…")), ...),
        conditional_formats=(PlannedConditionalFormat(sheet, ref="H10:H24", equals="遅れ", fill="#F8CBAD", color="#9C0006"), ...),
        charts=(PlannedChart(sheet, kind="bar"|"column"|"line", title, anchor="K4", width_px, height_px,
                             series=(ChartSeries(name, categories="'KPIダッシュボード'!$C$10:$C$24", values=..., color), ...),
                             y_percent=bool, value_labels="0%"|None, reverse_categories=bool, marker_size=5|0, ...), ...),
        setup=SheetSetup(sheet, font="Yu Gothic", widths={"A": 20, ...}, freeze_rows=3, landscape=True, fit_height=1,
                         print_area="A1:R60", title_row_height=24, paper_size=9, margins_in=(0.4, 0.4, 0.5, 0.5), ...),
        inputs=("status_on_track_from", "status_watch_from"),   # names of the plan's own input cells
    )

Style keys resolve with :func:`.layout.style_properties`. A writer must: clear the managed
columns of the sheet (values, formulas, styles, merged cells, conditional formats and
validations in them, charts anchored in them), write ``cells``, (re)define ``names``
workbook-scoped — the dashboard's own and ``target_``/``actual_`` of every KPI row — delete
the names with a ``stale_prefixes`` prefix the plan does not define (KPI rows removed), add
the rest, and leave everything else alone. The plan is a function of its arguments only, so
rebuilding twice gives the same dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from kpitree.udfs.catalogue import load_catalogue
from kpitree.udfs.kpi_tree import LEVERS
from kpitree.udfs.stage import OTHER_COUNT_RULES
from kpitree.udfs.status import STATUS_LABELS

from .layout import (FONTS, ChartSeries, PlannedCell, PlannedChart, PlannedConditionalFormat, PlannedName,
                     PlannedValidation, SheetSetup, absolute, cell_ref, quote_sheet, validation_rule)
from .spec import SHEETS, KpiRow, kpi_format

if TYPE_CHECKING:
    from .contract import WorkbookFacts

BLOCK_FIRST_COL, BLOCK_LAST_COL = 0, 17  # A:R
KPI_NAME_PREFIXES = ("target_", "actual_", "achievement_")  # names a rebuild owns: one per KPI row
BLOCK = "A:R"
STATUS_COLORS = {"on_track": ("#C6EFCE", "#006100"), "watch": ("#FFEB9C", "#9C5700"), "behind": ("#FFC7CE", "#9C0006")}
TIER_ORDER = ("strategic", "tactical", "action")
# The cells behind KPI_BOTTLENECK's five levers (target name, actual name, format), listed in the engine's
# argument order (kpi_tree.LEVERS). Labels are the catalogue's KPI labels (a lever id is a KPI id), except where
# T's "short_labels" word a lever differently (shorter, to fit column B; ja 成約率 as in the bottleneck labels).
LEVER_CELLS = {
    "calls": ("required_calls_month", "raw_calls_month", "count1"),
    "connect_rate": ("plan_connect_rate", "actual_connect_rate", "rate"),
    "conversion_rate": ("plan_conversion_rate", "actual_conversion_rate", "rate"),
    "win_rate": ("plan_win_rate", "actual_handoff_win_rate", "rate"),
    "avg_deal_size": ("avg_deal_size", "raw_actual_deal_size", "amount"),
}

T = {
    "ja": {
        "title": "シート4 KPIダッシュボード",
        "note": "このシートは自動計算です(入力はシート1〜3と黄色の基準値のみ)。KPIの行を足したり消したりしたら `kpitree dashboard` で作り直せます。A〜R列は再構築で上書きされます。",
        "settings": "設定と段階", "on_track": "「順調」の基準(達成率)", "watch": "「注意」の基準(達成率)",
        "stage": "現在の段階", "periods": "期間:戦略=四半期/戦術=月次/行動=日次",
        "kpis": "KPI一覧(目標・実績・達成率・差異・状況)",
        "cols": ("KPI ID", "階層", "KPI", "目標", "実績", "達成率", "差異", "状況", "段階の重点"),
        "focus": "重点", "outside": "重点外",
        "summary": "状況の件数",
        "funnel": "ファネル(今月)とボトルネック", "funnel_cols": ("", "段階", "目標(月間)", "実績(今月)", "達成率"),
        "volumes": ("接続数", "商談数", "受注数"),  # after calls (the catalogue's label)
        "levers_title": "ボトルネック分析の5指標(KPI_BOTTLENECK の入力)",
        "per_month": "{label}(月間)", "short_labels": {"connect_rate": "接続率", "win_rate": "成約率"},
        "revenue": "売上(月間 = 5指標の積)",
        "bottleneck_cols": ("", "ボトルネック", "想定原因", "改善アクション", "回復する売上(月間)"),
        "design": "KPI設計チェック(3階層の推奨数:{counts})", "count_range": "{tier} {low}〜{high}", "count_sep": "/",
        "design_cols": ("", "階層", "KPI数", "推奨", "判定"),
        "ok": "OK", "few": "少なすぎ", "many": "多すぎ", "outside_count": "段階の重点外のKPI数",
        "trend": "月次推移(シート2の実績)",
        "trend_cols": ("", "月", "商談創出数", "目標(月次)", "達成率", "商談化率", "架電数", "接続率", "受注件数"),
        "chart_achievement": "KPI別達成率", "chart_funnel": "ファネル(今月):目標と実績", "chart_trend": "商談創出数の月次推移",
        "target": "目標", "actual": "実績",
    },
    "en": {
        "title": "Sheet 4 KPI dashboard",
        "note": "Everything here is computed (inputs live on sheets 1–3 and in the yellow thresholds). After adding or removing KPI rows run `kpitree dashboard`; columns A–R are rewritten.",
        "settings": "Settings and stage", "on_track": "On track from (achievement)", "watch": "Watch from (achievement)",
        "stage": "Current stage", "periods": "Periods: strategic = quarter / tactical = month / action = day",
        "kpis": "KPIs: target, actual, achievement, gap, status",
        "cols": ("KPI ID", "tier", "KPI", "target", "actual", "achievement", "gap", "status", "stage focus"),
        "focus": "focus", "outside": "outside",
        "summary": "Status counts",
        "funnel": "Funnel (this month) and bottleneck", "funnel_cols": ("", "stage", "target (month)", "actual (month)", "achievement"),
        "volumes": ("Connects", "Opportunities", "Won deals"),  # after calls (the catalogue's label)
        "levers_title": "The five levers of the bottleneck analysis (KPI_BOTTLENECK's input)",
        "per_month": "{label} (month)", "short_labels": {"conversion_rate": "Conversion rate"},
        "revenue": "Revenue (month = product of the five)",
        "bottleneck_cols": ("", "bottleneck", "likely cause", "improvement action", "revenue recovered (month)"),
        "design": "KPI-design check (3-tier counts: {counts})", "count_range": "{tier} {low}–{high}", "count_sep": " / ",
        "design_cols": ("", "tier", "KPIs", "recommended", "check"),
        "ok": "OK", "few": "too few", "many": "too many", "outside_count": "KPIs outside the stage's focus",
        "trend": "Monthly trend (sheet 2's history)",
        "trend_cols": ("", "month", "opportunities", "target (month)", "achievement", "conversion", "calls", "connect rate", "won"),
        "chart_achievement": "Achievement by KPI", "chart_funnel": "Funnel this month: target vs actual",
        "chart_trend": "Opportunities per month",
        "target": "target", "actual": "actual",
    },
}


@dataclass(frozen=True)
class DashboardPlan:
    sheet: str
    block: str
    cells: tuple[PlannedCell, ...]
    names: tuple[PlannedName, ...]
    validations: tuple[PlannedValidation, ...]
    conditional_formats: tuple[PlannedConditionalFormat, ...]
    charts: tuple[PlannedChart, ...]
    setup: SheetSetup
    inputs: tuple[str, ...]
    stale_prefixes: tuple[str, ...] = KPI_NAME_PREFIXES

    def cell(self, ref: str) -> PlannedCell:
        return next(c for c in self.cells if c.ref == ref)


THRESHOLDS = ("status_on_track_from", "status_watch_from")


def plan_from_facts(facts: WorkbookFacts) -> DashboardPlan:
    """The dashboard of a workbook read through its contract (a file or the live workbook alike).

    The caller checks the facts first (:func:`.checks.workbook_problems`); here they are planned.
    """
    settings = {k: facts.values[k] for k in THRESHOLDS
                if isinstance(facts.values.get(k), (int, float)) and not isinstance(facts.values.get(k), bool)}
    return plan_dashboard(facts.kpi_rows, facts.lang, settings, names_available=facts.names)


def plan_dashboard(kpi_rows: Iterable[KpiRow], lang: str = "ja", settings: dict[str, Any] | None = None,
                   names_available: Iterable[str] | None = None) -> DashboardPlan:
    """Plan sheet 4 for the KPI rows of sheets 1–3 (pure: same arguments, same plan).

    ``settings`` holds the current status thresholds (``status_on_track_from``,
    ``status_watch_from``; defaults 100 % / 80 %). ``names_available`` are the defined names
    of the workbook (default: those the template defines); a funnel input whose name is
    missing (its KPI row was removed) shows as blank instead of a broken reference.
    """
    cat = load_catalogue()
    t = T[lang]
    status = STATUS_LABELS[lang]  # behind, watch, on track
    sheet = SHEETS[lang][3]
    q = quote_sheet(sheet)
    settings = {"status_on_track_from": 1.0, "status_watch_from": 0.8, **(settings or {})}
    rows = sorted(kpi_rows, key=lambda k: (TIER_ORDER.index(k.tier), k.sheet, k.row))
    present = {f"{p}_{k.kpi_id}" for k in rows for p in ("target", "actual")}
    available = set(names_available) if names_available is not None else None

    def has(name: str) -> bool:
        if name.startswith(("target_", "actual_")):
            return name in present
        return available is None or name in available

    cells: list[PlannedCell] = []
    names: list[PlannedName] = []
    vals: list[PlannedValidation] = []

    def put(row: int, col: int, value: Any = None, formula: str | None = None, style: str = "label",
            name: str | None = None, spill: str | None = None) -> str:
        ref = cell_ref(row, col)
        cells.append(PlannedCell(sheet, ref, value, formula, style, name, spill))
        if name:
            names.append(PlannedName(name, sheet, ref))
        return ref

    def header(row: int, texts: tuple[str, ...]) -> None:
        for col, text in enumerate(texts):
            put(row, col, text or None, style="header")

    put(0, 0, t["title"], style="title")
    put(1, 0, t["note"], style="note")
    # settings
    put(3, 0, t["settings"], style="section")
    put(4, 1, t["on_track"])
    put(4, 2, settings["status_on_track_from"], style="input:rate", name="status_on_track_from")
    put(5, 1, t["watch"])
    put(5, 2, settings["status_watch_from"], style="input:rate", name="status_watch_from")
    vals += [PlannedValidation(sheet, "C5", validation_rule("ratio", lang)),
             PlannedValidation(sheet, "C6", validation_rule("ratio", lang))]
    put(4, 4, t["stage"])
    put(4, 5, formula="=stage_label", style="status")
    put(5, 4, t["periods"], style="note")

    # KPI table
    put(7, 0, t["kpis"], style="section")
    header(8, t["cols"])
    first = 9
    r = first
    for k in rows:
        kpi = cat.kpi(k.kpi_id)
        fmt = kpi_format(kpi)
        tgt, act = f"target_{kpi.id}", f"actual_{kpi.id}"
        D, E, F, G = (cell_ref(r, c) for c in (3, 4, 5, 6))
        put(r, 0, kpi.id, style="id")
        put(r, 1, cat.tier(kpi.tier).label(lang), style="label")
        put(r, 2, kpi.label(lang), style="label")
        put(r, 3, formula=f'=IF({tgt}="","",{tgt})', style=f"calc:{fmt}")
        put(r, 4, formula=f'=IF({act}="","",{act})', style=f"calc:{fmt}")
        ratio = f"{D}/{E}" if kpi.lower_is_better else f"{E}/{D}"
        zero = E if kpi.lower_is_better else D
        put(r, 5, formula=f'=IF(OR({D}="",{E}=""),"",IF({zero}=0,"",{ratio}))', style="calc:rate",
            name=f"achievement_{kpi.id}")
        put(r, 6, formula=f'=IF({F}="","",{E}-{D})', style=f"calc:{fmt}")
        put(r, 7, formula=(f'=IF({F}="","",IF({F}>=status_on_track_from,"{status[2]}",'
                           f'IF({F}>=status_watch_from,"{status[1]}","{status[0]}")))'), style="status")
        put(r, 8, formula=f'=IF(COUNTIF(stage_recommend_kpis,{cell_ref(r, 2)})>0,"{t["focus"]}","{t["outside"]}")',
            style="status")
        r += 1
    last = max(r - 1, first)
    status_range = f"H{first + 1}:H{last + 1}"
    cfs = tuple(
        PlannedConditionalFormat(sheet, status_range, status[i], *STATUS_COLORS[sid])
        for i, sid in enumerate(("behind", "watch", "on_track"))
    ) + (PlannedConditionalFormat(sheet, f"I{first + 1}:I{last + 1}", t["outside"], "#EDEDED", "#7F7F7F"),)
    r = last + 1
    put(r, 1, t["summary"], style="label")
    put(r, 2, status[2], style="label")
    put(r, 3, formula=f'=COUNTIF({status_range},"{status[2]}")', style="calc:count")
    put(r, 4, status[1], style="label")
    put(r, 5, formula=f'=COUNTIF({status_range},"{status[1]}")', style="calc:count")
    put(r, 6, status[0], style="label")
    put(r, 7, formula=f'=COUNTIF({status_range},"{status[0]}")', style="calc:count")

    # funnel
    r += 2
    put(r, 0, t["funnel"], style="section")
    header(r + 1, t["funnel_cols"])
    vol_first = r + 2
    volumes = (
        (cat.kpi("calls").label(lang), "required_calls_month", "raw_calls_month"),
        (t["volumes"][0], "required_connects_month", "raw_connects_month"),
        (t["volumes"][1], "required_opportunities_month", "actual_opportunities"),
        (t["volumes"][2], "required_won_deals_month", "raw_handoff_won"),
    )
    for i, (label, target, actual) in enumerate(volumes):
        rr = vol_first + i
        put(rr, 1, label)
        put(rr, 2, formula=f"={target}" if has(target) else None, style="calc:count1")
        put(rr, 3, formula=f'=IF({actual}="","",{actual})' if has(actual) else None, style="calc:count1")
        put(rr, 4, formula=_ratio(cell_ref(rr, 3), cell_ref(rr, 2)), style="calc:rate")
    r = vol_first + len(volumes) + 1
    put(r, 0, t["levers_title"], style="note")
    header(r + 1, t["funnel_cols"])
    lev_first = r + 2
    levers = [(lever, *LEVER_CELLS[lever]) for lever in LEVERS]
    for i, (lever, target, actual, fmt) in enumerate(levers):
        rr = lev_first + i
        label = t["short_labels"].get(lever) or cat.kpi(lever).label(lang)
        put(rr, 1, t["per_month"].format(label=label) if lever == "calls" else label)
        put(rr, 2, formula=f"={target}" if has(target) else None, style=f"calc:{fmt}")
        put(rr, 3, formula=f'=IF({actual}="","",{actual})' if has(actual) else None, style=f"calc:{fmt}")
        put(rr, 4, formula=_ratio(cell_ref(rr, 3), cell_ref(rr, 2)), style="calc:rate")
    rev = lev_first + len(levers)
    put(rev, 1, t["revenue"])
    act_cells = [cell_ref(lev_first + i, 3) for i in range(len(levers))]
    put(rev, 2, formula=f"={'*'.join(cell_ref(lev_first + i, 2) for i in range(len(levers)))}", style="calc:amount")
    put(rev, 3, formula=f'=IF(COUNTA({act_cells[0]}:{act_cells[-1]})<5,"",{"*".join(act_cells)})', style="calc:amount")
    put(rev, 4, formula=_ratio(cell_ref(rev, 3), cell_ref(rev, 2)), style="calc:rate")
    r = rev + 1
    header(r, t["bottleneck_cols"])
    b = r + 1
    actuals = f"{cell_ref(lev_first, 3)}:{cell_ref(lev_first + 4, 3)}"
    targets = f"{cell_ref(lev_first, 2)}:{cell_ref(lev_first + 4, 2)}"
    put(b, 1, formula=f'=KPI_BOTTLENECK({actuals},{targets},"{lang}")', style="status", name="bottleneck",
        spill=f"{cell_ref(b, 1)}:{cell_ref(b, 4)}")
    put(b, 2, style="calc")
    put(b, 3, style="calc")
    put(b, 4, style="calc:amount")

    # design check
    r = b + 2
    counts = t["count_sep"].join(t["count_range"].format(tier=_in_sentence(tier.label(lang)), low=tier.min_count,
                                                         high=tier.max_count) for tier in cat.tiers)
    put(r, 0, t["design"].format(counts=counts), style="section")
    header(r + 1, t["design_cols"])
    tier_range = f"B{first + 1}:B{last + 1}"
    for i, tier in enumerate(cat.tiers):
        rr = r + 2 + i
        n = cell_ref(rr, 2)
        put(rr, 1, tier.label(lang))
        put(rr, 2, formula=f'=COUNTIF({tier_range},"{tier.label(lang)}")', style="calc:count")
        put(rr, 3, f"{tier.min_count}–{tier.max_count}", style="label")
        put(rr, 4, formula=(f'=IF({n}<{tier.min_count},"{t["few"]}",IF({n}>{tier.max_count},"{t["many"]}","{t["ok"]}"))'),
            style="status")
    rr = r + 2 + len(cat.tiers)
    put(rr, 1, t["outside_count"])
    put(rr, 2, formula=f'=COUNTIF(I{first + 1}:I{last + 1},"{t["outside"]}")', style="calc:count")
    for j, rule in enumerate(OTHER_COUNT_RULES[lang]):
        put(rr + 1 + j, 1, rule, style="note")
    design_cfs = tuple(
        PlannedConditionalFormat(sheet, f"E{r + 3}:E{r + 2 + len(cat.tiers)}", text, *STATUS_COLORS["watch"])
        for text in (t["few"], t["many"])
    )

    # trend
    r = rr + 1 + len(OTHER_COUNT_RULES[lang]) + 1
    put(r, 0, t["trend"], style="section")
    header(r + 1, t["trend_cols"])
    tr_first = r + 2
    month_target = "target_opportunities" if "target_opportunities" in present else "required_opportunities_month"
    for i in range(12):
        rr = tr_first + i
        n = i + 1
        C, D = cell_ref(rr, 2), cell_ref(rr, 3)

        def idx(name: str) -> str:
            return f"INDEX({name},{n})"

        put(rr, 1, formula=f'=IF({idx("trend_month")}="","",{idx("trend_month")})', style="calc")
        put(rr, 2, formula=f'=IF({idx("trend_opportunities")}="","",{idx("trend_opportunities")})', style="calc:count")
        put(rr, 3, formula=f'=IF({month_target}="","",{month_target})', style="calc:count1")
        put(rr, 4, formula=_ratio(C, D), style="calc:rate")
        put(rr, 5, formula=f'=IF(OR({C}="",{idx("trend_leads")}=""),"",IF({idx("trend_leads")}=0,"",{C}/{idx("trend_leads")}))',
            style="calc:rate")
        put(rr, 6, formula=f'=IF({idx("trend_calls")}="","",{idx("trend_calls")})', style="calc:count")
        put(rr, 7, formula=(f'=IF(OR({idx("trend_calls")}="",{idx("trend_connects")}=""),"",'
                            f'IF({idx("trend_calls")}=0,"",{idx("trend_connects")}/{idx("trend_calls")}))'), style="calc:rate")
        put(rr, 8, formula=f'=IF({idx("trend_won")}="","",{idx("trend_won")})', style="calc:count")
    tr_last = tr_first + 11
    end = tr_last + 1

    def rng(c1: int, r1: int, r2: int) -> str:
        return f"{q}!{absolute(cell_ref(r1, c1) + ':' + cell_ref(r2, c1))}"

    charts = (
        PlannedChart(sheet, "bar", t["chart_achievement"], "K4", 560, 420,
                     (ChartSeries(t["cols"][5], rng(2, first, last), rng(5, first, last), "#2F5597"),), y_percent=True,
                     value_labels="0%", reverse_categories=True),
        PlannedChart(sheet, "bar", t["chart_funnel"], "K27", 560, 300,
                     (ChartSeries(t["target"], rng(1, vol_first, vol_first + 3), rng(2, vol_first, vol_first + 3), "#A5A5A5"),
                      ChartSeries(t["actual"], rng(1, vol_first, vol_first + 3), rng(3, vol_first, vol_first + 3), "#2F5597")),
                     reverse_categories=True),
        PlannedChart(sheet, "line", t["chart_trend"], f"K{tr_first - 4}", 560, 300,
                     (ChartSeries(t["trend_cols"][2], rng(1, tr_first, tr_last), rng(2, tr_first, tr_last), "#2F5597"),
                      ChartSeries(t["trend_cols"][3], rng(1, tr_first, tr_last), rng(3, tr_first, tr_last), "#C55A11")),
                     marker_size=5),
    )
    # target_/actual_ of every KPI row: a rebuild (re)defines them (the template's builder has them already)
    names += [PlannedName(f"{prefix}_{k.kpi_id}", k.sheet, ref)
              for k in rows for prefix, ref in (("target", k.target_ref), ("actual", k.actual_ref))]
    setup = SheetSetup(
        sheet, FONTS[lang],
        {"A": 20, "B": 16, "C": 26, "D": 14, "E": 14, "F": 11, "G": 13, "H": 9, "I": 10, "J": 2,
         **{c: 9.5 for c in "KLMNOPQR"}},
        freeze_rows=3, landscape=True, fit_height=1, print_area=f"A1:R{end + 1}",
    )
    return DashboardPlan(sheet, BLOCK, tuple(cells), tuple(names), tuple(vals), cfs + design_cfs, charts, setup,
                         ("status_on_track_from", "status_watch_from"))


def _ratio(actual: str, target: str) -> str:
    return f'=IF(OR({actual}="",{target}=""),"",IF({target}=0,"",{actual}/{target}))'


def _in_sentence(label: str) -> str:
    """A catalogue label inside a sentence: "Strategic KPIs" -> "strategic KPIs" (ja unchanged)."""
    return label[:1].lower() + label[1:]
