"""The xlwings UDF module: public contract, names Excel and VBA accept, and xlwings' own wrappers."""

from __future__ import annotations

import inspect
import re

import pytest
from kpitree.addin.xlwings_wrappers import vba_wrapper_for
from kpitree.udfs import excel_functions as xf

MODULE = "kpitree.udfs.excel_functions"

# The public contract of issue 2: names and argument order.
CONTRACT = {
    "KPI_CONVERSION_RATE": ["opportunities", "leads"],
    "KPI_CONNECT_RATE": ["connects", "calls"],
    "KPI_REQUIRED_CALLS": ["target_opportunities", "conversion_rate", "connect_rate"],
    "KPI_REVENUE_CONTRIBUTION": ["won_deals", "avg_deal_size"],
    "KPI_LTV": ["avg_monthly_revenue", "retention_months", "gross_margin"],
    "KPI_CAC": ["marketing_cost", "sales_cost", "new_customers"],
    "KPI_LTV_CAC": ["ltv", "cac"],
    "KPI_FORECAST_ACCURACY": ["actual", "forecast"],
    "KPI_BANT_RATE": ["opps_with_3_of_4_bant", "opportunities"],
    "KPI_FOLLOWUP_RATE": ["done_by_due_date", "planned"],
    "KPI_ACHIEVEMENT": ["actual", "target", "lower_is_better"],
    "KPI_PIPELINE_COVERAGE": ["pipeline", "remaining_target"],
    "KPI_PLAN_OPPORTUNITIES": ["annual_revenue", "avg_deal_size", "win_rate", "periods"],
    "KPI_STAGE": ["months_since_launch", "lang"],
    "KPI_STAGE_RECOMMEND": ["stage_or_months", "lang"],
    "KPI_BOTTLENECK": ["funnel_actuals", "funnel_targets", "lang"],
}
OPTIONAL = {
    "KPI_ACHIEVEMENT": ["lower_is_better"],
    "KPI_PLAN_OPPORTUNITIES": ["periods"],
    "KPI_STAGE": ["lang"],
    "KPI_STAGE_RECOMMEND": ["lang"],
    "KPI_BOTTLENECK": ["lang"],
}

# VBA keywords and the names the xlwings wrapper itself uses (Err, Application, ...).
VBA_RESERVED = {w.lower() for w in """
AddressOf And Any Array As Attribute Base Binary Boolean ByRef Byte ByVal Call Case CBool CByte CCur CDate
CDbl CDec CInt CLng CLngLng CLngPtr Close Compare Const CSng CStr Currency CVar CVErr Date Debug Decimal
Declare DefBool DefByte DefCur DefDate DefDbl DefDec DefInt DefLng DefLngLng DefLngPtr DefObj DefSng DefStr
DefVar Dim Do DoEvents Double Each Else ElseIf Empty End EndIf Enum Eqv Erase Err Error Event Exit Explicit
False Fix For Friend Function Get Global GoSub GoTo If Imp Implements In Input InputB Int Integer Is LBound
Len LenB Let Lib Like Line LINEINPUT Lock Long LongLong LongPtr Loop LSet Me Mid MidB Mod Name New Next Not
Nothing Null Object On Open Option Optional Or Output ParamArray Preserve Print Private Property PtrSafe
Public Put RaiseEvent Random Read ReDim Rem Resume Return RSet Seek Select Set Shared Single Spc Static
Step Stop String Sub Tab Text Then Time To True Type TypeOf UBound Unlock Until Variant Wend While Width
With WithEvents Write Xor Application Caller Range Sheet Workbook Worksheet XLPy failed argsArray k
""".split()}

CELL_REF = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*|[Rr]|[Cc])$")
VBA_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,254}$")


def _check_name(name: str) -> list[str]:
    problems = []
    if not VBA_IDENT.match(name):
        problems.append(f"{name}: not a VBA identifier (letter first, then letters, digits, _)")
    if name.lower() in VBA_RESERVED:
        problems.append(f"{name}: VBA reserved word")
    if CELL_REF.match(name):
        problems.append(f"{name}: looks like a cell reference")
    return problems


