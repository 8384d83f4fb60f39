"""The declarative spec of the 4-sheet KPI template: sheets 1–3 as plain data.

``sheet_cells(lang, inputs)`` returns every cell of sheets 1–3 (labels, inputs,
formulas, names, validations); the dashboard (sheet 4) is planned from the KPI rows
found here by :mod:`kpitree.workbook_templates.dashboard`. KPI labels, formulas, units,
tiers and guides come from the KPI catalogue; the layout and the sample team's
numbers live here.

Periods: strategic KPIs are set per quarter (annual shown), tactical per month (weekly
shown = month × 12 ÷ 52), action per working day (weekly shown = day × 5), as the 3-tier
model of seed 000 sets their horizons. Raw counts are inputs; every rate is computed
from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kpitree.udfs.catalogue import LANGS, Benchmark, Bilingual, Kpi, Lang, load_catalogue
from kpitree.udfs.stage import recommend_rows, stage_bounds_text
from kpitree.udfs.texts import text, text_list, text_rows

from .layout import (
    FONTS,
    UNIT_FORMATS,
    PlannedCell,
    PlannedName,
    PlannedValidation,
    SheetSetup,
    cell_ref,
    validation_rule,
    wrapped_row_heights,
)

# lang -> the titles of sheets 1-4 (texts.toml [template]); a workbook's language is found by them
SHEETS: dict[str, tuple[str, ...]] = {lang: text_list("template.sheets", lang) for lang in LANGS}
KPI_HEADER_ID = "KPI ID"  # column A header of every KPI table; the rebuild finds tables by it

# KPI table columns (sheets 1-3): A id, B label, C formula, D target (input), E actual, F other period, G guide
COL_ID, COL_LABEL, COL_FORMULA, COL_TARGET, COL_ACTUAL, COL_OTHER, COL_GUIDE = range(7)

TIER_SHEET = {"strategic": 0, "tactical": 1, "action": 2}

# KPIs of the shipped template, per tier (issue 3); users may add or remove rows.
TEMPLATE_KPIS = {
    "strategic": ("revenue_contribution", "ltv_cac", "forecast_accuracy"),
    "tactical": ("opportunities", "conversion_rate", "sql_count", "bant_rate", "handoff_win_rate", "quality_score"),
    "action": ("calls", "connect_rate", "effective_contacts", "emails_sent", "email_open_rate", "followup_rate"),
}
SPARE_ROWS = 2  # empty input rows under each KPI table, for KPIs the user adds

# actual_<id> formulas over named raw inputs; KPIs missing here have their actual typed in.
ACTUAL_FORMULAS = {
    "revenue_contribution": "=raw_won_deals*raw_actual_deal_size",
    "ltv_cac": "=IF(AND(raw_new_customers>0,raw_marketing_cost+raw_sales_cost>0),calc_ltv/calc_cac,\"\")",
    "forecast_accuracy": "=IF(raw_forecast_amount>0,raw_won_deals*raw_actual_deal_size/raw_forecast_amount,\"\")",
    "conversion_rate": "=IF(raw_leads>0,actual_opportunities/raw_leads,\"\")",
    "bant_rate": "=IF(actual_opportunities>0,raw_bant_opportunities/actual_opportunities,\"\")",
    "handoff_win_rate": "=IF(actual_opportunities>0,raw_handoff_won/actual_opportunities,\"\")",
    "calls": "=IF(raw_days_worked>0,raw_calls_month/raw_days_worked,\"\")",
    "connect_rate": "=IF(raw_calls_month>0,raw_connects_month/raw_calls_month,\"\")",
    "effective_contacts": "=IF(raw_days_worked>0,raw_effective_contacts_month/raw_days_worked,\"\")",
    "emails_sent": "=IF(raw_days_worked>0,raw_emails_sent_month/raw_days_worked,\"\")",
    "email_open_rate": "=IF(raw_emails_sent_month>0,raw_emails_opened_month/raw_emails_sent_month,\"\")",
    "followup_rate": "=IF(raw_followups_planned>0,raw_followups_on_time/raw_followups_planned,\"\")",
}

# Targets with no benchmark in the catalogue and no plan derivation: kpitree defaults (not seed figures).
DEFAULT_TARGETS = {"forecast_accuracy": 0.9, "quality_score": 4.0, "effective_contacts": 8, "emails_sent": 30,
                   "followup_rate": 0.9, "sql_count_share": 0.8}


@dataclass(frozen=True)
class Field(Bilingual):
    """A named input of a settings or raw-data block (its label ``ja``/``en``, its unit ``unit_ja``/``unit_en``)."""

    name: str
    ja: str
    en: str
    fmt: str  # numfmt key
    kind: str  # validation kind
    unit_ja: str = ""
    unit_en: str = ""

    def unit(self, lang: Lang) -> str:
        return self.text("unit", lang)


PLAN_FIELDS = (
    Field("months_since_launch", "IS立ち上げからの月数", "Months since the IS team started", "months", "months", "か月", "months"),
    Field("kgi_annual_revenue", "年間売上目標(KGI)", "Annual revenue goal (KGI)", "amount", "amount", "円", "yen"),
    Field("avg_deal_size", "平均受注単価(計画)", "Average deal size (plan)", "amount", "amount", "円", "yen"),
    Field("plan_win_rate", "受注率(計画)", "Win rate (plan)", "rate", "rate", "受注 ÷ 商談", "won ÷ opportunities"),
    Field("plan_conversion_rate", "商談化率(計画)", "Conversion rate (plan)", "rate", "rate", "商談 ÷ 接続", "opportunities ÷ connects"),
    Field("plan_connect_rate", "接続率(計画)", "Connect rate (plan)", "rate", "rate", "接続 ÷ 架電", "connects ÷ calls"),
    Field("working_days_per_month", "月間稼働日数", "Working days per month", "count", "count", "日", "days"),
)
RAW_FIELDS = {
    "strategic": (
        Field("raw_won_deals", "IS起点の成約件数(四半期)", "IS-originated won deals (quarter)", "count", "count", "件", "deals"),
        Field("raw_actual_deal_size", "平均受注単価(実績)", "Average deal size (actual)", "amount", "amount", "円", "yen"),
        Field("raw_forecast_amount", "予測受注金額(四半期)", "Forecast won amount (quarter)", "amount", "amount", "円", "yen"),
        Field("raw_avg_monthly_revenue", "顧客あたり平均月間売上", "Avg monthly revenue per customer", "amount", "amount", "円", "yen"),
        Field("raw_retention_months", "平均継続期間", "Average retention", "count1", "count", "か月", "months"),
        Field("raw_gross_margin", "粗利率", "Gross margin", "rate", "rate"),
        Field("raw_marketing_cost", "マーケ費用(四半期)", "Marketing cost (quarter)", "amount", "amount", "円", "yen"),
        Field("raw_sales_cost", "営業費用(四半期)", "Sales cost (quarter)", "amount", "amount", "円", "yen"),
        Field("raw_new_customers", "新規獲得顧客数(四半期)", "New customers (quarter)", "count", "count", "社", "customers"),
    ),
    "tactical": (
        Field("raw_leads", "対応リード数(今月)", "Leads worked (this month)", "count", "count", "件", "leads"),
        Field("raw_bant_opportunities", "BANT3項目以上を取得した商談数", "Opportunities with ≥ 3 of 4 BANT items",
              "count", "count", "件", "opps"),
        Field("raw_handoff_won", "引き継ぎ商談の成約数(今月)", "Handed-off opportunities won (this month)",
              "count", "count", "件", "deals"),
    ),
    "action": (
        Field("raw_days_worked", "今月の稼働日数(経過分)", "Working days so far this month", "count", "count", "日", "days"),
        Field("raw_calls_month", "架電数(今月累計)", "Calls (month to date)", "count", "count", "件", "calls"),
        Field("raw_connects_month", "接続数(今月累計)", "Connects (month to date)", "count", "count", "件", "connects"),
        Field("raw_effective_contacts_month", "有効コンタクト数(今月累計)", "Effective contacts (month to date)",
              "count", "count", "件", "contacts"),
        Field("raw_emails_sent_month", "メール送信数(今月累計)", "Emails sent (month to date)", "count", "count", "通", "emails"),
        Field("raw_emails_opened_month", "メール開封数(今月累計)", "Emails opened (month to date)", "count", "count", "通", "emails"),
        Field("raw_followups_planned", "予定フォロー数(今月)", "Follow-ups planned (this month)", "count", "count", "件", "follow-ups"),
        Field("raw_followups_on_time", "期限内に実行したフォロー数", "Follow-ups done by their due date",
              "count", "count", "件", "follow-ups"),
    ),
}
TREND_FIELDS = (
    Field("trend_month", "月", "Month", "general", ""),
    Field("trend_leads", "対応リード数", "Leads worked", "count", "count"),
    Field("trend_opportunities", "商談創出数", "Opportunities", "count", "count"),
    Field("trend_won", "受注件数", "Won deals", "count", "count"),
    Field("trend_calls", "架電数", "Calls", "count", "count"),
    Field("trend_connects", "接続数", "Connects", "count", "count"),
)
TREND_MONTHS = 12

def sample_inputs(lang: Lang = "ja") -> dict[str, Any]:
    """The shipped template's sample team: a 14-month-old IS team (mature stage).

    KGI 1億円 at 100万円 per deal; plan 25 % win rate, 10 % conversion, 25 % connect
    (seeds 000/001); targets and this period's raw counts; 12 months of history.
    Keys are defined names; ``trend_*`` keys hold 12 values each.
    """
    inputs: dict[str, Any] = {
        "months_since_launch": 14, "kgi_annual_revenue": 100_000_000, "avg_deal_size": 1_000_000,
        "plan_win_rate": 0.25, "plan_conversion_rate": 0.10, "plan_connect_rate": 0.25, "working_days_per_month": 20,
        "status_on_track_from": 1.0, "status_watch_from": 0.8,
        # strategic, per quarter
        "raw_won_deals": 22, "raw_actual_deal_size": 1_050_000, "raw_forecast_amount": 24_500_000,
        "raw_avg_monthly_revenue": 80_000, "raw_retention_months": 36, "raw_gross_margin": 0.7,
        "raw_marketing_cost": 6_000_000, "raw_sales_cost": 9_000_000, "raw_new_customers": 22,
        "target_revenue_contribution": 25_000_000, "target_ltv_cac": 3.0, "target_forecast_accuracy": 0.9,
        # tactical, this month
        "raw_leads": 290, "raw_bant_opportunities": 20, "raw_handoff_won": 7,
        "target_opportunities": 34, "actual_opportunities": 31, "target_conversion_rate": 0.10,
        "target_sql_count": 28, "actual_sql_count": 27, "target_bant_rate": 0.70, "target_handoff_win_rate": 0.30,
        "target_quality_score": 4.0, "actual_quality_score": 3.8,
        # action, per working day (raw: month to date)
        "raw_days_worked": 19, "raw_calls_month": 1240, "raw_connects_month": 298, "raw_effective_contacts_month": 150,
        "raw_emails_sent_month": 640, "raw_emails_opened_month": 205, "raw_followups_planned": 180,
        "raw_followups_on_time": 170,
        "target_calls": 67, "target_connect_rate": 0.25, "target_effective_contacts": 8, "target_emails_sent": 30,
        "target_email_open_rate": 0.30, "target_followup_rate": 0.9,
        # history: a team growing into its plan; the last month is this month
        "trend_month": list(text_list("template.months", lang)),
        "trend_leads": [180, 195, 210, 220, 235, 240, 250, 262, 270, 276, 284, 290],
        "trend_opportunities": [17, 19, 20, 22, 23, 24, 25, 27, 28, 29, 30, 31],
        "trend_won": [3, 4, 4, 5, 5, 6, 6, 6, 7, 7, 7, 7],
        "trend_calls": [900, 940, 980, 1010, 1050, 1080, 1110, 1150, 1180, 1200, 1220, 1240],
        "trend_connects": [198, 209, 220, 230, 241, 250, 260, 272, 280, 287, 293, 298],
    }
    return inputs


# KPIs with no benchmark guide whose target the plan sets: column G says so (texts.toml [template])
PLAN_NOTES = {
    "revenue_contribution": "template.plan_note_revenue_contribution",
    "opportunities": "template.plan_note_opportunities",
    "calls": "template.plan_note_calls",
    "connect_rate": "template.plan_note_connect_rate",
}


def guide_text(kpi: Kpi, lang: Lang, context: str = "inside_sales") -> str:
    bench = kpi.benchmark(context)
    if bench is not None:
        return bench.label(lang)
    if kpi.id in PLAN_NOTES:
        return text(PLAN_NOTES[kpi.id], lang)
    return ""


@dataclass(frozen=True)
class KpiRow:
    """Where a KPI lives on sheets 1–3: the dashboard planner's input."""

    kpi_id: str
    tier: str
    sheet: str
    row: int  # zero-based
    label: str

    @property
    def target_ref(self) -> str:
        return cell_ref(self.row, COL_TARGET)

    @property
    def actual_ref(self) -> str:
        return cell_ref(self.row, COL_ACTUAL)


