"""Sales-KPI formulas, patterned after spreadsheet computations.

Every function broadcasts over scalars, numpy arrays and pandas Series (a Series in
gives a Series out), so one implementation serves an Excel cell, a pandas column and
a scenario table. Rates are fractions: 0.25 means 25 %. Bad input follows the policy
in :mod:`kpitree.udfs.excel_values`; in Python an element Excel would show as an error
is NaN, and ``f.evaluate(...)`` / ``f.excel(...)`` give the Excel error itself.

Sources: the domain spec (``kpi-spec.md``) and the seed articles 000–004.
"""

from __future__ import annotations

import numpy as np

from .excel_values import Kind
from .kpi_function import divide, kpi_function

C, A, R, N, F = Kind.COUNT, Kind.AMOUNT, Kind.RATE, Kind.NUMBER, Kind.FLAG

# --- strategic KPIs --------------------------------------------------------------


@kpi_function(won_deals=C, avg_deal_size=A)
def revenue_contribution(won_deals, avg_deal_size):
    """Revenue contribution (受注貢献額) of inside-sales-originated deals.

    ``revenue_contribution = won_deals * avg_deal_size``  (seed 000)

    Parameters
    ----------
    won_deals : count, IS-originated won deals
    avg_deal_size : amount, average deal size in yen

    Examples
    --------
    >>> revenue_contribution(25, 1_000_000)
    25000000.0
    """
    return won_deals * avg_deal_size


@kpi_function(avg_monthly_revenue=A, retention_months=C, gross_margin=R)
def ltv(avg_monthly_revenue, retention_months, gross_margin):
    """Customer lifetime value (顧客生涯価値).

    ``ltv = avg_monthly_revenue * retention_months * gross_margin``  (seed 000)

    Examples
    --------
    >>> ltv(50_000, 36, 0.7)
    1260000.0
    """
    return avg_monthly_revenue * retention_months * gross_margin


@kpi_function(marketing_cost=A, sales_cost=A, new_customers=C)
def cac(marketing_cost, sales_cost, new_customers):
    """Customer acquisition cost (顧客獲得コスト).

    ``cac = (marketing_cost + sales_cost) / new_customers``  (seed 000);
    ``#DIV/0!`` when there are no new customers.

    Examples
    --------
    >>> cac(3_000_000, 5_000_000, 20)
    400000.0
    """
    return divide(marketing_cost + sales_cost, new_customers)


@kpi_function(ltv=A, cac=A)
def ltv_cac(ltv, cac):
    """LTV/CAC ratio (LTV/CAC比率); 3.0 or more is healthy (seed 000).

    ``ltv_cac = ltv / cac``

    Examples
    --------
    >>> ltv_cac(1_260_000, 400_000)
    3.15
    """
    return divide(ltv, cac)


@kpi_function(cac=A, avg_monthly_revenue=A, gross_margin=R)
def cac_payback_months(cac, avg_monthly_revenue, gross_margin):
    """Months of gross profit from one customer needed to earn back its CAC.

    ``cac_payback_months = cac / (avg_monthly_revenue * gross_margin)``

    Examples
    --------
    >>> cac_payback_months(400_000, 50_000, 0.8)
    10.0
    """
    return divide(cac, avg_monthly_revenue * gross_margin)


@kpi_function(actual=A, forecast=A)
def forecast_accuracy(actual, forecast):
    """Pipeline forecast accuracy as seed 000 defines it (パイプライン予測精度).

    ``forecast_accuracy = actual / forecast`` — the seed's "× 100" is the % format;
    1.0 means the forecast was met exactly, above 1 means it was beaten.

    Examples
    --------
    >>> forecast_accuracy(9_000_000, 10_000_000)
    0.9
    """
    return divide(actual, forecast)