def test_lint_rejects_what_it_should():
    for bad in ["currency", "date", "end", "_x", "A1", "ltv1", "R1C1", "xfd100", "r", "2x", "a-b"]:
        assert _check_name(bad), bad
    for good in ["leads", "ltv", "cac", "won_deals", "KPI_LTV_CAC"]:
        assert not _check_name(good), good


def test_every_exported_name_and_argument_is_a_valid_vba_identifier():
    problems = []
    for name, fn in xf.exported_functions().items():
        problems += _check_name(name)
        for arg in inspect.signature(fn).parameters:
            problems += [f"{name}({p})" for p in _check_name(arg)]
    assert not problems, "\n".join(problems)


def test_public_contract_names_and_argument_order():
    exported = xf.exported_functions()
    for name, args in CONTRACT.items():
        assert name in exported, name
        assert list(inspect.signature(exported[name]).parameters) == args, name


def test_contract_examples():
    assert xf.KPI_REQUIRED_CALLS(20, 0.10, 0.25) == pytest.approx(800)
    assert xf.KPI_CONVERSION_RATE(20, 200) == pytest.approx(0.1)
    assert xf.KPI_CONNECT_RATE(50, 200) == pytest.approx(0.25)
    assert xf.KPI_REVENUE_CONTRIBUTION(25, 1e6) == pytest.approx(25e6)
    assert xf.KPI_LTV(50_000, 36, 0.7) == pytest.approx(1_260_000)
    assert xf.KPI_CAC(3e6, 5e6, 20) == pytest.approx(400_000)
    assert xf.KPI_LTV_CAC(1.26e6, 4e5) == pytest.approx(3.15)
    assert xf.KPI_FORECAST_ACCURACY(9e6, 1e7) == pytest.approx(0.9)
    assert xf.KPI_BANT_RATE(14, 20) == pytest.approx(0.7)
    assert xf.KPI_FOLLOWUP_RATE(45, 50) == pytest.approx(0.9)
    assert xf.KPI_ACHIEVEMENT(5e5, 4e5, True) == pytest.approx(0.8)
    assert xf.KPI_PIPELINE_COVERAGE(3e7, 1e7) == pytest.approx(3)
    assert xf.KPI_PLAN_OPPORTUNITIES(1e8, 1e6, 0.25) == pytest.approx(33.333, rel=1e-4)
    assert xf.KPI_PLAN_OPPORTUNITIES(1e8, 1e6, 0.25, 4) == pytest.approx(100)
    assert [xf.KPI_STAGE(m) for m in (0, 5.9, 6, 11.9, 12, 60)] == ["立ち上げ期", "立ち上げ期", "成長期", "成長期", "成熟期", "成熟期"]
    assert [xf.KPI_STAGE(m, "en") for m in (3, 6, 12)] == ["Launch", "Growth", "Mature"]
    assert xf.KPI_STATUS(1.0) == "順調" and xf.KPI_STATUS(0.8, 1, 0.8, "en") == "Watch" and xf.KPI_STATUS(0.5) == "遅れ"


def test_stage_recommend_spills_a_table():
    table = xf.KPI_STAGE_RECOMMEND(13, "en")
    assert table[0] == ["Strategic KPIs", "Revenue contribution", "★★★", "Judge by revenue contribution"]
    assert {len(row) for row in table} == {4}
    assert xf.KPI_STAGE_RECOMMEND("成長期") == xf.KPI_STAGE_RECOMMEND(6)
    assert xf.KPI_STAGE_RECOMMEND("growth", "en") == xf.KPI_STAGE_RECOMMEND(7, "en")


def test_bottleneck_returns_the_seed_action():
    actual = [800, 0.25, 0.05, 0.25, 1e6]
    target = [800, 0.25, 0.10, 0.25, 1e6]
    assert xf.KPI_BOTTLENECK(actual, target) == [
        ["商談化率が低い", "トークスクリプトの問題", "スクリプト改善、ロープレ強化", pytest.approx(2.5e6)]]
    assert xf.KPI_BOTTLENECK(target, target, "en")[0][0] == "No bottleneck"


