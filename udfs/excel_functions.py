"""The xlwings UDF module: the ``KPI_*`` worksheet functions.

Point xlwings at it with ``UDF Modules = kpitree.udfs.excel_functions`` (the kpitree
add-in does this for you). The same decorators serve classic Windows xlwings,
xlwings Server and xlwings Lite.

Every function follows the input policy of :mod:`kpitree.udfs.excel_values` and
never lets an exception reach Excel: bad input gives the Excel error the policy names.
Descriptions come from the KPI catalogue and the formula docstrings; argument help
from :data:`ARG_DOCS`. Excel's function wizard shows at most 255 characters of each.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, Callable

import numpy as np
import xlwings as xw

from . import forecast_metrics as fm
from . import kpi_formulas as kf
from .catalogue import LANGS, load_catalogue
from .excel_values import XlError
from .kpi_function import KpiFunction
from .kpi_tree import LEVERS, NO_BOTTLENECK, evaluate_bottleneck
from .stage import recommend, resolve_stage, stage_bounds_text
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


# --- Excel values out ---------------------------------------------------------------

# The SCODEs Windows Excel uses for its error values (xlwings._xlwindows.cell_errors).
_SCODES = {
    XlError.DIV0: -2146826281, XlError.NA: -2146826246, XlError.NAME: -2146826259, XlError.NULL: -2146826288,
    XlError.NUM: -2146826252, XlError.REF: -2146826265, XlError.VALUE: -2146826273,
}


def _xl_error(err: XlError) -> Any:
    """An error value Excel shows as an error, not as text.

    Classic xlwings passes return values through pywin32, which turns a VT_ERROR
    VARIANT into a real cell error; where that is not available (xlwings Server and
    Lite, tests on Linux) the error's text is returned.
    """
    if sys.platform.startswith("win"):
        try:
            import pythoncom
            from win32com.client import VARIANT

            return VARIANT(pythoncom.VT_ERROR, _SCODES[err])
        except ImportError:
            pass
    return err.text


def _cell(result: float | XlError) -> Any:
    return _xl_error(result) if isinstance(result, XlError) else result


def _lang(lang: Any) -> str | None:
    lang = "ja" if lang in (None, "") else str(lang).strip().lower()
    return lang if lang in LANGS else None


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """No exception reaches Excel: an unexpected one becomes #VALUE!."""

    def guarded(*args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:  # noqa: BLE001 - Excel must get a value, never a traceback
            return _xl_error(XlError.VALUE)

    guarded.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    guarded.__name__, guarded.__doc__ = fn.__name__, fn.__doc__
    guarded.unguarded = fn  # type: ignore[attr-defined]  # tests check the net is never needed
    return guarded


def _description(source: KpiFunction | str) -> str:
    """Function-wizard text: the catalogue's labels and formula where it has the KPI."""
    if isinstance(source, str):
        return source
    kpi = next((k for k in load_catalogue().kpis if k.function == source.name), None)
    if kpi is None:
        return (source.__doc__ or "").strip().splitlines()[0].replace("``", "")
    return f"{kpi.ja} / {kpi.en}: {kpi.formula_en} (seed {kpi.source})."


def udf(source: KpiFunction | str, **ret_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register a worksheet function with xlwings, with help from the catalogue.

    Texts are not cut here: a test holds every description and argument doc to
    Excel's 255-character limit, where xlwings would cut them silently.
    """

    def wrap(fn: Callable[..., Any]) -> Any:
        fn.__doc__ = _description(source)
        wrapped = _guard(fn)
        for name in inspect.signature(fn).parameters:
            options = {"ndim": 1} if name in RANGE_ARGS else {}
            wrapped = xw.arg(name, doc=ARG_DOCS[name], err_to_str=True, **options)(wrapped)
        if ret_options:
            wrapped = xw.ret(**ret_options)(wrapped)
        return xw.func(category=CATEGORY)(wrapped)

    return wrap


RANGE_ARGS = {"actuals", "forecasts", "funnel_actuals", "funnel_targets"}


# --- the contract: KPI formulas -------------------------------------------------------


@udf(kf.conversion_rate)
def KPI_CONVERSION_RATE(opportunities, leads):
    return _cell(kf.conversion_rate.excel(opportunities, leads))


@udf(kf.connect_rate)
def KPI_CONNECT_RATE(connects, calls):
    return _cell(kf.connect_rate.excel(connects, calls))


@udf(kf.required_calls)
def KPI_REQUIRED_CALLS(target_opportunities, conversion_rate, connect_rate):
    return _cell(kf.required_calls.excel(target_opportunities, conversion_rate, connect_rate))


@udf(kf.revenue_contribution)
def KPI_REVENUE_CONTRIBUTION(won_deals, avg_deal_size):
    return _cell(kf.revenue_contribution.excel(won_deals, avg_deal_size))


@udf(kf.ltv)
def KPI_LTV(avg_monthly_revenue, retention_months, gross_margin):
    return _cell(kf.ltv.excel(avg_monthly_revenue, retention_months, gross_margin))


@udf(kf.cac)
def KPI_CAC(marketing_cost, sales_cost, new_customers):
    return _cell(kf.cac.excel(marketing_cost, sales_cost, new_customers))


@udf(kf.ltv_cac)
def KPI_LTV_CAC(ltv, cac):
    return _cell(kf.ltv_cac.excel(ltv, cac))


@udf(kf.forecast_accuracy)
def KPI_FORECAST_ACCURACY(actual, forecast):
    return _cell(kf.forecast_accuracy.excel(actual, forecast))


@udf(kf.bant_rate)
def KPI_BANT_RATE(opps_with_3_of_4_bant, opportunities):
    return _cell(kf.bant_rate.excel(opps_with_3_of_4_bant, opportunities))


@udf(kf.followup_rate)
def KPI_FOLLOWUP_RATE(done_by_due_date, planned):
    return _cell(kf.followup_rate.excel(done_by_due_date, planned))


@udf(kf.achievement)
def KPI_ACHIEVEMENT(actual, target, lower_is_better=False):
    return _cell(kf.achievement.excel(actual, target, lower_is_better))


@udf(kf.pipeline_coverage)
def KPI_PIPELINE_COVERAGE(pipeline, remaining_target):
    return _cell(kf.pipeline_coverage.excel(pipeline, remaining_target))


@udf(kf.plan_opportunities)
def KPI_PLAN_OPPORTUNITIES(annual_revenue, avg_deal_size, win_rate, periods=12):
    return _cell(kf.plan_opportunities.excel(annual_revenue, avg_deal_size, win_rate, periods))


# --- more formulas users expect next to those ----------------------------------------


@udf(kf.win_rate)
def KPI_WIN_RATE(won_deals, opportunities):
    return _cell(kf.win_rate.excel(won_deals, opportunities))


@udf(kf.mql_to_sql_rate)
def KPI_MQL_TO_SQL_RATE(sql, mql):
    return _cell(kf.mql_to_sql_rate.excel(sql, mql))


@udf(kf.email_open_rate)
def KPI_EMAIL_OPEN_RATE(opened, sent):
    return _cell(kf.email_open_rate.excel(opened, sent))


@udf(kf.email_reply_rate)
def KPI_EMAIL_REPLY_RATE(replies, sent):
    return _cell(kf.email_reply_rate.excel(replies, sent))


@udf(kf.material_view_rate)
def KPI_MATERIAL_VIEW_RATE(viewed, sent):
    return _cell(kf.material_view_rate.excel(viewed, sent))


@udf(kf.avg_talk_time)
def KPI_AVG_TALK_TIME(total_talk_minutes, connects):
    return _cell(kf.avg_talk_time.excel(total_talk_minutes, connects))


@udf(kf.cac_payback_months)
def KPI_CAC_PAYBACK(cac, avg_monthly_revenue, gross_margin):
    return _cell(kf.cac_payback_months.excel(cac, avg_monthly_revenue, gross_margin))


@udf(kf.gap)
def KPI_GAP(actual, target):
    return _cell(kf.gap.excel(actual, target))


@udf(kf.pace)
def KPI_PACE(actual, target, elapsed_share):
    return _cell(kf.pace.excel(actual, target, elapsed_share))


@udf(kf.required_coverage)
def KPI_REQUIRED_COVERAGE(win_rate):
    return _cell(kf.required_coverage.excel(win_rate))


@udf(kf.forecast_abs_accuracy)
def KPI_FORECAST_ABS_ACCURACY(actual, forecast):
    return _cell(kf.forecast_abs_accuracy.excel(actual, forecast))


def _series(evaluate: Callable[[Any, Any], tuple[np.ndarray, np.ndarray]], actuals: Any, forecasts: Any) -> Any:
    actuals = actuals if isinstance(actuals, list) else [actuals]
    forecasts = forecasts if isinstance(forecasts, list) else [forecasts]
    if len(actuals) != len(forecasts):
        return _xl_error(XlError.VALUE)
    values, codes = evaluate(actuals, forecasts)
    return _cell(XlError(int(codes)) if codes else float(values))


@udf("Mean absolute percentage error of a forecast series: mean(|actual - forecast| / actual).")
def KPI_MAPE(actuals, forecasts):
    return _series(fm.evaluate_mape, actuals, forecasts)


@udf("Weighted absolute percentage error of a forecast series: sum|actual - forecast| / sum actual.")
def KPI_WAPE(actuals, forecasts):
    return _series(fm.evaluate_wape, actuals, forecasts)


@udf("Forecast bias: (sum forecast - sum actual) / sum actual; positive means over-forecasting.")
def KPI_BIAS(actuals, forecasts):
    return _series(fm.evaluate_bias, actuals, forecasts)


@udf("Status of a KPI from its achievement: 順調 / 注意 / 遅れ (On track / Watch / Behind); thresholds are arguments.")
def KPI_STATUS(achievement, on_track_from=1.0, watch_from=0.8, lang="ja"):
    code_lang = _lang(lang)
    index, codes = evaluate_status(achievement, on_track_from, watch_from)
    if codes:
        return _xl_error(XlError(int(codes)))
    return status_label(int(index), code_lang) if code_lang else _xl_error(XlError.VALUE)


# --- stage engine ---------------------------------------------------------------------


@udf(f"Stage of the inside-sales team from months since it started: {stage_bounds_text('ja')} ({stage_bounds_text('en')}).")
def KPI_STAGE(months_since_launch, lang="ja"):
    if isinstance(months_since_launch, str):  # text is never read as months (input policy)
        stage = XlError.from_text(months_since_launch) or XlError.VALUE
    else:
        stage = resolve_stage(months_since_launch)
    code_lang = _lang(lang)
    if isinstance(stage, XlError):
        return _xl_error(stage)
    return stage.label(code_lang) if code_lang else _xl_error(XlError.VALUE)


@udf("The stage's recommended KPIs as a table that spills: tier, KPI, priority (★★★), why (seed 000).")
def KPI_STAGE_RECOMMEND(stage_or_months, lang="ja"):
    stage = resolve_stage(stage_or_months)
    code_lang = _lang(lang)
    if isinstance(stage, XlError) or code_lang is None:
        return _xl_error(stage if isinstance(stage, XlError) else XlError.VALUE)
    return [[r.tier_label, r.kpi_label, r.stars, r.why] for r in recommend(stage, code_lang)]


# --- KPI-tree engine ------------------------------------------------------------------


@udf("Funnel bottleneck: the lever (calls, connect, conversion, win rate, deal size) whose target recovers the most revenue, with seed 000's cause and action; spills 1 x 4.")
def KPI_BOTTLENECK(funnel_actuals, funnel_targets, lang="ja"):
    code_lang = _lang(lang)
    a = funnel_actuals if isinstance(funnel_actuals, list) else [funnel_actuals]
    t = funnel_targets if isinstance(funnel_targets, list) else [funnel_targets]
    if code_lang is None or len(a) != len(LEVERS) or len(t) != len(LEVERS):
        return _xl_error(XlError.VALUE)
    r = evaluate_bottleneck(a, t)
    if r.codes:
        return _xl_error(XlError(int(r.codes)))
    if r.lever_index == -1:
        return [[*NO_BOTTLENECK[code_lang], 0.0]]
    b = load_catalogue().bottleneck(LEVERS[int(r.lever_index)])
    return [[b.label(code_lang), b.cause(code_lang), b.action(code_lang), float(r.recovered[int(r.lever_index)])]]


def exported_functions() -> dict[str, Callable[..., Any]]:
    """Every worksheet function of this module, by its Excel name."""
    return {name: obj for name, obj in globals().items() if name.startswith("KPI_") and callable(obj)}