@dataclass
class SheetsSpec:
    cells: list[PlannedCell]
    names: list[PlannedName]
    validations: list[PlannedValidation]
    setups: list[SheetSetup]
    kpi_rows: list[KpiRow]


def kpi_format(kpi: Kpi) -> str:
    fmt = UNIT_FORMATS[kpi.unit]
    return "count1" if fmt == "count" and kpi.tier == "action" else fmt


@dataclass
class _SheetsWriter:
    """What sheets 1–3 collect while they are planned: cells, names, validations and the KPI rows."""

    lang: Lang
    inputs: dict[str, Any]
    kpis: dict[str, tuple[str, ...]]
    cells: list[PlannedCell] = field(default_factory=list)
    names: list[PlannedName] = field(default_factory=list)
    vals: list[PlannedValidation] = field(default_factory=list)
    kpi_rows: list[KpiRow] = field(default_factory=list)

    def put(self, sheet: str, row: int, col: int, value: Any = None, formula: str | None = None, style: str = "label",
            name: str | None = None, spill: str | None = None, validate: str | None = None) -> None:
        ref = cell_ref(row, col)
        value = None if value == "" else value  # no empty strings: openpyxl would drop them on a round trip
        self.cells.append(PlannedCell(sheet, ref, value, formula, style, name, spill))
        if name:
            self.names.append(PlannedName(name, sheet, ref))
        if validate:
            self.vals.append(PlannedValidation(sheet, ref, validation_rule(validate, self.lang)))

    def header(self, sheet: str, row: int, texts: tuple[str, ...]) -> None:
        for col, heading in enumerate(texts):
            self.put(sheet, row, col, heading, style="header")

    def top(self, sheet: str, index: int) -> None:
        put, lang = self.put, self.lang
        put(sheet, 0, 0, text_list("template.titles", lang)[index], style="title")
        put(sheet, 1, 0, text_list("template.notes", lang)[index], style="note")
        legend_input, legend_calc = text_list("template.legend", lang)
        put(sheet, 2, 5, legend_input, style="legend_input")
        put(sheet, 2, 6, legend_calc, style="legend_calc")

    def fields(self, sheet: str, row: int, items: tuple[Field, ...]) -> int:
        put, lang = self.put, self.lang
        self.header(sheet, row, text_list("template.field_cols", lang))
        for i, f in enumerate(items, start=row + 1):
            put(sheet, i, 0, f.name, style="id")
            put(sheet, i, 1, f.label(lang))
            put(sheet, i, 2, self.inputs.get(f.name), style=f"input:{f.fmt}", name=f.name, validate=f.kind)
            put(sheet, i, 3, f.unit(lang), style="text")
        return row + 1 + len(items)

    def kpi_table(self, sheet: str, row: int, tier: str, index: int) -> int:
        put, lang, v = self.put, self.lang, self.inputs
        put(sheet, row, 0, text_list("template.kpi_tables", lang)[index], style="section")
        # column A's header is the contract's KPI_HEADER_ID in every language: the rebuild finds tables by it
        self.header(sheet, row + 1, (KPI_HEADER_ID, *text_rows("template.kpi_cols", lang)[index]))
        r = row + 2
        cat = load_catalogue()
        for kpi_id in self.kpis[tier]:
            kpi = cat.kpi(kpi_id)
            fmt = kpi_format(kpi)
            put(sheet, r, COL_ID, kpi.id, style="id")
            put(sheet, r, COL_LABEL, kpi.label(lang))
            put(sheet, r, COL_FORMULA, kpi.formula(lang), style="text")
            put(sheet, r, COL_TARGET, v.get(f"target_{kpi.id}"), style=f"input:{fmt}", name=f"target_{kpi.id}",
                validate=validation_kind(kpi))
            if kpi.id in ACTUAL_FORMULAS:
                put(sheet, r, COL_ACTUAL, formula=ACTUAL_FORMULAS[kpi.id], style=f"calc:{fmt}", name=f"actual_{kpi.id}")
            else:
                put(sheet, r, COL_ACTUAL, v.get(f"actual_{kpi.id}"), style=f"input:{fmt}", name=f"actual_{kpi.id}",
                    validate=validation_kind(kpi))
            target = cell_ref(r, COL_TARGET)
            if kpi.unit in ("count", "currency", "minutes") or kpi.unit == "months":
                factor = {"strategic": "*4", "tactical": "*12/52", "action": "*5"}[tier]
                other = f'=IF({target}="","",{target}{factor})'
            else:
                other = f'=IF({target}="","",{target})'
            put(sheet, r, COL_OTHER, formula=other, style=f"calc:{fmt}")
            put(sheet, r, COL_GUIDE, guide_text(kpi, lang), style="text")
            self.kpi_rows.append(KpiRow(kpi.id, tier, sheet, r, kpi.label(lang)))
            r += 1
        for _ in range(SPARE_ROWS):
            put(sheet, r, COL_ID, style="input")
            put(sheet, r, COL_LABEL, style="input")
            put(sheet, r, COL_FORMULA, style="text")
            put(sheet, r, COL_TARGET, style="input:general", validate="number")
            put(sheet, r, COL_ACTUAL, style="input:general", validate="number")
            put(sheet, r, COL_OTHER, style="calc")
            put(sheet, r, COL_GUIDE, style="text")
            r += 1
        return r


