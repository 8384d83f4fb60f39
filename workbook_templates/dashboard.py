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

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpitree.udfs.catalogue import Lang, load_catalogue
from kpitree.udfs.kpi_tree import LEVERS
from kpitree.udfs.texts import text, text_list

from .layout import (
    FONTS,
    ChartSeries,
    PlannedCell,
    PlannedChart,
    PlannedConditionalFormat,
    PlannedName,
    PlannedValidation,
    SheetSetup,
    absolute,
    cell_ref,
    quote_sheet,
    validation_rule,
    wrapped_row_heights,
)
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
# SHORT_LABELS word a lever differently (shorter, to fit column B; ja 成約率 as in the bottleneck labels).
LEVER_CELLS = {
    "calls": ("required_calls_month", "raw_calls_month", "count1"),
    "connect_rate": ("plan_connect_rate", "actual_connect_rate", "rate"),
    "conversion_rate": ("plan_conversion_rate", "actual_conversion_rate", "rate"),
    "win_rate": ("plan_win_rate", "actual_handoff_win_rate", "rate"),
    "avg_deal_size": ("avg_deal_size", "raw_actual_deal_size", "amount"),
}

# levers worded shorter than their catalogue label, to fit column B ("" in a language: the catalogue's label)
SHORT_LABELS = {
    "connect_rate": "dashboard.short_label_connect_rate",
    "win_rate": "dashboard.short_label_win_rate",
    "conversion_rate": "dashboard.short_label_conversion_rate",
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


@dataclass
class _SheetCells:
    """The cells and names a plan collects on its sheet, one ``put`` at a time."""

    sheet: str
    cells: list[PlannedCell] = field(default_factory=list)
    names: list[PlannedName] = field(default_factory=list)

    def put(self, row: int, col: int, value: Any = None, formula: str | None = None, style: str = "label",
            name: str | None = None, spill: str | None = None) -> str:
        ref = cell_ref(row, col)
        self.cells.append(PlannedCell(self.sheet, ref, value, formula, style, name, spill))
        if name:
            self.names.append(PlannedName(name, self.sheet, ref))
        return ref

    def header(self, row: int, texts: tuple[str, ...]) -> None:
        for col, heading in enumerate(texts):
            self.put(row, col, heading or None, style="header")


def plan_from_facts(facts: WorkbookFacts) -> DashboardPlan:
    """The dashboard of a workbook read through its contract (a file or the live workbook alike).

    The caller checks the facts first (:func:`.checks.workbook_problems`); here they are planned.
    """
    settings = {k: facts.values[k] for k in THRESHOLDS
                if isinstance(facts.values.get(k), (int, float)) and not isinstance(facts.values.get(k), bool)}
    return plan_dashboard(facts.kpi_rows, facts.lang, settings, names_available=facts.names)


def plan_dashboard(kpi_rows: Iterable[KpiRow], lang: Lang = "ja", settings: dict[str, Any] | None = None,
                   names_available: Iterable[str] | None = None) -> DashboardPlan:
    """Plan sheet 4 for the KPI rows of sheets 1–3 (pure: same arguments, same plan).

    ``settings`` holds the current status thresholds (``status_on_track_from``,
    ``status_watch_from``; defaults 100 % / 80 %). ``names_available`` are the defined names
    of the workbook (default: those the template defines); a funnel input whose name is
    missing (its KPI row was removed) shows as blank instead of a broken reference.
    """
    cat = load_catalogue()
    status = text_list("status.labels", lang)  # behind, watch, on track
    # the design check's verdicts are the stage engine's (TierCount.verdict)
    ok, few, many = text("stage.verdict_ok", lang), text("stage.verdict_too_few", lang), text("stage.verdict_too_many", lang)
    focus, outside = text("dashboard.focus", lang), text("dashboard.outside", lang)
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

    planned = _SheetCells(sheet)
    cells, names, put, header = planned.cells, planned.names, planned.put, planned.header
    vals: list[PlannedValidation] = []

    put(0, 0, text("dashboard.title", lang), style="title")
    put(1, 0, text("dashboard.note", lang), style="note")
    # settings
    put(3, 0, text("dashboard.settings", lang), style="section")
    put(4, 1, text("dashboard.on_track", lang))
    put(4, 2, settings["status_on_track_from"], style="input:rate", name="status_on_track_from")
    put(5, 1, text("dashboard.watch", lang))
    put(5, 2, settings["status_watch_from"], style="input:rate", name="status_watch_from")
    vals += [PlannedValidation(sheet, "C5", validation_rule("ratio", lang)),
             PlannedValidation(sheet, "C6", validation_rule("ratio", lang))]
    put(4, 4, text("dashboard.stage", lang))
    put(4, 5, formula="=stage_label", style="status")
    put(5, 4, text("dashboard.periods", lang), style="note")

    # KPI table
    cols = text_list("dashboard.cols", lang)
    put(7, 0, text("dashboard.kpis", lang), style="section")
    header(8, cols)
    first = 9
    r = first
    for k in rows:
        kpi = cat.kpi(k.kpi_id)
        fmt = kpi_format(kpi)
        tgt, act = f"target_{kpi.id}", f"actual_{kpi.id}"
        D, E, F = (cell_ref(r, c) for c in (3, 4, 5))
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
        put(r, 8, formula=f'=IF(COUNTIF(stage_recommend_kpis,{cell_ref(r, 2)})>0,"{focus}","{outside}")',
            style="status")
        r += 1
    last = max(r - 1, first)
    status_range = f"H{first + 1}:H{last + 1}"
    cfs = (
        *(PlannedConditionalFormat(sheet, status_range, status[i], *STATUS_COLORS[sid])
          for i, sid in enumerate(("behind", "watch", "on_track"))),
        PlannedConditionalFormat(sheet, f"I{first + 1}:I{last + 1}", outside, "#EDEDED", "#7F7F7F"),
    )
    r = last + 1
    put(r, 1, text("dashboard.summary", lang), style="label")
    for col, label in ((2, status[2]), (4, status[1]), (6, status[0])):  # label and count centred: "順調 | 5 | 注意 | 9"
        put(r, col, label, style="center")
        put(r, col + 1, formula=f'=COUNTIF({status_range},"{label}")', style="calc_center:count")

    # funnel
    r += 2
    funnel_cols = text_list("dashboard.funnel_cols", lang)
    put(r, 0, text("dashboard.funnel", lang), style="section")
    header(r + 1, funnel_cols)
    vol_first = r + 2
    connects, opportunities, won = text_list("dashboard.volumes", lang)  # after calls (the catalogue's label)
    volumes = (
        (cat.kpi("calls").label(lang), "required_calls_month", "raw_calls_month"),
        (connects, "required_connects_month", "raw_connects_month"),
        (opportunities, "required_opportunities_month", "actual_opportunities"),
        (won, "required_won_deals_month", "raw_handoff_won"),
    )
    for i, (label, target, actual) in enumerate(volumes):
        rr = vol_first + i
        put(rr, 1, label)
        put(rr, 2, formula=f"={target}" if has(target) else None, style="calc:count1")
        put(rr, 3, formula=f'=IF({actual}="","",{actual})' if has(actual) else None, style="calc:count1")
        put(rr, 4, formula=_ratio(cell_ref(rr, 3), cell_ref(rr, 2)), style="calc:rate")
    r = vol_first + len(volumes) + 1
    put(r, 0, text("dashboard.levers_title", lang), style="note")
    header(r + 1, funnel_cols)
    lev_first = r + 2
    levers = [(lever, *LEVER_CELLS[lever]) for lever in LEVERS]
    for i, (lever, target, actual, fmt) in enumerate(levers):
        rr = lev_first + i
        label = (text(SHORT_LABELS[lever], lang) if lever in SHORT_LABELS else "") or cat.kpi(lever).label(lang)
        put(rr, 1, text("dashboard.per_month", lang, label=label) if lever == "calls" else label)
        put(rr, 2, formula=f"={target}" if has(target) else None, style=f"calc:{fmt}")
        put(rr, 3, formula=f'=IF({actual}="","",{actual})' if has(actual) else None, style=f"calc:{fmt}")
        put(rr, 4, formula=_ratio(cell_ref(rr, 3), cell_ref(rr, 2)), style="calc:rate")
    rev = lev_first + len(levers)
    put(rev, 1, text("dashboard.revenue", lang))
    act_cells = [cell_ref(lev_first + i, 3) for i in range(len(levers))]
    put(rev, 2, formula=f"={'*'.join(cell_ref(lev_first + i, 2) for i in range(len(levers)))}", style="calc:amount")
    # blank until every lever has a number: the lever cells are formulas showing "" for a missing actual, which
    # COUNTA would count (the guard never fired and one blank made the product #VALUE!); COUNT counts numbers only
    put(rev, 3, formula=f'=IF(COUNT({act_cells[0]}:{act_cells[-1]})<{len(levers)},"",{"*".join(act_cells)})',
        style="calc:amount")
    put(rev, 4, formula=_ratio(cell_ref(rev, 3), cell_ref(rev, 2)), style="calc:rate")
    r = rev + 1
    header(r, text_list("dashboard.bottleneck_cols", lang))
    b = r + 1
    actuals = f"{cell_ref(lev_first, 3)}:{cell_ref(lev_first + 4, 3)}"
    targets = f"{cell_ref(lev_first, 2)}:{cell_ref(lev_first + 4, 2)}"
    put(b, 1, formula=f'=KPI_BOTTLENECK({actuals},{targets},"{lang}")', style="status", name="bottleneck",
        spill=f"{cell_ref(b, 1)}:{cell_ref(b, 4)}")
    put(b, 2, style="calc_text")  # the cause and the action take lines of their own
    put(b, 3, style="calc_text")
    put(b, 4, style="calc:amount")

    # design check
    r = b + 2
    counts = text("dashboard.count_sep", lang).join(
        text("dashboard.count_range", lang, tier=_in_sentence(tier.label(lang)), low=tier.min_count, high=tier.max_count)
        for tier in cat.tiers)
    put(r, 0, text("dashboard.design", lang, counts=counts), style="section")
    header(r + 1, text_list("dashboard.design_cols", lang))
    tier_range = f"B{first + 1}:B{last + 1}"
    for i, tier in enumerate(cat.tiers):
        rr = r + 2 + i
        count_cell = cell_ref(rr, 2)
        put(rr, 1, tier.label(lang))
        put(rr, 2, formula=f'=COUNTIF({tier_range},"{tier.label(lang)}")', style="calc:count")
        put(rr, 3, f"{tier.min_count}–{tier.max_count}", style="center")
        put(rr, 4, formula=(f'=IF({count_cell}<{tier.min_count},"{few}",IF({count_cell}>{tier.max_count},"{many}","{ok}"))'),
            style="status")
    rr = r + 2 + len(cat.tiers)
    put(rr, 1, text("dashboard.outside_count", lang))
    put(rr, 2, formula=f'=COUNTIF(I{first + 1}:I{last + 1},"{outside}")', style="calc:count")
    other_rules = text_list("stage.other_count_rules", lang)  # as the stage engine's design check reports them
    for j, rule in enumerate(other_rules):
        put(rr + 1 + j, 1, rule, style="note")
    design_cfs = tuple(
        PlannedConditionalFormat(sheet, f"E{r + 3}:E{r + 2 + len(cat.tiers)}", verdict, *STATUS_COLORS["watch"])
        for verdict in (few, many)
    )

    # trend
    r = rr + 1 + len(other_rules) + 1
    trend_cols = text_list("dashboard.trend_cols", lang)
    put(r, 0, text("dashboard.trend", lang), style="section")
    header(r + 1, trend_cols)
    tr_first = r + 2
    month_target = "target_opportunities" if "target_opportunities" in present else "required_opportunities_month"
    for i in range(12):
        rr = tr_first + i
        C, D = cell_ref(rr, 2), cell_ref(rr, 3)

        def idx(name: str, n: int = i + 1) -> str:  # the month's item of a trend_* range
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

    target_series, actual_series = text("dashboard.target", lang), text("dashboard.actual", lang)
    charts = (
        PlannedChart(sheet, "bar", text("dashboard.chart_achievement", lang), "K4", 560, 420,
                     (ChartSeries(cols[5], rng(2, first, last), rng(5, first, last), "#2F5597"),), y_percent=True,
                     value_labels="0%", reverse_categories=True),
        # calls (≈1,300) and won deals (≈8) on one linear axis hide the lower stages: a log axis and labels
        PlannedChart(sheet, "bar", text("dashboard.chart_funnel", lang), "K27", 560, 300,
                     (ChartSeries(target_series, rng(1, vol_first, vol_first + 3), rng(2, vol_first, vol_first + 3), "#A5A5A5"),
                      ChartSeries(actual_series, rng(1, vol_first, vol_first + 3), rng(3, vol_first, vol_first + 3), "#2F5597")),
                     value_labels="#,##0", reverse_categories=True, log_axis=True),
        PlannedChart(sheet, "line", text("dashboard.chart_trend", lang), f"K{tr_first - 4}", 560, 300,
                     (ChartSeries(trend_cols[2], rng(1, tr_first, tr_last), rng(2, tr_first, tr_last), "#2F5597"),
                      ChartSeries(trend_cols[3], rng(1, tr_first, tr_last), rng(3, tr_first, tr_last), "#C55A11")),
                     marker_size=5),
    )
    # target_/actual_ of every KPI row: a rebuild (re)defines them (the template's builder has them already)
    names += [PlannedName(f"{prefix}_{k.kpi_id}", k.sheet, ref)
              for k in rows for prefix, ref in (("target", k.target_ref), ("actual", k.actual_ref))]
    widths = {"A": 20, "B": 26, "C": 26, "D": 22, "E": 16, "F": 13, "G": 13, "H": 9, "I": 10, "J": 2,
              **{c: 9.5 for c in "KLMNOPQR"}}
    # the bottleneck's label, cause and action: as tall as the longest the catalogue has
    shown = {ref: texts for ref, texts in zip((cell_ref(b, c) for c in (1, 2, 3)), bottleneck_texts(lang))}
    setup = SheetSetup(sheet, FONTS[lang], widths, freeze_rows=3, landscape=True, fit_height=1, print_area=f"A1:R{end + 1}",
                       row_heights=wrapped_row_heights(cells, widths, shown))
    return DashboardPlan(sheet, BLOCK, tuple(cells), tuple(names), tuple(vals), cfs + design_cfs, charts, setup,
                         ("status_on_track_from", "status_watch_from"))


def bottleneck_texts(lang: Lang) -> tuple[list[str], list[str], list[str]]:
    """Every label, cause and action KPI_BOTTLENECK may show in ``lang`` (a row is as tall as the longest)."""
    from kpitree.udfs.kpi_tree import NO_BOTTLENECK

    cat = load_catalogue()
    rows = [NO_BOTTLENECK[lang], *((b.label(lang), b.cause(lang), b.action(lang)) for b in map(cat.bottleneck, LEVERS))]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def _ratio(actual: str, target: str) -> str:
    return f'=IF(OR({actual}="",{target}=""),"",IF({target}=0,"",{actual}/{target}))'


def _in_sentence(label: str) -> str:
    """A catalogue label inside a sentence: "Strategic KPIs" -> "strategic KPIs" (ja unchanged)."""
    return label[:1].lower() + label[1:]
