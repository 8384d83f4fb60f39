"""The ``KPI_*`` worksheet functions as plain data: one registry every face reads.

Each :class:`WorksheetFunction` holds the function's Excel name, its Python
implementation over Excel-like values (:attr:`~WorksheetFunction.call`), its
function-wizard description, the help of each argument (:data:`ARG_DOCS`), which
arguments take a range (:data:`RANGE_ARGS`), and how the batch engine vectorises it
(:attr:`~WorksheetFunction.kind` and :attr:`~WorksheetFunction.formula`).

Nothing here imports xlwings, pandas or formulas. The faces over it:

* :mod:`kpitree.udfs.excel_functions` — the xlwings UDF module Excel imports;
* :mod:`kpitree.recalculation` — the batch engine, by :attr:`~WorksheetFunction.kind`;
* the README's function table and the add-in's VBA wrappers (and, in the tests and
  benchmarks, the ``formulas`` package's table: tools/formulas_peer.py);
* the portable copy (``kpitree share``, :mod:`kpitree.portable`): each function's
  :attr:`~WorksheetFunction.native` form, declared here next to the function, is what the
  copy computes with Excel's own functions in its place.

A ``call`` follows the input policy of :mod:`kpitree.udfs.excel_values`: arguments are
what Excel passes (numbers, text, booleans, ``None`` for a blank, an error as its text
``"#N/A"``; a range argument as a list); the result is a float, a text, an
:class:`~kpitree.udfs.excel_values.XlError`, or rows of values for a function that
spills. Bad input gives the Excel error the policy names; a ``call`` never raises for
any input (a property test holds it to that).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from . import forecast_metrics as fm
from . import kpi_formulas as kf
from .catalogue import LANGS, Lang, Stage, load_catalogue
from .excel_values import XlError
from .kpi_function import KpiFunction
from .kpi_tree import LEVERS, NO_BOTTLENECK, evaluate_bottleneck
from .stage import recommend_rows, recommend_table, resolve_stage, stage_bounds_text
from .status import evaluate_status, status_label

CATEGORY = "kpitree"
WIZARD_LIMIT = 255  # characters Excel's function wizard shows of each text

ARG_DOCS: dict[str, str] = {
    "opportunities": "Opportunities created (商談数), a count >= 0.",
    "leads": "Leads worked (対応リード数), a count >= 0.",
    "connects": "Calls that reached someone (接続数), a count >= 0.",
    "calls": "Calls made (架電数), a count >= 0.",
    "target_opportunities": "Opportunities to create in the period (目標商談数), a count >= 0.",
    "conversion_rate": "Opportunity conversion rate per connected lead (商談化率), 0-100 %; 10 means 1000 % and gives #NUM!.",
    "connect_rate": "Connect rate (接続率), 0-100 %.",
    "won_deals": "Won deals (成約件数), a count >= 0.",
    "avg_deal_size": "Average deal size in yen (平均受注単価), >= 0.",
    "avg_monthly_revenue": "Average monthly revenue per customer in yen (平均月間売上), >= 0.",
    "retention_months": "Average retention in months (平均継続期間), >= 0.",
    "gross_margin": "Gross margin (粗利率), 0-100 %.",
    "marketing_cost": "Marketing cost in yen (マーケ費用), >= 0.",
    "sales_cost": "Sales cost in yen (営業費用), >= 0.",
    "new_customers": "New customers won (新規獲得顧客数), a count >= 0.",
    "ltv": "Customer lifetime value in yen (LTV), >= 0.",
    "cac": "Customer acquisition cost in yen (CAC), >= 0.",
    "actual": "Actual value of the period (実績).",
    "forecast": "Forecast value of the period (予測).",
    "actuals": "Actual values (実績), a row or column of cells.",
    "forecasts": "Forecast values (予測), same size as actuals.",
    "opps_with_3_of_4_bant": "Opportunities with at least 3 of the 4 BANT items captured, a count >= 0.",
    "done_by_due_date": "Follow-ups done by their due date (期限内に実行したフォロー数), >= 0.",
    "planned": "Follow-ups planned (予定フォロー数), >= 0.",
    "target": "Target value of the period (目標).",
    "lower_is_better": "TRUE for a KPI where lower is better (e.g. CAC): the rate is then target / actual. Default FALSE.",
    "elapsed_share": "Share of the period elapsed (経過率), 0-100 %, e.g. 33 % on day 10 of 30.",
    "pipeline": "Open pipeline amount in yen (パイプライン金額), >= 0.",
    "remaining_target": "Target amount still to win in yen (残り目標), >= 0.",
    "win_rate": "Win rate (受注率), 0-100 %.",
    "annual_revenue": "Annual revenue goal in yen (KGI 年間売上目標), >= 0.",
    "periods": "Periods per year to spread the plan over: 12 months (default), 4 quarters, 52 weeks.",
    "months_since_launch": "Months since the inside-sales team started (IS立ち上げからの月数), >= 0.",
    "stage_or_months": "A stage (立ち上げ期/成長期/成熟期, launch/growth/mature) or months since the team started.",
    "lang": '"ja" (default) for Japanese labels, "en" for English.',
    "targets": "Targets of the same five levers, same order.",
    "achievement": "Achievement rate (達成率), e.g. from KPI_ACHIEVEMENT.",
    "on_track_from": "Achievement from which the KPI is on track (順調), default 100 %.",
    "watch_from": "Achievement from which the KPI is on watch (注意), default 80 %; below it is behind (遅れ).",
    "sql": "SQL count (SQL数), >= 0.",
    "mql": "MQL count (MQL数), >= 0.",
    "opened": "Emails opened (開封数), >= 0.",
    "sent": "Emails or materials sent (送信数・送付数), >= 0.",
    "replies": "Emails replied to (返信数), >= 0.",
    "viewed": "Materials viewed (閲覧数), >= 0.",
    "total_talk_minutes": "Total talk time in minutes (総通話時間), >= 0.",
    "funnel_actuals": "Actual calls, connect rate, conversion rate, win rate and average deal size: 5 cells in that order.",
}
ARG_DOCS["funnel_targets"] = ARG_DOCS["targets"]

RANGE_ARGS = frozenset({"actuals", "forecasts", "funnel_actuals", "funnel_targets"})

# How the batch engine vectorises a function (kpitree.recalculation.kpi_bridge has one builder per kind).
Kind = Literal["scalar", "series", "status", "stage", "stage_recommend", "bottleneck"]


@dataclass(frozen=True)
class WorksheetFunction:
    """One ``KPI_*`` function: its Excel name, implementation, help and engine kind."""

    name: str
    call: Callable[..., Any]
    description: str
    kind: Kind
    # scalar: the KpiFunction; series: its evaluate(actuals, forecasts); otherwise None
    formula: Any = field(default=None, compare=False)
    # The function in Excel's own functions, over its parameter names, for the values once they passed the
    # input policy (kpitree.portable generates the checks from the argument kinds and writes the rest):
    # scalar and series functions: the result; status and stage: which label ({0}, {1}, … are the labels);
    # tables: the named pieces kpitree.portable.tables lays out over its lookup sheet (other identifiers
    # there name that sheet's ranges and cells).
    native: Any = field(default="", compare=False)

    @property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.call)

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(self.signature.parameters)

    def takes_range(self, position: int) -> bool:
        return self.parameters[position] in RANGE_ARGS


def _lang(lang: Any) -> Lang | None:
    """A ``lang`` argument: blank means ja; anything but ja/en is None (``#VALUE!``)."""
    code = "ja" if lang in (None, "") else str(lang).strip().lower()
    return code if code in LANGS else None


def _description(formula: KpiFunction) -> str:
    """Function-wizard text: the catalogue's labels and formula where it has the KPI."""
    kpi = next((k for k in load_catalogue().kpis if k.function == formula.name), None)
    if kpi is None:
        return (formula.__doc__ or "").strip().splitlines()[0].replace("``", "")
    return f"{kpi.ja} / {kpi.en}: {kpi.formula_en}."


def _scalar(name: str, formula: KpiFunction, native: str) -> WorksheetFunction:
    def call(*args: Any) -> float | XlError:
        return formula.excel(*args)

    kernel = inspect.signature(formula.kernel)
    call.__signature__ = kernel  # type: ignore[attr-defined]
    call.__name__ = name
    return WorksheetFunction(name, call, _description(formula), "scalar", formula, native)


# --- functions over ranges, tables and labels -----------------------------------------------


def _as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


def _series(evaluate: Callable[[Any, Any], tuple[np.ndarray, np.ndarray]]) -> Callable[[Any, Any], Any]:
    """KPI_MAPE/WAPE/BIAS: ranges of different sizes are ``#VALUE!``; empty ranges ``#DIV/0!`` (nothing to
    average); a result past the float range ``#NUM!`` (see :mod:`.forecast_metrics`)."""

    def call(actuals: Any, forecasts: Any) -> float | XlError:
        a, f = _as_list(actuals), _as_list(forecasts)
        if len(a) != len(f) or any(isinstance(v, (list, tuple)) for v in (*a, *f)):
            return XlError.VALUE
        values, codes = evaluate(a, f)
        return XlError(int(codes)) if codes else float(values)

    return call


def _one_value(x: Any) -> Any:
    """A single-cell range as its value; a range of several cells raises :class:`_SeveralCells`."""
    while isinstance(x, (list, tuple)):
        if len(x) != 1:
            raise _SeveralCells
        x = x[0]
    return x


class _SeveralCells(Exception):
    """An argument that takes one cell got a range of several (or none)."""


def KPI_STATUS(achievement: Any, on_track_from: Any = 1.0, watch_from: Any = 0.8, lang: Any = "ja") -> str | XlError:
    """One KPI's status. A range of several cells in any argument is ``#VALUE!`` (one status per cell: one
    formula per KPI row); a one-cell range is its value."""
    try:
        achievement, on_track_from, watch_from, lang = map(_one_value, (achievement, on_track_from, watch_from, lang))
    except _SeveralCells:
        return XlError.VALUE
    code_lang = _lang(lang)
    index, codes = evaluate_status(achievement, on_track_from, watch_from)
    if codes:
        return XlError(int(codes))
    return status_label(int(index), code_lang) if code_lang else XlError.VALUE


def KPI_STAGE(months_since_launch: Any, lang: Any = "ja") -> str | XlError:
    stage: Stage | XlError
    if isinstance(months_since_launch, str):  # text is never read as months (input policy)
        stage = XlError.from_text(months_since_launch) or XlError.VALUE
    else:
        stage = resolve_stage(months_since_launch)
    code_lang = _lang(lang)
    if isinstance(stage, XlError):
        return stage
    return stage.label(code_lang) if code_lang else XlError.VALUE


def KPI_STAGE_RECOMMEND(stage_or_months: Any, lang: Any = "ja") -> list[list[Any]] | XlError:
    stage = resolve_stage(stage_or_months)
    code_lang = _lang(lang)
    if isinstance(stage, XlError):
        return stage
    if code_lang is None:
        return XlError.VALUE
    return recommend_table(stage, code_lang)


def KPI_BOTTLENECK(funnel_actuals: Any, funnel_targets: Any, lang: Any = "ja") -> list[list[Any]] | XlError:
    code_lang = _lang(lang)
    a, t = _as_list(funnel_actuals), _as_list(funnel_targets)
    if code_lang is None or len(a) != len(LEVERS) or len(t) != len(LEVERS):
        return XlError.VALUE
    r = evaluate_bottleneck(a, t)
    if r.codes:
        return XlError(int(r.codes))
    if r.lever_index == -1:
        return [[*NO_BOTTLENECK[code_lang], 0.0]]
    b = load_catalogue().bottleneck(LEVERS[int(r.lever_index)])
    return [[b.label(code_lang), b.cause(code_lang), b.action(code_lang), float(r.recovered[int(r.lever_index)])]]


def _named(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
    call.__name__ = name
    return call


def _stage_native() -> str:
    """KPI_STAGE's label index from months, the catalogue's stage bounds in an IF chain."""
    stages = load_catalogue().stages
    expr = f"{{{len(stages) - 1}}}"
    for i in range(len(stages) - 2, -1, -1):
        expr = f"IF(months_since_launch<{stages[i + 1].from_months:.15g},{{{i}}},{expr})"
    return expr


def _build() -> dict[str, WorksheetFunction]:
    # (Excel name, kernel, native form: the kernel's formula in Excel's operators, same order of operations)
    scalars = (
        # the contract of issue 2
        ("KPI_CONVERSION_RATE", kf.conversion_rate, "opportunities/leads"),
        ("KPI_CONNECT_RATE", kf.connect_rate, "connects/calls"),
        ("KPI_REQUIRED_CALLS", kf.required_calls, "target_opportunities/(conversion_rate*connect_rate)"),
        ("KPI_REVENUE_CONTRIBUTION", kf.revenue_contribution, "won_deals*avg_deal_size"),
        ("KPI_LTV", kf.ltv, "avg_monthly_revenue*retention_months*gross_margin"),
        ("KPI_CAC", kf.cac, "(marketing_cost+sales_cost)/new_customers"),
        ("KPI_LTV_CAC", kf.ltv_cac, "ltv/cac"),
        ("KPI_FORECAST_ACCURACY", kf.forecast_accuracy, "actual/forecast"),
        ("KPI_BANT_RATE", kf.bant_rate, "opps_with_3_of_4_bant/opportunities"),
        ("KPI_FOLLOWUP_RATE", kf.followup_rate, "done_by_due_date/planned"),
        ("KPI_ACHIEVEMENT", kf.achievement, "IF(lower_is_better=1,target/actual,actual/target)"),
        ("KPI_PIPELINE_COVERAGE", kf.pipeline_coverage, "pipeline/remaining_target"),
        ("KPI_PLAN_OPPORTUNITIES", kf.plan_opportunities, "annual_revenue/(avg_deal_size*win_rate*periods)"),
        # more formulas users expect next to those
        ("KPI_WIN_RATE", kf.win_rate, "won_deals/opportunities"),
        ("KPI_MQL_TO_SQL_RATE", kf.mql_to_sql_rate, "sql/mql"),
        ("KPI_EMAIL_OPEN_RATE", kf.email_open_rate, "opened/sent"),
        ("KPI_EMAIL_REPLY_RATE", kf.email_reply_rate, "replies/sent"),
        ("KPI_MATERIAL_VIEW_RATE", kf.material_view_rate, "viewed/sent"),
        ("KPI_AVG_TALK_TIME", kf.avg_talk_time, "total_talk_minutes/connects"),
        ("KPI_CAC_PAYBACK", kf.cac_payback_months, "cac/(avg_monthly_revenue*gross_margin)"),
        ("KPI_GAP", kf.gap, "actual-target"),
        ("KPI_PACE", kf.pace, "actual/(target*elapsed_share)"),
        ("KPI_REQUIRED_COVERAGE", kf.required_coverage, "1/win_rate"),
        ("KPI_FORECAST_ABS_ACCURACY", kf.forecast_abs_accuracy, "1-ABS(actual-forecast)/forecast"),
    )
    functions = [_scalar(name, formula, native) for name, formula, native in scalars]
    # series: actuals and forecasts stand for the periods' checked values (ranges of the same size)
    series = (
        ("KPI_MAPE", fm.evaluate_mape, "Mean absolute percentage error of a forecast series: mean(|actual - forecast| / actual).",
         "SUMPRODUCT(ABS(actuals-forecasts)/actuals)/COUNT(actuals)"),
        ("KPI_WAPE", fm.evaluate_wape, "Weighted absolute percentage error of a forecast series: sum|actual - forecast| / sum actual.",
         "SUMPRODUCT(ABS(actuals-forecasts))/SUM(actuals)"),
        ("KPI_BIAS", fm.evaluate_bias, "Forecast bias: (sum forecast - sum actual) / sum actual; positive means over-forecasting.",
         "(SUM(forecasts)-SUM(actuals))/SUM(actuals)"),
    )
    functions += [WorksheetFunction(name, _named(name, _series(evaluate)), text, "series", evaluate, native)
                  for name, evaluate, text, native in series]
    functions += [
        WorksheetFunction("KPI_STATUS", KPI_STATUS, "Status of a KPI from its achievement: 順調 / 注意 / 遅れ "
                          "(On track / Watch / Behind); thresholds are arguments.", "status",
                          native="IF(watch_from>on_track_from,#NUM!,IF(achievement>=on_track_from,{2},"
                          "IF(achievement>=watch_from,{1},{0})))"),
        WorksheetFunction("KPI_STAGE", KPI_STAGE, "Stage of the inside-sales team from months since it started: "
                          f"{stage_bounds_text('ja')} ({stage_bounds_text('en')}).", "stage", native=_stage_native()),
        WorksheetFunction("KPI_STAGE_RECOMMEND", KPI_STAGE_RECOMMEND, "The stage's recommended KPIs as a table that "
                          f"spills: tier, KPI, priority (★★★), why; always {recommend_rows()} rows, blank below a shorter "
                          "list.", "stage_recommend",
                          # the stage's number (1, 2, …) from months or from a stage's name; then each cell of the table
                          native={"months": "MATCH(stage_or_months,stage_starts,1)",
                                  "name": "SUMPRODUCT((stage_keys=LOWER(TRIM(stage_or_months)))*stage_numbers)",
                                  "cell": 'INDEX(table,(stage-1)*rows+row,column)&""'}),
        WorksheetFunction("KPI_BOTTLENECK", KPI_BOTTLENECK, "Funnel bottleneck: the lever (calls, connect, conversion, "
                          "win rate, deal size) whose target recovers the most revenue, with its likely cause and "
                          "improvement action; spills 1 x 4.", "bottleneck",
                          # revenue recovered by lifting lever k alone to its target; the lever that recovers most
                          native={"recovered": "lifted_product-product",
                                  "lever": "IF(MAX(recovered)>0,MATCH(MAX(recovered),recovered,0),0)",
                                  "cell": "INDEX(labels,lever+1,column)",
                                  "revenue": "IF(lever=0,0,INDEX(recovered,lever))"}),
    ]
    return {f.name: f for f in functions}


FUNCTIONS: dict[str, WorksheetFunction] = _build()
