"""A plain KPI workbook of the kind managers build themselves, and an independent model of its values.

    python benchmarks/kpi_workbook.py OUT.xlsx [--seed N]      # writes one workbook, prints its size

The workbook has no ``KPI_*`` functions: every engine can compute it. It uses the functions real KPI
and sales workbooks use — lookups (INDEX, MATCH, XMATCH, VLOOKUP, HLOOKUP, XLOOKUP, CHOOSE, OFFSET),
conditional aggregates (SUMIF(S), COUNTIF(S), AVERAGEIF(S), MAXIFS, MINIFS, SUMPRODUCT), logic
(IFS, SWITCH, IFNA, XOR, LET), text (TEXT, LEFT, RIGHT, MID, LEN, FIND, SEARCH, SUBSTITUTE, CONCAT,
TEXTJOIN, TRIM, UPPER, LOWER, VALUE, NUMBERVALUE), dates (DATE serials, YEAR, MONTH, DAY, EOMONTH,
EDATE, WEEKDAY, WEEKNUM, ISOWEEKNUM, NETWORKDAYS(.INTL), WORKDAY(.INTL), DATEDIF), maths (QUOTIENT,
MROUND, CEILING.MATH, FLOOR.MATH, ROUND*, MOD, POWER, LOG10, EXP, LN) and dynamic arrays (SEQUENCE,
FILTER, UNIQUE, SORT, one of them spilling). TODAY()/NOW() are left out: each engine reads its own clock.

Sheets: ``Inputs`` (12 months of a team's funnel, messy rep names, codes, amounts written as text;
scalar inputs; holidays), ``Targets`` (a KPI table, a stage table, a horizontal region table),
``Calc`` (42 formulas a month) and ``Summary`` (43 named results). Every variant (``seed``) has other
numbers, regions and names in the same layout, like the month's workbooks of different teams.

:func:`reference` computes every formula cell in plain Python from the data — it never reads a formula
— with Excel's rules where they matter: 15 significant digits in comparisons and in ROUND/ROUNDUP/
ROUNDDOWN/MROUND/TEXT (half away from zero), the 1900 date system, case-insensitive text matching.
:func:`check` compares an engine's values with it.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import math
import random
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from pathlib import Path
from typing import Any

MONTHS = 12
ROWS = range(2, 2 + MONTHS)
REGIONS = ("East", "North", "West")
REGION_SHARE = (1.2, 0.8, 1.0)
MANAGERS = ("Ito", "Kato", "Mori")
REPS = (" sato  taro", "suzuki hanako ", "Takahashi  Ken", "tanaka yui", " Watanabe Sho ", "ito  mei", "Yamamoto Ren",
        "nakamura  aoi")
HOLIDAYS = (dt.date(2026, 4, 29), dt.date(2026, 5, 4), dt.date(2026, 5, 5), dt.date(2026, 5, 6), dt.date(2026, 7, 20),
            dt.date(2026, 9, 21), dt.date(2026, 11, 3), dt.date(2027, 1, 1), dt.date(2027, 1, 11), dt.date(2027, 2, 11))
TARGETS = (("conversion_rate", 0.10, 1), ("win_rate", 0.25, 2), ("connect_rate", 0.25, 1), ("calls_per_month", 800, 1),
           ("deal_size", 1_000_000, 1))
STAGES = ((0, "Launch", "action"), (6, "Growth", "tactical"), (24, "Mature", "strategic"))

# scenario inputs: name -> cell; the named outputs a scenario table reads back
SCENARIO_INPUTS = {"annual_target": "Inputs!O1", "win_rate_target": "Targets!B3", "won_first": "Inputs!F2"}
EPOCH = dt.date(1899, 12, 30)


def serial(day: dt.date) -> float:
    return float((day - EPOCH).days)


def from_serial(x: float) -> dt.date:
    return EPOCH + dt.timedelta(days=int(x))


def base_data(seed: int = 0) -> dict[str, Any]:
    """The inputs of one team's workbook (seed 0 is the base file; other seeds are other teams)."""
    rnd = random.Random(seed)
    regions = [*REGIONS, *(rnd.choice(REGIONS) for _ in range(MONTHS - len(REGIONS)))]
    rnd.shuffle(regions)
    rows = []
    for i in range(MONTHS):
        month = dt.date(2026 + (3 + i) // 12, (3 + i) % 12 + 1, 1)
        leads = rnd.randint(150, 300)
        opps = int(leads * rnd.uniform(0.07, 0.14))
        won = int(opps * rnd.uniform(0.15, 0.40))
        calls = rnd.randint(600, 1000)
        connects = int(calls * rnd.uniform(0.18, 0.32))
        deal = round(rnd.uniform(800_000, 1_300_000), -4)
        if i == 4 + seed % 3:  # a month without leads: IFERROR and #DIV/0! get exercised
            leads = opps = won = 0
        code = f"IS-{month.year}-{month.month:02d}-{rnd.choice('AB')}"
        note = rnd.randint(1000, 99999) + rnd.choice((0, 0.5, 0.25))
        budget = rnd.randint(5, 30) * 100_000
        rows.append({"month": month, "rep": rnd.choice(REPS), "region": regions[i], "leads": leads, "opps": opps,
                     "won": won, "calls": calls, "connects": connects, "deal": deal, "code": code,
                     "note": _eu(note), "budget": f"{budget:,}"})
    return {"rows": rows, "annual_target": float(rnd.choice((60, 80, 100, 120)) * 1_000_000),
            "months_since_launch": float(rnd.choice((3, 14, 30))), "team": f"Team {chr(65 + seed % 26)}",
            "fiscal_start": dt.date(2026, 4, 1), "targets": [list(t) for t in TARGETS]}


def _eu(x: float) -> str:
    """1234.5 as a European writes it: 1.234,5."""
    whole, frac = f"{x:,.2f}".split(".")
    frac = frac.rstrip("0")
    return whole.replace(",", ".") + ("," + frac if frac else "")


def apply_scenario(data: dict[str, Any], annual_target: float | None = None, win_rate_target: float | None = None,
                   won_first: float | None = None) -> dict[str, Any]:
    import copy

    d = copy.deepcopy(data)
    if annual_target is not None:
        d["annual_target"] = float(annual_target)
    if win_rate_target is not None:
        d["targets"][1][1] = float(win_rate_target)
    if won_first is not None:
        d["rows"][0]["won"] = won_first
    return d


def scenarios(n: int, seed: int = 7) -> list[tuple[float, float, float]]:
    """(annual_target, win_rate_target, won_first) for n what-if rows; the same list for every engine."""
    rnd = random.Random(seed)
    return [(float(rnd.choice((60, 80, 100, 120)) * 1_000_000 + rnd.randint(0, 19) * 500_000),
             rnd.choice((0.15, 0.2, 0.25, 0.3, 0.35)) + rnd.randint(0, 9) / 1000, float(rnd.randint(0, 12)))
            for _ in range(n)]


# --- the formulas ------------------------------------------------------------------------------------


def calc_formulas(r: int) -> dict[str, str]:
    """The Calc sheet's formulas of month row ``r``."""
    f = {
        "A": f"=Inputs!A{r}",
        "B": f"=IFERROR(Inputs!E{r}/Inputs!D{r},0)",
        "C": f"=IFERROR(Inputs!F{r}/Inputs!E{r},0)",
        "D": f"=IFERROR(Inputs!H{r}/Inputs!G{r},0)",
        "E": f"=Inputs!F{r}*Inputs!I{r}",
        "F": f"=ROUND(E{r}/1000,1)",
        "G": f'=IF(B{r}>=INDEX(Targets!$B$2:$B$6,MATCH("conversion_rate",Targets!$A$2:$A$6,0)),"OK","NG")',
        "H": f'=IF(C{r}>=VLOOKUP("win_rate",target_table,2,FALSE),"OK","NG")',
        "I": f'=IF(D{r}>=XLOOKUP("connect_rate",Targets!$A$2:$A$6,Targets!$B$2:$B$6),"OK","NG")',
        "J": f"=IFERROR(E{r}/(annual_target/12*HLOOKUP(Inputs!C{r},region_table,2,FALSE)),0)",
        "K": f'=TEXT(J{r},"0.0%")',
        "L": f"=SUM(E$2:E{r})",
        "M": f"=AVERAGE(OFFSET(E{r},-MIN(2,ROW()-2),0,MIN(3,ROW()-1),1))",
        "N": f'=IFS(J{r}>=1,"A",J{r}>=0.8,"B",TRUE,"C")',
        "O": f'=SWITCH(N{r},"A",3,"B",2,1)',
        "P": f'=XOR(G{r}="OK",H{r}="OK")',
        "Q": f"=IFNA(XMATCH(Inputs!C{r},Targets!$I$1:$K$1),0)",
        "R": f'=CHOOSE(MONTH(A{r}),"Q4","Q4","Q4","Q1","Q1","Q1","Q2","Q2","Q2","Q3","Q3","Q3")',
        "S": f"=YEAR(A{r})*100+MONTH(A{r})",
        "T": f"=EOMONTH(A{r},0)",
        "U": f"=NETWORKDAYS(A{r},T{r},holidays)",
        "V": f'=NETWORKDAYS.INTL(A{r},T{r},"0000001",holidays)',
        "W": f"=WORKDAY(A{r},10,holidays)",
        "X": f"=WORKDAY.INTL(A{r},5,11,holidays)",
        "Y": f"=WEEKDAY(A{r},2)",
        "Z": f'=WEEKNUM(A{r},2)&"/"&ISOWEEKNUM(A{r})',
        "AA": f'=DATEDIF(fiscal_start,A{r},"m")',
        "AB": f"=EDATE(A{r},3)",
        "AC": f'=UPPER(LEFT(TRIM(Inputs!B{r}),FIND(" ",TRIM(Inputs!B{r}))-1))',
        "AD": f'=LEN(TRIM(Inputs!B{r}))&":"&LOWER(Inputs!C{r})',
        "AE": f"=VALUE(MID(Inputs!J{r},4,4))+VALUE(Inputs!L{r})/1000000",
        "AF": f'=IFERROR(SEARCH("-a",Inputs!J{r}),0)',
        "AG": f'=SUBSTITUTE(Inputs!J{r},"-","/")&RIGHT(Inputs!J{r},1)',
        "AH": f'=CONCAT(TEXT(A{r},"yyyy-mm"),": ",TEXT(E{r},"#,##0"))',
        "AI": f'=NUMBERVALUE(Inputs!K{r},",",".")',
        "AJ": f'=LET(deals,annual_target/12/VLOOKUP("deal_size",target_table,2,FALSE),rate,C{r}*B{r}*D{r},'
              f"IF(rate=0,0,ROUNDUP(deals/rate,0)))",
        "AK": f"=QUOTIENT(Inputs!G{r},U{r})+MOD(Inputs!G{r},U{r})/100",
        "AL": f"=MROUND(E{r},50000)",
        "AM": f"=CEILING.MATH(E{r}/1000)+FLOOR.MATH(E{r},100000)",
        "AN": f"=ROUNDDOWN(B{r}*100,1)+ROUNDUP(C{r}*100,0)",
        "AO": f"=POWER(1+J{r},2)+LOG10(MAX(E{r},1))+EXP(-B{r})+LN(1+Inputs!G{r})",
        "AP": '="n/a"' if r == 2 else f'=IFERROR(E{r}/E{r - 1}-1,"n/a")',
    }
    return f


SUMMARY: tuple[tuple[str, str], ...] = (  # (name, formula) of Summary!B1, B2, …
    ("total_leads", "=SUM(Inputs!D2:D13)"),
    ("total_opps", "=SUM(Inputs!E2:E13)"),
    ("total_won", "=SUM(Inputs!F2:F13)"),
    ("total_calls", "=SUM(Inputs!G2:G13)"),
    ("total_connects", "=SUM(Inputs!H2:H13)"),
    ("total_revenue", "=SUM(Calc!E2:E13)"),
    ("annual_conversion", "=IFERROR(B2/B1,0)"),
    ("annual_win_rate", "=IFERROR(B3/B2,0)"),
    ("annual_connect_rate", "=IFERROR(B5/B4,0)"),
    ("achievement", "=B6/annual_target"),
    ("achievement_text", '=TEXT(B10,"0.0%")'),
    ("revenue_grade_a", '=SUMIF(Calc!N2:N13,"A",Calc!E2:E13)'),
    ("revenue_east_good", '=SUMIFS(Calc!E2:E13,Inputs!C2:C13,"East",Calc!B2:B13,">=0.1")'),
    ("months_ok_conv", '=COUNTIF(Calc!G2:G13,"OK")'),
    ("months_west_ok", '=COUNTIFS(Inputs!C2:C13,"W*",Calc!H2:H13,"OK")'),
    ("avg_revenue_active", '=AVERAGEIF(Calc!E2:E13,">0")'),
    ("avg_revenue_not_north", '=IFERROR(AVERAGEIFS(Calc!E2:E13,Inputs!C2:C13,"<>North",Calc!E2:E13,">0"),0)'),
    ("best_east", '=MAXIFS(Calc!E2:E13,Inputs!C2:C13,"East")'),
    ("worst_active", '=MINIFS(Calc!E2:E13,Calc!E2:E13,">0")'),
    ("revenue_check", "=SUMPRODUCT(Inputs!F2:F13,Inputs!I2:I13)"),
    ("revenue_east", '=SUMPRODUCT((Inputs!C2:C13="East")*Calc!E2:E13)'),
    ("best_month", "=INDEX(Calc!AH2:AH13,MATCH(MAX(Calc!E2:E13),Calc!E2:E13,0))"),
    ("best_month_region", '=XLOOKUP(MAX(Calc!E2:E13),Calc!E2:E13,Inputs!C2:C13,"none")'),
    ("stage", "=VLOOKUP(months_since_launch,stage_table,2,TRUE)"),
    ("focus", "=VLOOKUP(months_since_launch,stage_table,3)"),
    ("first_manager", "=HLOOKUP(Inputs!C2,region_table,3,FALSE)"),
    ("headline", '=TEXTJOIN(" ",TRUE,team_name,B24,TEXT(B10,"0%"))'),
    ("region_count", "=ROWS(UNIQUE(Inputs!C2:C13))"),
    ("regions", '=TEXTJOIN(",",TRUE,SORT(UNIQUE(Inputs!C2:C13)))'),
    ("revenue_a_filtered", '=SUM(FILTER(Calc!E2:E13,Calc!N2:N13="A",0))'),
    ("revenue_centre", "=IFERROR(SUMPRODUCT(SEQUENCE(12),Calc!E2:E13)/SUM(Calc!E2:E13),0)"),
    ("third_best", "=INDEX(SORT(Calc!E2:E13,1,-1),3)"),
    ("required_calls_year", '=LET(won,ROUNDUP(annual_target/VLOOKUP("deal_size",target_table,2,FALSE),0),'
                            "opps,ROUNDUP(won/win_rate_target,0),conn,ROUNDUP(opps/INDEX(Targets!B2:B6,1),0),"
                            "ROUNDUP(conn/Targets!B4,0))"),
    ("required_calls_month", "=ROUND(B33/12,1)"),
    ("bottleneck", '=IFS(B7<Targets!B2,"conversion",B8<Targets!B3,"win_rate",B9<Targets!B4,"connect_rate",TRUE,"none")'),
    ("on_track", "=B37>=annual_target"),
    ("forecast", '=IFERROR(B6/COUNTIF(Inputs!D2:D13,">0")*12,0)'),
    ("working_days", "=SUM(Calc!U2:U13)"),
    ("last_workday", '=TEXT(MAX(Calc!W2:W13),"yyyy/mm/dd")'),
    ("avg_points", "=AVERAGE(Calc!O2:O13)"),
    ("xor_months", "=COUNTIF(Calc!P2:P13,TRUE)"),
    ("rate_targets_sum", '=SUMIF(Targets!A2:A6,"*rate",Targets!B2:B6)'),
    ("quarter_of_best", "=INDEX(Calc!R2:R13,XMATCH(MAX(Calc!E2:E13),Calc!E2:E13))"),
)
SPILL = ("Summary!D1:D3", "=SORT(UNIQUE(Inputs!C2:C13))")  # a dynamic array that spills
DYNAMIC = ("UNIQUE(", "SORT(", "FILTER(", "SEQUENCE(")
SCENARIO_OUTPUTS = ("total_revenue", "achievement", "achievement_text", "revenue_grade_a", "best_month", "headline",
                    "revenue_a_filtered", "third_best", "required_calls_year", "required_calls_month", "bottleneck",
                    "on_track", "forecast", "avg_points", "quarter_of_best")
INPUT_NAMES = {"annual_target": "Inputs!$O$1", "months_since_launch": "Inputs!$O$2", "team_name": "Inputs!$O$3",
               "fiscal_start": "Inputs!$O$4", "holidays": "Inputs!$Q$2:$Q$11", "win_rate_target": "Targets!$B$3",
               "won_first": "Inputs!$F$2", "target_table": "Targets!$A$2:$C$6", "stage_table": "Targets!$E$2:$G$4",
                "region_table": "Targets!$I$1:$K$3"}


def formula_cells() -> dict[str, str]:
    """'Sheet!A1' -> formula, every formula cell (the spill's anchor included)."""
    out = {f"Calc!{col}{r}": f for r in ROWS for col, f in calc_formulas(r).items()}
    out.update({f"Summary!B{i}": f for i, (_, f) in enumerate(SUMMARY, start=1)})
    out["Summary!D1"] = SPILL[1]
    return out


def output_cells() -> dict[str, str]:
    """Each named output and its cell."""
    return {name: f"Summary!B{i}" for i, (name, _) in enumerate(SUMMARY, start=1)}


def build_workbook(path: str | Path, data: dict[str, Any] | None = None) -> Path:
    """Write the workbook with XlsxWriter (as Excel stores it: ``_xlfn.`` prefixes, a dynamic array's
    metadata). Cached values are left at 0, so an engine that does not recalculate shows up as wrong."""
    import xlsxwriter

    d = data or base_data()
    path = Path(path)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "use_future_functions": True})
    fmt = {"bold": wb.add_format({"bold": True, "bg_color": "#DDEEFF"}), "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
           "money": wb.add_format({"num_format": "#,##0"}), "pct": wb.add_format({"num_format": "0.0%"})}
    _inputs_sheet(wb, d, fmt)
    _targets_sheet(wb, d, fmt)
    calc = wb.add_worksheet("Calc")
    for r in ROWS:
        for col, formula in calc_formulas(r).items():
            style = fmt["pct"] if col in ("B", "C", "D", "J") else fmt["date"] if col in ("A", "T", "W", "X", "AB") else None
            _write(calc, f"{col}{r}", formula, style)
    s = wb.add_worksheet("Summary")
    for i, (name, formula) in enumerate(SUMMARY, start=1):
        s.write_string(i - 1, 0, name)
        _write(s, f"B{i}", formula, None)
        wb.define_name(name, f"=Summary!$B${i}")
    s.write_dynamic_array_formula(SPILL[0].split("!")[1], SPILL[1])
    for name, ref in INPUT_NAMES.items():
        wb.define_name(name, "=" + ref)
    wb.close()
    return path


