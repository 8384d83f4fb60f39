"""`kpitree demo`: the README's main job, end to end on the sample team."""

from __future__ import annotations

import openpyxl
import pytest

from kpitree.cli import main
from kpitree.demo import free_path


def test_demo_writes_a_recalculated_workbook_and_prints_the_dashboard(tmp_path, capsys):
    out = tmp_path / "demo.xlsx"
    assert main(["demo", "--out", str(out), "--lang", "en"]) == 0
    text = capsys.readouterr().out
    assert "Revenue contribution" in text and "On track" in text
    assert "Bottleneck: Low win rate" in text and "Enforce BANT capture" in text
    assert "Stage: Mature" in text
    wb = openpyxl.load_workbook(out, data_only=True)
    assert len(wb.sheetnames) == 4
    # the dashboard was rebuilt with openpyxl, then the engine wrote every cached value back
    dest = wb.defined_names["achievement_revenue_contribution"].destinations
    sheet, ref = next(iter(dest))
    assert wb[sheet][ref.replace("$", "")].value == pytest.approx(23_100_000 / 25_000_000)


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