@kpi_function(actual=A, forecast=A)
def forecast_abs_accuracy(actual, forecast):
    """Absolute forecast accuracy as revenue teams report it.

    ``forecast_abs_accuracy = 1 - |actual - forecast| / forecast``; a miss in either
    direction lowers it, and it is negative when the miss exceeds the forecast.

    Examples
    --------
    >>> forecast_abs_accuracy(11_000_000, 10_000_000)
    0.9
    """
    values, codes = divide(np.abs(actual - forecast), forecast)
    return 1.0 - values, codes


# --- tactical KPIs ---------------------------------------------------------------


@kpi_function(opportunities=C, leads=C)
def conversion_rate(opportunities, leads):
    """Opportunity conversion rate (商談化率).

    ``conversion_rate = opportunities / leads``  (seed 000: 商談化件数 ÷ 対応リード数)

    Examples
    --------
    >>> conversion_rate(20, 200)
    0.1
    """
    return divide(opportunities, leads)


@kpi_function(sql=C, mql=C)
def mql_to_sql_rate(sql, mql):
    """MQL→SQL conversion rate (MQL→SQL転換率): ``sql / mql``  (seed 001).

    Examples
    --------
    >>> mql_to_sql_rate(30, 120)
    0.25
    """
    return divide(sql, mql)


@kpi_function(opps_with_3_of_4_bant=C, opportunities=C)
def bant_rate(opps_with_3_of_4_bant, opportunities):
    """BANT acquisition rate (BANT情報取得率); target 70 % or more (seed 000).

    ``bant_rate = opps_with_3_of_4_bant / opportunities`` — opportunities for which at
    least 3 of Budget, Authority, Need, Timeline were captured.

    Examples
    --------
    >>> bant_rate(14, 20)
    0.7
    """
    return divide(opps_with_3_of_4_bant, opportunities)


@kpi_function(won_deals=C, opportunities=C)
def win_rate(won_deals, opportunities):
    """Win rate (受注率 / 成約率): ``won_deals / opportunities``; ≈ 25 % (seeds 001, 003).

    For IS-created opportunities handed to field sales this is the handed-off win
    rate (引き継ぎ商談成約率).

    Examples
    --------
    >>> win_rate(25, 100)
    0.25
    """
    return divide(won_deals, opportunities)


# --- action KPIs -----------------------------------------------------------------


@kpi_function(connects=C, calls=C)
def connect_rate(connects, calls):
    """Connect rate (接続率 / コネクト率): ``connects / calls``  (seed 000).

    Examples
    --------
    >>> connect_rate(50, 200)
    0.25
    """
    return divide(connects, calls)


@kpi_function(total_talk_minutes=C, connects=C)
def avg_talk_time(total_talk_minutes, connects):
    """Average talk time in minutes (平均通話時間): ``total_talk_minutes / connects``.

    Examples
    --------
    >>> avg_talk_time(300, 60)
    5.0
    """
    return divide(total_talk_minutes, connects)


@kpi_function(target_opportunities=C, conversion_rate=R, connect_rate=R)
def required_calls(target_opportunities, conversion_rate, connect_rate):
    """Calls needed to create the target opportunities (必要架電数).

    ``required_calls = target_opportunities / conversion_rate / connect_rate``
    (seed 000; the conversion rate is per connected lead).

    Examples
    --------
    >>> required_calls(20, 0.10, 0.25)
    800.0
    """
    return divide(target_opportunities, conversion_rate * connect_rate)


@kpi_function(opened=C, sent=C)
def email_open_rate(opened, sent):
    """Email open rate (メール開封率): ``opened / sent``; guide 25–35 % (seed 000).

    Examples
    --------
    >>> email_open_rate(60, 200)
    0.3
    """
    return divide(opened, sent)


@kpi_function(replies=C, sent=C)
def email_reply_rate(replies, sent):
    """Email reply rate (メール返信率): ``replies / sent``; guide 3–8 % (seed 000).

    Examples
    --------
    >>> email_reply_rate(10, 200)
    0.05
    """
    return divide(replies, sent)


@kpi_function(viewed=C, sent=C)
def material_view_rate(viewed, sent):
    """Material view rate (資料閲覧率): ``viewed / sent``; guide 40–60 % (seed 000).

    Examples
    --------
    >>> material_view_rate(25, 50)
    0.5
    """
    return divide(viewed, sent)