def _inputs_sheet(wb: Any, d: dict[str, Any], fmt: dict[str, Any]) -> None:
    bold, date, money = fmt["bold"], fmt["date"], fmt["money"]
    ws = wb.add_worksheet("Inputs")
    for c, h in enumerate(("Month", "Rep", "Region", "Leads", "Opportunities", "Won", "Calls", "Connects", "DealSize",
                           "Code", "NoteAmount", "Budget")):
        ws.write(0, c, h, bold)
    for i, row in enumerate(d["rows"], start=1):
        ws.write_number(i, 0, serial(row["month"]), date)
        ws.write_string(i, 1, row["rep"])
        ws.write_string(i, 2, row["region"])
        for c, key in enumerate(("leads", "opps", "won", "calls", "connects"), start=3):
            ws.write_number(i, c, row[key])
        ws.write_number(i, 8, row["deal"], money)
        ws.write_string(i, 9, row["code"])
        ws.write_string(i, 10, row["note"])
        ws.write_string(i, 11, row["budget"])
    for r, (label, value) in enumerate((("AnnualTarget", d["annual_target"]), ("MonthsSinceLaunch", d["months_since_launch"]),
                                        ("TeamName", d["team"]), ("FiscalStart", serial(d["fiscal_start"])))):
        ws.write_string(r, 13, label)
        ws.write(r, 14, value, date if label == "FiscalStart" else money if label == "AnnualTarget" else None)
    ws.write_string(0, 16, "Holidays", bold)
    for i, h in enumerate(HOLIDAYS, start=1):
        ws.write_number(i, 16, serial(h), date)


