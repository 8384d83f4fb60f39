"""kpitree new: targets from the catalogue for industry and stage, refuses to overwrite, bad arguments."""

from __future__ import annotations

import os

import openpyxl
import pytest

os.environ.setdefault("TQDM_DISABLE", "1")

from kpitree.cli import main
from kpitree.workbook_templates.new import new_inputs


def _value(wb, name):
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return wb[sheet][ref.replace("$", "")].value


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