@kpi_function(done_by_due_date=C, planned=C)
def followup_rate(done_by_due_date, planned):
    """Follow-up execution rate (フォローアップ実行率): ``done_by_due_date / planned``.

    Examples
    --------
    >>> followup_rate(45, 50)
    0.9
    """
    return divide(done_by_due_date, planned)


# --- dashboard: achievement, gap, pace, coverage ------------------------------------


@kpi_function(actual=N, target=N, lower_is_better=F)
def achievement(actual, target, lower_is_better=False):
    """Achievement rate (達成率).

    ``achievement = actual / target``, or ``target / actual`` for a KPI where lower is
    better (CAC, talk time to first reply, …), so that 1.0 always means "on target"
    and more is always better.

    Examples
    --------
    >>> achievement(45, 50)
    0.9
    >>> achievement(500_000, 400_000, lower_is_better=True)
    0.8
    """
    num = np.where(lower_is_better == 1, target, actual)
    den = np.where(lower_is_better == 1, actual, target)
    return divide(num, den)


@kpi_function(actual=N, target=N)
def gap(actual, target):
    """Gap to target (差異): ``actual - target``; negative means short of target.

    Examples
    --------
    >>> gap(45, 50)
    -5.0
    """
    return actual - target


@kpi_function(actual=N, target=N, elapsed_share=R)
def pace(actual, target, elapsed_share):
    """Pace against the elapsed share of a period: 1.0 means on course to meet the target.

    ``pace = actual / (target * elapsed_share)`` (the milestones of seed 002) — on day 10 of a 30-day month
    (``elapsed_share = 1/3``) 20 of a 50 target is a pace of 1.2.

    Examples
    --------
    >>> pace(20, 50, 0.4)
    1.0
    """
    return divide(actual, target * elapsed_share)


@kpi_function(pipeline=A, remaining_target=A)
def pipeline_coverage(pipeline, remaining_target):
    """Pipeline coverage: ``pipeline / remaining_target``.

    Seed 002's day-10 milestone asks for 3× coverage; :func:`required_coverage`
    gives the coverage a win rate needs.

    Examples
    --------
    >>> pipeline_coverage(30_000_000, 10_000_000)
    3.0
    """
    return divide(pipeline, remaining_target)


@kpi_function(win_rate=R)
def required_coverage(win_rate):
    """Pipeline coverage a win rate needs to close the gap: ``1 / win_rate``.

    Examples
    --------
    >>> required_coverage(0.25)
    4.0
    """
    return divide(np.ones_like(win_rate), win_rate)


@kpi_function(annual_revenue=A, avg_deal_size=A, win_rate=R, periods=C)
def plan_opportunities(annual_revenue, avg_deal_size, win_rate, periods=12):
    """Opportunities needed per period to reach an annual revenue goal (KGI).

    ``plan_opportunities = annual_revenue / avg_deal_size / win_rate / periods``
    (seed 001: 1億円, 100万円 average, 25 % win → 400 a year, 100 a quarter,
    ≈ 33 a month).

    Examples
    --------
    >>> round(plan_opportunities(100_000_000, 1_000_000, 0.25), 2)
    33.33
    >>> plan_opportunities(100_000_000, 1_000_000, 0.25, 4)
    100.0
    """
    return divide(annual_revenue, avg_deal_size * win_rate * periods)


@kpi_function(leads=C, conversion_rate=R, win_rate=R, avg_deal_size=A)
def funnel_revenue(leads, conversion_rate, win_rate, avg_deal_size):
    """Revenue the funnel yields: ``leads * conversion_rate * win_rate * avg_deal_size``.

    The KPI-tree identity of seed 003.

    Examples
    --------
    >>> funnel_revenue(1000, 0.2, 0.25, 1_000_000)
    50000000.0
    """
    return leads * conversion_rate * win_rate * avg_deal_size