def _targets_sheet(wb: Any, d: dict[str, Any], fmt: dict[str, Any]) -> None:
    bold = fmt["bold"]
    t = wb.add_worksheet("Targets")
    for c, h in enumerate(("KPI", "Target", "Weight")):
        t.write(0, c, h, bold)
    for i, (kpi, target, weight) in enumerate(d["targets"], start=1):
        t.write_string(i, 0, kpi)
        t.write_number(i, 1, target)
        t.write_number(i, 2, weight)
    for c, h in enumerate(("FromMonth", "Stage", "Focus"), start=4):
        t.write(0, c, h, bold)
    for i, (start, stage, focus) in enumerate(STAGES, start=1):
        t.write_number(i, 4, start)
        t.write_string(i, 5, stage)
        t.write_string(i, 6, focus)
    for c, (region, share, manager) in enumerate(zip(REGIONS, REGION_SHARE, MANAGERS), start=8):
        t.write_string(0, c, region)
        t.write_number(1, c, share)
        t.write_string(2, c, manager)


def _write(ws: Any, cell: str, formula: str, fmt: Any) -> None:
    if any(f in formula for f in DYNAMIC):
        ws.write_dynamic_array_formula(f"{cell}:{cell}", formula, fmt)
    else:
        ws.write_formula(cell, formula, fmt)


