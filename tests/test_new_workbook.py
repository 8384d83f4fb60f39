"""kpitree new: targets from the catalogue for industry and stage, refuses to overwrite, bad arguments."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile

import openpyxl
import pytest
from kpitree.workbook_templates import template_path
from kpitree.workbook_templates.new import new_inputs
from kpitree.workbook_templates.spec import SHEETS
from named_cells import set_value as _set
from named_cells import value as _value
from named_cells import values as _range

from kpitree.cli import main

os.environ.setdefault("TQDM_DISABLE", "1")  # formulas (imported later, by the engine) draws no progress bars


def test_targets_follow_industry_and_stage():
    launch = new_inputs(months=2, industry="saas_low_price")
    growth = new_inputs(months=8, industry="saas_low_price")
    mature = new_inputs(months=14, industry="saas_low_price")
    assert (launch["target_conversion_rate"], growth["target_conversion_rate"], mature["target_conversion_rate"]) == \
        pytest.approx((0.08, 0.115, 0.15))
    assert new_inputs(months=14, industry="manufacturing")["target_conversion_rate"] == pytest.approx(0.05)
    assert mature["target_email_open_rate"] == pytest.approx(0.35) and launch["target_email_open_rate"] == pytest.approx(0.25)
    assert mature["target_ltv_cac"] == 3.0 and mature["target_bant_rate"] == 0.7
    plan = new_inputs(months=14, revenue=100_000_000, deal_size=1_000_000, industry="general")
    assert plan["target_revenue_contribution"] == 25_000_000


def test_new_writes_workbook_with_empty_actuals(tmp_path):
    out = tmp_path / "kpi.xlsx"
    assert main(["new", str(out), "--months", "8", "--industry", "consulting", "--revenue", "2億", "--deal-size", "200万"]) == 0
    wb = openpyxl.load_workbook(out)
    assert _value(wb, "kgi_annual_revenue") == 200_000_000
    assert _value(wb, "target_conversion_rate") == pytest.approx(0.085)
    assert _value(wb, "actual_opportunities") is None and _value(wb, "raw_leads") is None
    cached = openpyxl.load_workbook(out, data_only=True)
    assert _value(cached, "stage_label") == "成長期"
    assert _value(cached, "actual_conversion_rate") in ("", None)  # empty string result


def test_refuses_to_overwrite_unless_force(tmp_path, capsys):
    out = tmp_path / "kpi.xlsx"
    out.write_bytes(b"mine")
    assert main(["new", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == b"mine"
    assert main(["new", str(out), "--force", "--lang", "en"]) == 0
    assert openpyxl.load_workbook(out).sheetnames[0] == "KGI & strategic KPIs"


@pytest.mark.parametrize("args", [["--industry", "nope"], ["--months", "-1"], ["--revenue", "abc"]])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, args):
    with pytest.raises(SystemExit) if args[0] != "--industry" else _no_raise():
        code = main(["new", str(tmp_path / "x.xlsx"), *args])
        assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "error" in err[-1]
    assert not (tmp_path / "x.xlsx").exists()


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --- kpitree new --template FILE --------------------------------------------------------------

S1, S2, S3, S4 = SHEETS["ja"]


@pytest.fixture
def custom(tmp_path):
    """The shipped ja workbook (sample actuals), customised: an extra sheet, a changed label and style, a note."""
    from openpyxl.styles import Font

    path = tmp_path / "ours.xlsx"
    shutil.copyfile(template_path("ja"), path)
    wb = openpyxl.load_workbook(path)
    notes = wb.create_sheet("メモ")
    notes["A1"], notes["B2"] = "営業会議メモ", 42
    sheet, ref = next(iter(wb.defined_names["target_calls"].destinations))
    label = wb[sheet][ref.replace("$", "").replace("D", "B")]
    label.value, label.font = "1日の架電数(当社定義)", Font(bold=True, color="FFC00000")
    wb[S4]["T5"] = "来月はBANT徹底"
    sheet, ref = next(iter(wb.defined_names["trend_month"].destinations))
    wb[sheet][ref.replace("$", "").split(":")[0]].value = "2025-04"
    _set(wb, "working_days_per_month", 22)
    _set(wb, "status_on_track_from", 0.95)
    wb.save(path)
    return path


def test_template_gives_guided_targets_empty_actuals_and_keeps_user_content(custom, tmp_path):
    from kpitree.workbook_templates.new import new_inputs

    digest = hashlib.sha256(custom.read_bytes()).hexdigest()
    out = tmp_path / "next.xlsx"
    assert main(["new", str(out), "--template", str(custom), "--months", "8", "--industry", "consulting",
                 "--revenue", "2億", "--deal-size", "200万"]) == 0
    assert hashlib.sha256(custom.read_bytes()).hexdigest() == digest  # the template is never written
    wb = openpyxl.load_workbook(out)
    expected = new_inputs(months=8, industry="consulting", revenue=200_000_000, deal_size=2_000_000, working_days=22)
    for name, value in expected.items():
        if name.startswith("target_") or name in ("kgi_annual_revenue", "avg_deal_size", "plan_conversion_rate"):
            assert _value(wb, name) == pytest.approx(value), name
    assert _value(wb, "target_conversion_rate") == pytest.approx(0.085)
    assert _value(wb, "target_calls") == expected["target_calls"]  # calls per day over the template's 22 days
    # actuals and raw data emptied, formulas kept; user settings kept
    for name in ("raw_won_deals", "raw_leads", "raw_calls_month", "actual_opportunities", "actual_sql_count",
                 "actual_quality_score"):
        assert _value(wb, name) is None, name
    assert str(_value(wb, "actual_conversion_rate")).startswith("=")
    assert all(v is None for v in _range(wb, "trend_leads") + _range(wb, "trend_calls"))
    assert _range(wb, "trend_month")[:2] == ["2025-04", "5月"]  # month labels are the user's
    assert _value(wb, "working_days_per_month") == 22 and _value(wb, "status_on_track_from") == 0.95
    # user content kept
    assert wb["メモ"]["A1"].value == "営業会議メモ" and wb["メモ"]["B2"].value == 42
    label = wb[S3]["B22"]
    assert label.value == "1日の架電数(当社定義)" and label.font.bold and label.font.color.rgb == "FFC00000"
    assert wb[S4]["T5"].value == "来月はBANT徹底" and len(wb[S4]._charts) == 3
    # real cached values (the recalculation engine ran), no recalc-on-load; the stage's list still spills
    cached = openpyxl.load_workbook(out, data_only=True)
    assert _value(cached, "stage_label") == "成長期"
    assert _value(cached, "required_won_deals_month") == pytest.approx(200 / 2 / 12)
    assert _value(cached, "actual_conversion_rate") in ("", None)
    with zipfile.ZipFile(out) as zf:
        assert "fullCalcOnLoad" not in zf.read("xl/workbook.xml").decode()
        assert "xl/metadata.xml" in zf.namelist()
        sheet1 = zf.read("xl/worksheets/sheet1.xml").decode()
    # the whole table's block (the longest stage list), whatever the stage
    assert re.search(r'<c r="A27"[^>]* cm="1"[^>]*><f t="array" ref="A27:D32">KPI_STAGE_RECOMMEND', sheet1)


@pytest.mark.parametrize("months_from, months_to", [(None, "2"), ("2", "14")])
def test_template_result_equals_plain_new(tmp_path, months_from, months_to):
    """An uncustomised template gives `kpitree new`'s workbook: every cell and cached value.

    The stage's recommended-KPI spill grows (the sample team, mature: 5 rows → launch: 6)
    or shrinks (launch → mature) with the new stage. The template is built by this checkout
    (not the committed file), so the comparison is about `new`, not about a stale template.
    """
    from kpitree.workbook_templates import build_workbook

    template = tmp_path / "template.xlsx"
    if months_from is None:
        build_workbook(template, "ja")  # the shipped template's content: sample team with actuals
    else:
        assert main(["new", str(template), "--months", months_from]) == 0
    plain, templated = tmp_path / "plain.xlsx", tmp_path / "templated.xlsx"
    assert main(["new", str(plain), "--months", months_to, "--industry", "saas_low_price"]) == 0
    assert main(["new", str(templated), "--months", months_to, "--industry", "saas_low_price",
                 "--template", str(template)]) == 0
    for data_only in (False, True):
        a, b = openpyxl.load_workbook(plain, data_only=data_only), openpyxl.load_workbook(templated, data_only=data_only)
        assert a.sheetnames == b.sheetnames
        for ws in a:
            cells = {c.coordinate for row in ws.iter_rows() for c in row if c.value is not None}
            cells |= {c.coordinate for row in b[ws.title].iter_rows() for c in row if c.value is not None}
            for ref in cells:
                x, y = getattr(ws[ref].value, "text", ws[ref].value), getattr(b[ws.title][ref].value, "text", b[ws.title][ref].value)
                assert x == pytest.approx(y, rel=1e-9) if isinstance(x, float) else x == y, (ws.title, ref, x, y)


def test_dashboard_and_recalc_work_on_the_result(custom, tmp_path):
    out = tmp_path / "next.xlsx"
    assert main(["new", str(out), "--template", str(custom), "--months", "14"]) == 0
    wb = openpyxl.load_workbook(out)
    _set(wb, "raw_days_worked", 10)
    _set(wb, "raw_calls_month", 500)
    wb.save(out)
    assert main(["dashboard", str(out)]) == 0
    assert openpyxl.load_workbook(out)["メモ"]["A1"].value == "営業会議メモ"
    assert main(["recalc", str(out), "--out", str(tmp_path / "re"), "--summary", str(tmp_path / "s.csv")]) == 0
    cached = openpyxl.load_workbook(tmp_path / "re" / "next.xlsx", data_only=True)
    target = _value(cached, "target_calls")
    assert _value(cached, "actual_calls") == 50 and _value(cached, "achievement_calls") == pytest.approx(50 / target)


@pytest.mark.parametrize("breakage, names", [
    ("missing", ["kgi_annual_revenue: missing"]),
    ("text", ["avg_deal_size", "holds text", "target_calls"]),  # one moved onto its label, one typed as text
    ("error", ["raw_leads", "holds the error #N/A"]),
    ("ref", ["plan_win_rate: broken reference"]),
    ("kpi", ["target_email_reply_rate: missing", "actual_email_reply_rate: missing", "kpitree dashboard"]),
])
def test_bad_template_names_exit_2_in_one_line_and_write_nothing(tmp_path, capsys, breakage, names):
    template = tmp_path / "ours.xlsx"
    shutil.copyfile(template_path("ja"), template)
    wb = openpyxl.load_workbook(template)
    if breakage == "missing":
        del wb.defined_names["kgi_annual_revenue"]
    elif breakage == "text":
        wb.defined_names["avg_deal_size"].attr_text = f"'{S1}'!$B$8"  # moved onto the label
        _set(wb, "target_calls", "67件")
    elif breakage == "error":
        _set(wb, "raw_leads", "#N/A")
    elif breakage == "ref":
        wb.defined_names["plan_win_rate"].attr_text = "#REF!"
    else:  # a KPI row added without `kpitree dashboard`: no target_/actual_ names to write through
        wb[S3]["A28"], wb[S3]["D28"] = "email_reply_rate", 0.05
    wb.save(template)
    digest = hashlib.sha256(template.read_bytes()).hexdigest()
    out = tmp_path / "next.xlsx"
    assert main(["new", str(out), "--template", str(template)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nothing was changed" in err, err
    assert all(n in err for n in names), err
    assert not out.exists() and hashlib.sha256(template.read_bytes()).hexdigest() == digest
    assert [p.name for p in tmp_path.iterdir()] == ["ours.xlsx"]  # no temporary file left either


def test_template_refusals(tmp_path, capsys):
    template = tmp_path / "ours.xlsx"
    shutil.copyfile(template_path("en"), template)
    digest = hashlib.sha256(template.read_bytes()).hexdigest()
    out = tmp_path / "next.xlsx"
    out.write_bytes(b"mine")
    cases = [
        ([str(out), "--template", str(template)], "--force"),
        ([str(template), "--template", str(template), "--force"], "must differ"),
        ([str(tmp_path / "sub" / ".." / "ours.xlsx"), "--template", str(template), "--force"], "must differ"),
        ([str(tmp_path / "x.xlsx"), "--template", str(tmp_path / "none.xlsx")], "no such file"),
        ([str(tmp_path / "x.xlsx"), "--template", str(template), "--lang", "ja"], "en workbook"),
        ([str(tmp_path / "x.xlsx"), "--template", str(template), "--industry", "nope"], "nope"),
    ]
    (tmp_path / "sub").mkdir()
    for args, words in cases:
        assert main(["new", *args]) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, (args, err)
    assert out.read_bytes() == b"mine" and hashlib.sha256(template.read_bytes()).hexdigest() == digest
    assert not (tmp_path / "x.xlsx").exists()
    assert main(["new", str(out), "--template", str(template), "--force", "--lang", "en"]) == 0
    assert openpyxl.load_workbook(out).sheetnames[0] == "KGI & strategic KPIs"


def test_engine_failure_falls_back_to_recalc_on_load(custom, tmp_path, monkeypatch, capsys):
    import kpitree.recalculation as engine

    def broken(src, dst, **_):
        raise engine.WorkbookError("engine down")

    monkeypatch.setattr(engine, "recalc_file", broken)
    out = tmp_path / "next.xlsx"
    assert main(["new", str(out), "--template", str(custom)]) == 0
    assert "engine down" in capsys.readouterr().err
    with zipfile.ZipFile(out) as zf:
        assert 'fullCalcOnLoad="1"' in zf.read("xl/workbook.xml").decode()
        assert 'cm="1"><f t="array"' in zf.read("xl/worksheets/sheet1.xml").decode()
    assert _value(openpyxl.load_workbook(out), "raw_leads") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next.xlsx", "ours.xlsx"]
