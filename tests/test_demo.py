"""`kpitree demo`: the README's main job, end to end on the sample team."""

from __future__ import annotations

import openpyxl
import pytest

from kpitree.cli import main
from kpitree.demo import free_path


def test_demo_imports_the_sample_export_and_prints_the_dashboard(tmp_path, capsys):
    out = tmp_path / "demo.xlsx"
    assert main(["demo", "--out", str(out), "--lang", "en"]) == 0
    text = capsys.readouterr().out
    assert "Imported the sample CRM export" in text and "4 rejected, 4 duplicates, 5 with no member" in text
    assert "Revenue contribution" in text and "On track" in text and "Stage: Mature" in text
    assert "Bottleneck: " in text and "Added the weekly review 2026-W16" in text and "Alerts (" in text
    wb = openpyxl.load_workbook(out, data_only=True)
    assert wb.sheetnames[4:] == ["Members", "Week 2026-W16", "Data"]

    def named(name):
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        return wb[sheet][ref.replace("$", "")].value

    # the template's actuals are the imported April (to 4/17), recalculated by the engine
    rows = [r for r in wb["Data"].iter_rows(values_only=True) if r[0] == "month" and r[1] == "2026-04"]
    header = next(r for r in wb["Data"].iter_rows(values_only=True) if r[0] == "grain" and r[3] == "calls")
    calls = sum(r[header.index("calls")] or 0 for r in rows)
    assert named("raw_calls_month") == calls and named("raw_days_worked") == 13
    assert named("actual_calls") == pytest.approx(calls / 13)
    assert named("achievement_revenue_contribution") == pytest.approx(
        named("raw_won_deals") * named("raw_actual_deal_size") / named("target_revenue_contribution"))


def test_demo_never_overwrites(tmp_path, capsys):
    out = tmp_path / "taken.xlsx"
    out.write_bytes(b"mine")
    assert main(["demo", "--out", str(out)]) == 2
    assert out.read_bytes() == b"mine"
    assert "exists" in capsys.readouterr().err


def test_demo_into_a_missing_folder_is_one_line(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "nope" / "demo.xlsx")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_default_name_is_numbered_when_taken(tmp_path):
    first = tmp_path / "kpitree-demo.xlsx"
    assert free_path(first) == first
    first.write_bytes(b"")
    (tmp_path / "kpitree-demo-1.xlsx").write_bytes(b"")
    assert free_path(first) == tmp_path / "kpitree-demo-2.xlsx"