# --- the independent model ---------------------------------------------------------------------------


def _dec15(x: float) -> Decimal:
    return Decimal(format(float(x), ".15g"))


def xround(x: float, n: int = 0, mode: str = ROUND_HALF_UP) -> float:
    """Excel's ROUND (ROUNDUP, ROUNDDOWN with ``mode``): on the value's 15-significant-digit decimal."""
    return float(_dec15(x).quantize(Decimal(1).scaleb(-n), rounding=mode))


def mround(x: float, m: float) -> float:
    return float((_dec15(x) / Decimal(str(m))).quantize(Decimal(1), rounding=ROUND_HALF_UP) * Decimal(str(m)))


def ge(a: float, b: float) -> bool:
    """a >= b as Excel compares numbers (15 significant digits)."""
    return float(_dec15(a)) >= float(_dec15(b))


def text_pct(x: float, decimals: int) -> str:
    return f"{xround(x * 100, decimals):.{decimals}f}%"


def text_thousands(x: float) -> str:
    v = int(xround(x, 0))
    return f"{v:,}" if v >= 0 else "-" + f"{-v:,}"


def general(x: float) -> str:
    """A whole number as & shows it."""
    return str(int(x)) if float(x).is_integer() else repr(x)


def eomonth(day: dt.date, months: int = 0) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    y += day.year
    return dt.date(y, m + 1, calendar.monthrange(y, m + 1)[1])