def sheet_cells(lang: Lang = "ja", inputs: dict[str, Any] | None = None,
                kpis: dict[str, tuple[str, ...]] | None = None) -> SheetsSpec:
    """Cells, names, validations and setups of sheets 1–3 for ``inputs`` (default: none, all blank)."""
    v = dict(inputs or {})
    kpis = kpis or TEMPLATE_KPIS
    s1, s2, s3, _ = SHEETS[lang]
    w = _SheetsWriter(lang, v, kpis)
    cells, names, vals, kpi_rows = w.cells, w.names, w.vals, w.kpi_rows
    put, header, top, fields, kpi_table = w.put, w.header, w.top, w.fields, w.kpi_table

    # --- sheet 1: KGI, back-calculation, stage, strategic KPIs ---------------------------
    top(s1, 0)
    put(s1, 3, 0, text("template.plan", lang), style="section")
    row = fields(s1, 4, PLAN_FIELDS)  # rows 5..12 (0-based 4..11)
    row += 1
    put(s1, row, 0, text("template.backcalc", lang), style="section")
    header(s1, row + 1, text_list("template.backcalc_cols", lang))
    chain = ("plan_revenue", "required_won_deals", "required_opportunities", "required_connects", "required_calls")
    # the rows are the plan's quantities, labelled as kpitree plan labels them
    chain_labels = ("plan.revenue", "plan.won_deals", "plan.opportunities", "plan.connects", "plan.calls")
    first = row + 2
    for i, key in enumerate(chain):
        r = first + i
        put(s1, r, 0, key, style="id")
        put(s1, r, 1, text(chain_labels[i], lang))
        year = cell_ref(r, 2)
        if i == 0:
            formula = "=kgi_annual_revenue"
        else:
            above = cell_ref(r - 1, 2)
            formula = "=" + above + ("/avg_deal_size", "/plan_win_rate", "/plan_conversion_rate", "/plan_connect_rate")[i - 1]
        fmt = "amount" if i == 0 else "count1"
        put(s1, r, 2, formula=formula, style=f"calc:{fmt}")
        put(s1, r, 3, formula=f"={year}/4", style=f"calc:{fmt}")
        put(s1, r, 4, formula=f"={year}/12", style=f"calc:{fmt}", name=None if i == 0 else f"{key}_month")
        put(s1, r, 5, formula=f"={year}/52", style=f"calc:{fmt}")
        put(s1, r, 6, formula=f"={cell_ref(r, 4)}/working_days_per_month", style=f"calc:{fmt}",
            name="required_calls_day" if key == "required_calls" else None)
    r = first + len(chain)
    # UDF checks next to the native chain: the same numbers from the KPI functions
    put(s1, r, 1, text("template.check_opportunities", lang), style="text")
    put(s1, r, 4, formula="=KPI_PLAN_OPPORTUNITIES(kgi_annual_revenue,avg_deal_size,plan_win_rate,12)", style="calc:count1")
    r += 2
    put(s1, r, 0, text("template.stage", lang, bounds=stage_bounds_text(lang)), style="section")
    put(s1, r + 1, 1, text("template.stage_label", lang))
    put(s1, r + 1, 2, formula=f'=KPI_STAGE(months_since_launch,"{lang}")', style="status", name="stage_label")
    put(s1, r + 2, 0, text("template.recommend", lang), style="note")
    header(s1, r + 3, text_list("template.recommend_cols", lang))
    rec_first = r + 4
    # KPI_STAGE_RECOMMEND's table always has the longest stage list's rows (blank below a shorter list), so the
    # block, the stage_recommend_kpis name and the dashboard's focus lookup cover every stage's list
    rec_rows = recommend_rows()
    spill = f"{cell_ref(rec_first, 0)}:{cell_ref(rec_first + rec_rows - 1, 3)}"
    put(s1, rec_first, 0, formula=f'=KPI_STAGE_RECOMMEND(months_since_launch,"{lang}")', style="calc", spill=spill)
    for i in range(rec_rows):
        for c in range(4):
            if (i, c) != (0, 0):
                put(s1, rec_first + i, c, style="calc")
    names.append(PlannedName("stage_recommend_kpis", s1, f"{cell_ref(rec_first, 1)}:{cell_ref(rec_first + rec_rows - 1, 1)}"))
    r = rec_first + rec_rows + 1
    put(s1, r, 0, text_list("template.raw", lang)[0], style="section")
    r = fields(s1, r + 1, RAW_FIELDS["strategic"])
    put(s1, r, 0, "calc_ltv", style="id")
    put(s1, r, 1, text("template.ltv", lang))
    put(s1, r, 2, formula="=raw_avg_monthly_revenue*raw_retention_months*raw_gross_margin", style="calc:amount", name="calc_ltv")
    put(s1, r + 1, 0, "calc_cac", style="id")
    put(s1, r + 1, 1, text("template.cac", lang))
    put(s1, r + 1, 2, formula='=IF(raw_new_customers>0,(raw_marketing_cost+raw_sales_cost)/raw_new_customers,"")',
        style="calc:amount", name="calc_cac")
    health = ltv_cac_health()  # the catalogue's guide: its low end is the healthy threshold
    low = _number_text(health.low)
    put(s1, r + 2, 1, text("template.health", lang, guide=health.label(lang)))
    healthy, unhealthy = text("template.healthy", lang, low=low), text("template.unhealthy", lang, low=low)
    put(s1, r + 2, 2, formula=(f'=IF(actual_ltv_cac="","",IF(actual_ltv_cac>={health.low:.15g},'
                               f'"{healthy}","{unhealthy}"))'),
        style="status") if "ltv_cac" in kpis["strategic"] else None
    put(s1, r + 3, 1, text("template.ltv_cac_udf", lang), style="text")
    put(s1, r + 3, 2, formula="=KPI_LTV_CAC(KPI_LTV(raw_avg_monthly_revenue,raw_retention_months,raw_gross_margin),"
        "KPI_CAC(raw_marketing_cost,raw_sales_cost,raw_new_customers))", style="calc:ratio")
    kpi_table(s1, r + 5, "strategic", 0)

    # --- sheet 2: tactical ----------------------------------------------------------------
    top(s2, 1)
    put(s2, 3, 0, text_list("template.raw", lang)[1], style="section")
    r = fields(s2, 4, RAW_FIELDS["tactical"])
    r += 1
    put(s2, r, 0, text("template.trend", lang), style="section")
    header(s2, r + 1, tuple(f.label(lang) for f in TREND_FIELDS))
    first = r + 2
    for c, f in enumerate(TREND_FIELDS):
        values = v.get(f.name) or [None] * TREND_MONTHS
        for i in range(TREND_MONTHS):
            value = values[i] if i < len(values) else None
            if c == 0 and value is None:
                value = text_list("template.months", lang)[i]
            put(s2, first + i, c, value, style="input" if c == 0 else f"input:{f.fmt}",
                validate=f.kind or None)
        names.append(PlannedName(f.name, s2, f"{cell_ref(first, c)}:{cell_ref(first + TREND_MONTHS - 1, c)}"))
    kpi_table(s2, first + TREND_MONTHS + 1, "tactical", 1)

    # --- sheet 3: action -----------------------------------------------------------------------
    top(s3, 2)
    put(s3, 3, 0, text_list("template.raw", lang)[2], style="section")
    r = fields(s3, 4, RAW_FIELDS["action"])
    r += 1
    put(s3, r, 0, text("template.required", lang), style="section")
    required_month, required_day, required_check = text_list("template.required_rows", lang)
    put(s3, r + 1, 1, required_month)
    put(s3, r + 1, 2, formula="=required_calls_month", style="calc:count1")
    put(s3, r + 2, 1, required_day)
    put(s3, r + 2, 2, formula="=required_calls_day", style="calc:count1")
    put(s3, r + 3, 1, required_check, style="text")
    put(s3, r + 3, 2, formula="=KPI_REQUIRED_CALLS(required_opportunities_month,plan_conversion_rate,plan_connect_rate)",
        style="calc:count1")
    kpi_table(s3, r + 5, "action", 2)

    widths = {"A": 24, "B": 40, "C": 30, "D": 16, "E": 16, "F": 14, "G": 40}
    setups = [SheetSetup(s, FONTS[lang], dict(widths), row_heights=wrapped_row_heights([c for c in cells if c.sheet == s], widths))
              for s in (s1, s2, s3)]
    return SheetsSpec(cells, names, vals, setups, kpi_rows)


def ltv_cac_health() -> Benchmark:
    """The catalogue's LTV/CAC guide (seed 000): ``low`` is the ratio from which LTV/CAC is healthy."""
    health = load_catalogue().kpi("ltv_cac").benchmark("all")
    if health is None:  # the catalogue gives LTV/CAC an "all" guide; the health label and threshold read it
        raise KeyError("the catalogue has no LTV/CAC guide for 'all'")
    return health


def _number_text(x: float) -> str:
    """A threshold as the labels show it: 3 -> "3.0", 2.75 -> "2.75"."""
    return f"{x:.1f}" if round(x, 1) == x else f"{x:g}"


def validation_kind(kpi: Kpi) -> str:
    return {"rate": "rate", "currency": "amount", "score": "score", "ratio": "ratio"}.get(kpi.unit, "count")