@pytest.mark.parametrize(
    "call,expected",
    [
        (lambda: xf.KPI_CONVERSION_RATE(1, 0), "#DIV/0!"),
        (lambda: xf.KPI_CONVERSION_RATE("#N/A", 3), "#N/A"),
        (lambda: xf.KPI_CONVERSION_RATE("ten", 3), "#VALUE!"),
        (lambda: xf.KPI_CONVERSION_RATE(-1, 3), "#NUM!"),
        (lambda: xf.KPI_REQUIRED_CALLS(20, 10, 25), "#NUM!"),
        (lambda: xf.KPI_STAGE(-1), "#NUM!"),
        (lambda: xf.KPI_STAGE("12"), "#VALUE!"),
        (lambda: xf.KPI_STAGE("#REF!"), "#REF!"),
        (lambda: xf.KPI_STAGE(3, "fr"), "#VALUE!"),
        (lambda: xf.KPI_STAGE_RECOMMEND("someday"), "#VALUE!"),
        (lambda: xf.KPI_BOTTLENECK([1, 2], [1, 2]), "#VALUE!"),
        (lambda: xf.KPI_BOTTLENECK([800, 2, 0.1, 0.25, 1e6], [800, 0.25, 0.1, 0.25, 1e6]), "#NUM!"),
        (lambda: xf.KPI_MAPE([1, 2], [1]), "#VALUE!"),
        (lambda: xf.KPI_STATUS(0.9, 0.8, 1.0), "#NUM!"),
    ],
)
def test_errors_reach_excel_as_error_values(call, expected):
    assert call() == expected  # the error's text off Windows; a VT_ERROR VARIANT on Windows


def test_descriptions_and_argument_docs_fit_the_function_wizard():
    for name, fn in xf.exported_functions().items():
        assert fn.__doc__ and len(fn.__doc__) <= xf.WIZARD_LIMIT, name
        for arg in inspect.signature(fn).parameters:
            assert 0 < len(xf.ARG_DOCS[arg]) <= xf.WIZARD_LIMIT, (name, arg)


def test_descriptions_come_from_the_catalogue():
    assert xf.KPI_CONVERSION_RATE.__doc__ == "商談化率 / Opportunity conversion rate: opportunities ÷ leads worked."


# --- xlwings' own Windows code path --------------------------------------------------


@pytest.fixture(scope="module")
def wrapper():
    return vba_wrapper_for(MODULE)


def test_xlwings_records_category_docs_and_options(wrapper):
    _, module = wrapper
    for name in xf.exported_functions():
        info = getattr(module, name).__xlfunc__
        assert info["category"] == "kpitree"
        assert info["ret"]["doc"] == getattr(xf, name).__doc__
        for arg in info["args"]:
            assert arg["doc"] == xf.ARG_DOCS[arg["name"]]
            assert arg["options"]["err_to_str"] is True  # errors arrive as "#N/A", not None
        ndims = {a["name"]: a["options"].get("ndim") for a in info["args"]}
        for range_arg in xf.RANGE_ARGS & set(ndims):
            assert ndims[range_arg] == 1


def test_generate_vba_wrapper_writes_one_function_per_udf(wrapper):
    vba, _ = wrapper
    signatures = dict(re.findall(r"^Function (KPI_\w+)\((.*)\)$", vba, flags=re.M))
    assert set(signatures) == set(xf.exported_functions())
    for name, fn in xf.exported_functions().items():
        params = inspect.signature(fn).parameters
        expected = ", ".join(
            ("Optional " if params[p].default is not inspect.Parameter.empty else "") + p for p in params
        )
        assert signatures[name] == expected, name
        assert f'XLPy.CallUDF("{MODULE}", "{name}", Array({", ".join(params)}), ActiveWorkbook, Application.Caller)' in vba
    for name, optional in OPTIONAL.items():
        for arg in optional:
            assert f"Optional {arg}" in signatures[name]