def edate(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    y += day.year
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def networkdays(start: dt.date, end: dt.date, weekend: set[int], holidays: set[dt.date]) -> int:
    days = (end - start).days + 1
    return sum(1 for k in range(days) if (d := start + dt.timedelta(k)).weekday() not in weekend and d not in holidays)


def workday(start: dt.date, n: int, weekend: set[int], holidays: set[dt.date]) -> dt.date:
    d = start
    while n > 0:
        d += dt.timedelta(1)
        if d.weekday() not in weekend and d not in holidays:
            n -= 1
    return d


def weeknum_monday(day: dt.date) -> int:
    jan1 = dt.date(day.year, 1, 1)
    return (day.timetuple().tm_yday + jan1.weekday() - 1) // 7 + 1


def datedif_months(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month - (1 if b.day < a.day else 0)


def nv(text: str) -> float:
    """NUMBERVALUE(text, ",", ".")."""
    return float(text.replace(".", "").replace(",", "."))


def _calc_row(i: int, row: dict[str, Any], d: dict[str, Any], prev: float | None) -> dict[str, Any]:
    r = i + 2
    tgt = {k: v for k, v, _ in d["targets"]}
    holidays = set(HOLIDAYS)
    leads, opps, won, calls, conn, deal = (row[k] for k in ("leads", "opps", "won", "calls", "connects", "deal"))
    B = opps / leads if leads else 0.0
    C = won / opps if opps else 0.0
    D = conn / calls if calls else 0.0
    E = float(won * deal)
    share = REGION_SHARE[REGIONS.index(row["region"])]
    J = E / (d["annual_target"] / 12 * share)
    month = row["month"]
    T = eomonth(month)
    U = networkdays(month, T, {5, 6}, holidays)
    G = "OK" if ge(B, tgt["conversion_rate"]) else "NG"
    H = "OK" if ge(C, tgt["win_rate"]) else "NG"
    grade = "A" if ge(J, 1) else "B" if ge(J, 0.8) else "C"
    trimmed = " ".join(row["rep"].split())
    deals = d["annual_target"] / 12 / tgt["deal_size"]
    rate = C * B * D
    out: dict[str, Any] = {
        "A": serial(month), "B": B, "C": C, "D": D, "E": E, "F": xround(E / 1000, 1), "G": G, "H": H,
        "I": "OK" if ge(D, tgt["connect_rate"]) else "NG", "J": J, "K": text_pct(J, 1),
        "N": grade, "O": {"A": 3.0, "B": 2.0}.get(grade, 1.0), "P": (G == "OK") != (H == "OK"),
        "Q": float(REGIONS.index(row["region"]) + 1),
        "R": ("Q4", "Q4", "Q4", "Q1", "Q1", "Q1", "Q2", "Q2", "Q2", "Q3", "Q3", "Q3")[month.month - 1],
        "S": float(month.year * 100 + month.month), "T": serial(T), "U": float(U),
        "V": float(networkdays(month, T, {6}, holidays)), "W": serial(workday(month, 10, {5, 6}, holidays)),
        "X": serial(workday(month, 5, {6}, holidays)), "Y": float(month.isoweekday()),
        "Z": f"{weeknum_monday(month)}/{month.isocalendar()[1]}",
        "AA": float(datedif_months(d["fiscal_start"], month)), "AB": serial(edate(month, 3)),
        "AC": trimmed.split(" ")[0].upper(), "AD": f"{len(trimmed)}:{row['region'].lower()}",
        "AE": float(row["code"][3:7]) + float(row["budget"].replace(",", "")) / 1_000_000,
        "AF": float(row["code"].lower().find("-a") + 1) if "-a" in row["code"].lower() else 0.0,
        "AG": row["code"].replace("-", "/") + row["code"][-1],
        "AH": f"{month.year}-{month.month:02d}: {text_thousands(E)}",
        "AI": nv(row["note"]),
        "AJ": 0.0 if rate == 0 else xround(deals / rate, 0, ROUND_UP),
        "AK": float(calls // U) + (calls % U) / 100,
        "AL": mround(E, 50000),
        "AM": float(math.ceil(E / 1000)) + math.floor(E / 100000) * 100000.0,
        "AN": xround(B * 100, 1, ROUND_DOWN) + xround(C * 100, 0, ROUND_UP),
        "AO": (1 + J) ** 2 + math.log10(max(E, 1)) + math.exp(-B) + math.log(1 + calls),
        "AP": "n/a" if prev is None or prev == 0 else E / prev - 1,
    }
    del r
    return out


def reference(data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every formula cell's value ('Sheet!A1' -> float, str or bool), computed from the data alone."""
    d = data or base_data()
    rows = d["rows"]
    calc: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        calc.append(_calc_row(i, row, d, calc[-1]["E"] if calc else None))
    E = [c["E"] for c in calc]
    running = 0.0
    for i, c in enumerate(calc):
        running += E[i]
        c["L"] = running
        window = E[max(0, i - 2):i + 1]
        c["M"] = sum(window) / len(window)
    out = {f"Calc!{col}{i + 2}": v for i, c in enumerate(calc) for col, v in c.items()}
    tgt = {k: v for k, v, _ in d["targets"]}
    region = [row["region"] for row in rows]
    col = {k: [float(row[k]) for row in rows] for k in ("leads", "opps", "won", "calls", "connects", "deal")}
    B: dict[int, Any] = {}
    B[1], B[2], B[3], B[4], B[5] = (sum(col[k]) for k in ("leads", "opps", "won", "calls", "connects"))
    B[6] = sum(E)
    B[7] = B[2] / B[1] if B[1] else 0.0
    B[8] = B[3] / B[2] if B[2] else 0.0
    B[9] = B[5] / B[4] if B[4] else 0.0
    B[10] = B[6] / d["annual_target"]
    B[11] = text_pct(B[10], 1)
    grades = [c["N"] for c in calc]
    B[12] = sum(e for g, e in zip(grades, E) if g == "A")
    B[13] = sum(e for reg, c, e in zip(region, calc, E) if reg == "East" and ge(c["B"], 0.1))
    B[14] = float(sum(1 for c in calc if c["G"] == "OK"))
    B[15] = float(sum(1 for reg, c in zip(region, calc) if reg.lower().startswith("w") and c["H"] == "OK"))
    active = [e for e in E if e > 0]
    B[16] = sum(active) / len(active)
    not_north = [e for reg, e in zip(region, E) if reg != "North" and e > 0]
    B[17] = sum(not_north) / len(not_north) if not_north else 0.0
    east = [e for reg, e in zip(region, E) if reg == "East"]
    B[18] = max(east) if east else 0.0
    B[19] = min(active)
    B[20] = sum(w * p for w, p in zip(col["won"], col["deal"]))
    B[21] = sum(e for reg, e in zip(region, E) if reg == "East")
    best = E.index(max(E))
    B[22] = calc[best]["AH"]
    B[23] = region[best]
    stage = [s for s in STAGES if s[0] <= d["months_since_launch"]][-1]
    B[24], B[25] = stage[1], stage[2]
    B[26] = MANAGERS[REGIONS.index(region[0])]
    B[27] = f"{d['team']} {B[24]} {text_pct(B[10], 0)}"
    uniq = list(dict.fromkeys(region))
    B[28] = float(len(uniq))
    B[29] = ",".join(sorted(uniq, key=str.lower))
    B[30] = sum(e for g, e in zip(grades, E) if g == "A")
    B[31] = sum((i + 1) * e for i, e in enumerate(E)) / B[6] if B[6] else 0.0
    B[32] = sorted(E, reverse=True)[2]
    won_needed = xround(d["annual_target"] / tgt["deal_size"], 0, ROUND_UP)
    opps_needed = xround(won_needed / tgt["win_rate"], 0, ROUND_UP)
    conn_needed = xround(opps_needed / tgt["conversion_rate"], 0, ROUND_UP)
    B[33] = xround(conn_needed / tgt["connect_rate"], 0, ROUND_UP)
    B[34] = xround(B[33] / 12, 1)
    B[35] = ("conversion" if not ge(B[7], tgt["conversion_rate"]) else "win_rate" if not ge(B[8], tgt["win_rate"])
             else "connect_rate" if not ge(B[9], tgt["connect_rate"]) else "none")
    with_leads = sum(1 for v in col["leads"] if v > 0)
    B[37] = B[6] / with_leads * 12 if with_leads else 0.0
    B[36] = ge(B[37], d["annual_target"])
    B[38] = sum(c["U"] for c in calc)
    last = from_serial(max(c["W"] for c in calc))
    B[39] = f"{last.year}/{last.month:02d}/{last.day:02d}"
    B[40] = sum(c["O"] for c in calc) / len(calc)
    B[41] = float(sum(1 for c in calc if c["P"] is True))
    B[42] = sum(v for k, v, _ in d["targets"] if k.lower().endswith("rate"))
    B[43] = calc[best]["R"]
    out.update({f"Summary!B{i}": v for i, v in B.items()})
    for k, reg in enumerate(sorted(uniq, key=str.lower)):
        out[f"Summary!D{k + 1}"] = reg
    return out


def same(expected: Any, got: Any, rel: float = 1e-9) -> bool:
    """Equal as a user would judge: numbers to 9 significant digits, booleans as booleans, text exactly."""
    if isinstance(expected, bool):
        return isinstance(got, bool) and got == expected
    if isinstance(expected, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return False
        return abs(float(got) - expected) <= rel * max(1.0, abs(expected))
    return got == expected


def check(values: dict[str, Any], expected: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(cell, expected, got) for every cell of ``expected`` the engine got wrong (or did not give)."""
    return [(cell, exp, values.get(cell, "<missing>")) for cell, exp in expected.items() if not same(exp, values.get(cell))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = build_workbook(args.out, base_data(args.seed))
    print(f"{path}: {len(formula_cells())} formula cells, {len(reference(base_data(args.seed)))} values checked")


if __name__ == "__main__":
    main()
