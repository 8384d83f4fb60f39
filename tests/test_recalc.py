"""Batch recalculation: Excel rounding, fast vs general path, write-back, faults, CLI, executors."""

from __future__ import annotations

import concurrent.futures
import math
import os
import random
import subprocess
import sys
import zipfile
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

os.environ.setdefault("TQDM_DISABLE", "1")

from kpitree.recalculation import ScenarioError, WorkbookError, recalc, recalc_file
from kpitree.recalculation.excel_round import excel_round, excel_round_scalar
from kpitree.recalculation.files import process_files
from kpitree.recalculation.io.package import Limits
from kpitree.recalculation.scenarios import open_template, run_scenarios
from kpitree.udfs.excel_values import XlError

import kpitree
from kpitree.cli import main as cli_main

xlsxwriter = pytest.importorskip("xlsxwriter")
openpyxl = pytest.importorskip("openpyxl")


# --- helpers -----------------------------------------------------------------------------------


def write_book(path: Path, sheets: dict[str, dict[str, object]], names: dict[str, str] | None = None) -> Path:
    """A workbook from {sheet: {cell: value or "=formula"}} and workbook-scoped names."""
    wb = xlsxwriter.Workbook(str(path))
    for sheet, cells in sheets.items():
        ws = wb.add_worksheet(sheet)
        for ref, value in cells.items():
            if isinstance(value, str) and value.startswith("="):
                ws.write_formula(ref, value)
            elif value is None:
                continue
            else:
                ws.write(ref, value)
    for name, target in (names or {}).items():
        wb.define_name(name, target)
    wb.close()
    return path


def synthetic(path: Path) -> Path:
    return write_book(
        path,
        {
            "Inputs": {"A1": "calls", "B1": 800, "B2": 200, "B3": 20, "B4": 1.005, "B5": 0.285, "B6": 0},
            "Calc シート": {
                "A1": "=KPI_CONNECT_RATE(connects,calls)",
                "A2": "=_xludf.KPI_REQUIRED_CALLS(Inputs!B3, 0.1, A1)",
                "A3": "=ROUND(Inputs!B4,2)",
                "A4": '=IFERROR(1/Inputs!B6,"none")',
                "A5": '=IF(A1>0.2,"ok","low")&"!"',
                "A6": "=SUM(Inputs!B1:B3)*2%",
                "A7": "=ROUND(Inputs!B5,2)",
                "A8": "=KPI_STATUS(KPI_ACHIEVEMENT(Inputs!B1,1000))",
                "A9": "=Inputs!B1/Inputs!B6",
                "A10": "=ROUNDUP(0.1+0.2,1)",
                "A11": "=KPI_WIN_RATE(Inputs!B3,Inputs!B6)",
                "A12": "=A1>0.2",
                "A13": "=MAX(Inputs!B1:B6)-MIN(Inputs!B1:B6)",
            },
        },
        {"calls": "=Inputs!$B$1", "connects": "=Inputs!$B$2", "connect_rate": "='Calc シート'!$A$1",
         "rounded": "='Calc シート'!$A$3", "status": "='Calc シート'!$A$8", "ratio": "='Calc シート'!$A$9"},
    )


def values(path: Path) -> dict[tuple[str, str], object]:
    wb = openpyxl.load_workbook(path, data_only=True)
    return {(ws.title, c.coordinate): c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}


def same(a: object, b: object) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)
    return a == b


def assert_same_workbooks(a: Path, b: Path) -> None:
    va, vb = values(a), values(b)
    diffs = [(k, va.get(k), vb.get(k)) for k in set(va) | set(vb) if not same(va.get(k), vb.get(k))]
    assert not diffs, diffs[:10]


def both_paths(src: Path, tmp: Path) -> tuple[dict, dict, Path, Path]:
    fast = process_files([str(src)], str(tmp / "fast"))[0]
    general = process_files([str(src)], str(tmp / "general"), force_general=True)[0]
    return fast, general, tmp / "fast" / src.name, tmp / "general" / src.name


# --- Excel rounding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, d, mode, expected",
    [(1.005, 2, "round", 1.01), (0.285, 2, "round", 0.29), (0.1 + 0.2, 1, "up", 0.3), (-1.005, 2, "round", -1.01),
     (2.5, 0, "round", 3.0), (-2.5, 0, "round", -3.0), (1234.5678, -2, "round", 1200.0), (0.3 - 0.1, 1, "down", 0.2),
     (1.15, 1, "round", 1.2), (8.345, 2, "up", 8.35), (8.345, 2, "down", 8.34), (1e20, 2, "round", 1e20), (0.0, 3, "up", 0.0)],
)
def test_excel_round_cases(x: float, d: int, mode: str, expected: float) -> None:
    assert excel_round_scalar(x, d, mode) == expected
    assert excel_round(np.array([x]), np.array([d]), mode)[0] == expected


@settings(max_examples=300, deadline=None)
@given(st.floats(-1e9, 1e9, allow_nan=False), st.integers(-3, 6), st.sampled_from(["round", "up", "down"]))
def test_excel_round_vectorised_matches_decimal(x: float, d: int, mode: str) -> None:
    rounding = {"round": ROUND_HALF_UP, "up": ROUND_UP, "down": ROUND_DOWN}[mode]
    expected = float(Decimal(format(x, ".15g")).quantize(Decimal(1).scaleb(-d), rounding=rounding)) if x else 0.0
    assert excel_round(np.array([x, x]), np.array([d, d]), mode)[0] == expected


def test_formulas_round_is_fixed_in_general_path(tmp_path: Path) -> None:
    src = synthetic(tmp_path / "book.xlsx")
    general = process_files([str(src)], str(tmp_path / "g"), force_general=True)[0]
    assert general["path"] == "general"
    assert general["rounded"] == 1.01
    v = values(tmp_path / "g" / "book.xlsx")
    assert v[("Calc シート", "A7")] == 0.29 and v[("Calc シート", "A10")] == 0.3


# --- the two paths agree -----------------------------------------------------------------------


def test_synthetic_fast_equals_general_and_expected(tmp_path: Path) -> None:
    src = synthetic(tmp_path / "book.xlsx")
    fast, general, out_fast, out_general = both_paths(src, tmp_path)
    assert fast["path"] == "fast" and general["path"] == "general"
    assert fast["error"] == general["error"] == ""
    assert_same_workbooks(out_fast, out_general)
    v = values(out_fast)
    assert v[("Calc シート", "A1")] == 0.25
    assert v[("Calc シート", "A2")] == 800
    assert v[("Calc シート", "A4")] == "none"
    assert v[("Calc シート", "A5")] == "ok!"
    assert v[("Calc シート", "A8")] == "注意"
    assert v[("Calc シート", "A9")] == "#DIV/0!"
    assert v[("Calc シート", "A11")] == "#DIV/0!"  # a KPI function's ZeroDivision is #DIV/0!, not #VALUE!
    assert v[("Calc シート", "A12")] is True
    assert fast["ratio"] == XlError.DIV0 and fast["status"] == "注意" and fast["calls"] == 800


def test_template_fast_equals_general(template: Path, tmp_path: Path) -> None:
    fast, general, out_fast, out_general = both_paths(template, tmp_path)
    assert fast["path"] == "fast", "the template must take the fast path"
    assert general["path"] == "general"
    assert fast["error"] == general["error"] == ""
    assert_same_workbooks(out_fast, out_general)
    named = {k: v for k, v in fast.items() if k not in ("file", "path", "error", "general_because")}
    assert all(same(named[k], general[k]) for k in named)


def test_template_scenarios_match_general(template: Path) -> None:
    tpl = open_template(template)
    assert {"plan_win_rate", "plan_connect_rate", "kgi_annual_revenue"} <= set(tpl.inputs)
    table = pd.DataFrame({"plan_connect_rate": [0.25, 0.28, 0.0, 0.4], "plan_win_rate": [0.25, 0.1, 0.3, 1.5],
                          "months_since_launch": [3, 8, 14, 30]})
    fast, path = run_scenarios(tpl, table)
    general, gpath = run_scenarios(tpl, table, force_general=True)
    assert (path, gpath) == ("fast", "general")
    assert list(fast.columns) == list(general.columns)
    for col in fast.columns:
        for a, b in zip(fast[col], general[col]):
            assert same(a, b), (col, a, b)


def _random_expr(rng: random.Random, depth: int = 0) -> str:
    refs = ["B1", "B2", "B3", "B4", "B5", "B6", "x_in", "Data!A1"]
    if depth > 2 or rng.random() < 0.3:
        return rng.choice([*refs, "0", "1", "2.5", "-3", "0.125", "1.005"])
    a, b = _random_expr(rng, depth + 1), _random_expr(rng, depth + 1)
    return rng.choice([
        f"({a}+{b})", f"({a}-{b})", f"({a}*{b})", f"({a}/{b})", f"-({a})", f"({a})%",
        f"ROUND({a},{rng.randint(-1, 3)})", f"ROUNDUP({a},{rng.randint(0, 2)})", f"ROUNDDOWN({a},{rng.randint(0, 2)})",
        f"IF({a}>{b},{a},{b})", f"IF({a}={b},1,{b})", f"IFERROR({a}/{b},-1)", "SUM(B1:B6)", "AVERAGE(B1:B6)",
        "MAX(B1:B6)", "MIN(B1:B3)", f"ABS({a})", f"AND({a}>0,{b}<1)", f"OR({a}<0,{b}>=1)",
        f"KPI_WIN_RATE({a},{b})", f"_xludf.KPI_CONNECT_RATE({a},{b})", f"KPI_ACHIEVEMENT({a},{b})", f"KPI_GAP({a},{b})",
        f"MOD({a},{b})", f"INT({a})", f"IFERROR(KPI_CAC({a},{b},B6),0)", "COUNTIF(B1:B6,\">1\")", "COUNTA(B1:B6)",
    ])


@pytest.mark.parametrize("seed", range(20))
def test_random_workbooks_fast_equals_general(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    inputs = {f"B{i}": rng.choice([0, 1, 2, 0.5, -1, 3.25, 100, 0.105, None]) for i in range(1, 7)}
    calc = {f"C{i}": "=" + _random_expr(rng) for i in range(1, 16)}
    calc["D1"] = "=C1+C2"
    src = write_book(tmp_path / f"r{seed}.xlsx", {"Sheet1": {**inputs, **calc}, "Data": {"A1": rng.choice([2, 0.3])}},
                     {"x_in": "=Sheet1!$B$1", "out1": "=Sheet1!$C$1"})
    fast, general, out_fast, out_general = both_paths(src, tmp_path)
    assert fast["path"] == "fast" and general["path"] == "general"
    assert fast["error"] == general["error"]
    assert_same_workbooks(out_fast, out_general)


# --- write-back ----------------------------------------------------------------------------------


def test_write_back_keeps_everything_but_cached_values(tmp_path: Path) -> None:
    src = synthetic(tmp_path / "book.xlsx")
    before = src.read_bytes()
    out = tmp_path / "out"
    frame = recalc([src], out, report=False)
    assert src.read_bytes() == before, "the source is never modified"
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out / "book.xlsx") as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            if "worksheets/sheet" not in name:
                assert a.read(name) == b.read(name), name
        new = b.read("xl/worksheets/sheet2.xml").decode()
    assert '<c r="A4" t="str"><f>IFERROR(1/Inputs!B6,"none")</f><v>none</v></c>' in new
    assert '<c r="A9" t="e"><f>Inputs!B1/Inputs!B6</f><v>#DIV/0!</v></c>' in new
    assert '<c r="A12" t="b"><f>A1&gt;0.2</f><v>1</v></c>' in new
    formulas_before = openpyxl.load_workbook(src)["Calc シート"]["A1"].value
    assert openpyxl.load_workbook(out / "book.xlsx")["Calc シート"]["A1"].value == formulas_before
    read = pd.read_excel(out / "book.xlsx", sheet_name="Calc シート", header=None, engine="calamine")
    assert read.iloc[0, 0] == 0.25 and read.iloc[2, 0] == 1.01
    assert list(frame.columns[:3]) == ["file", "path", "error"]
    assert frame.loc[0, "connect_rate"] == 0.25 and frame.loc[0, "ratio"] == "#DIV/0!"
    assert not list(out.glob(".kpitree-*")), "no temporary files left"


def test_keyboard_interrupt_leaves_no_partial_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kpitree.recalculation.io import writeback

    src = synthetic(tmp_path / "book.xlsx")

    def interrupted(*args: object) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(writeback, "patch_sheet", interrupted)
    with pytest.raises(KeyboardInterrupt):
        process_files([str(src)], str(tmp_path / "out"))
    assert list((tmp_path / "out").iterdir()) == []


def test_recalc_file_for_the_demo(tmp_path: Path, template: Path) -> None:
    named = kpitree.recalc_file(template, tmp_path / "demo.xlsx")
    assert (tmp_path / "demo.xlsx").exists()
    assert named["plan_win_rate"] == pytest.approx(0.25)
    assert "achievement_calls" in named and isinstance(named["achievement_calls"], float)
    with pytest.raises(WorkbookError):
        bad = tmp_path / "bad.xlsx"
        bad.write_bytes(b"not a workbook")
        recalc_file(bad, tmp_path / "bad_out.xlsx")


# --- faults ---------------------------------------------------------------------------------------


def _encrypted_ole(path: Path) -> Path:
    """An OLE compound file shaped like Excel's password-protected workbooks ([MS-OFFCRYPTO])."""
    from kpitree.addin.cfb import build_compound_file

    path.write_bytes(build_compound_file({"EncryptionInfo": b"\x04\x00\x04\x00" + b"\0" * 60, "EncryptedPackage": b"\0" * 600}))
    return path


def _faulty_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    good = synthetic(tmp / "good.xlsx")
    files: dict[str, tuple[Path, str]] = {}
    (tmp / "text.xlsx").write_text("hello")
    files["not zip"] = (tmp / "text.xlsx", "not a zip")
    data = good.read_bytes()
    (tmp / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    files["truncated"] = (tmp / "truncated.xlsx", "zip")
    (tmp / "legacy.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000)
    files["xls"] = (tmp / "legacy.xls", ".xls")
    with zipfile.ZipFile(tmp / "calc.ods", "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<x/>")
    files["ods"] = (tmp / "calc.ods", "OpenDocument")
    files["encrypted"] = (_encrypted_ole(tmp / "secret.xlsx"), "password-protected")
    bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><sst>&lol2;</sst>'
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(tmp / "bomb.xlsx", "w") as zout:
        for item in zin.infolist():
            if item.filename != "xl/sharedStrings.xml":
                zout.writestr(item, zin.read(item.filename))
        zout.writestr("xl/sharedStrings.xml", bomb)
    files["entity bomb"] = (tmp / "bomb.xlsx", "entity")
    write_book(tmp / "circular.xlsx", {"S": {"A1": "=B1+1", "B1": "=C1*2", "C1": "=A1"}})
    files["circular"] = (tmp / "circular.xlsx", "circular reference: S!A1 -> S!B1 -> S!C1 -> S!A1")
    write_book(tmp / "nosheet.xlsx", {"S": {"A1": "=Missing!A1+1", "A2": "=A1*2"}})
    files["missing sheet"] = (tmp / "nosheet.xlsx", "#REF!: no sheet named 'Missing'")
    write_book(tmp / "noname.xlsx", {"S": {"A1": "=no_such_name*2", "A2": "=NOTAFUNCTION(1)"}})
    files["missing name"] = (tmp / "noname.xlsx", "#NAME?: no defined name")
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(tmp / "zipbomb.xlsx", "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item.filename, zin.read(item.filename))
        zout.writestr("xl/media/huge.bin", b"\0" * (40 * 2**20))
    files["zip bomb"] = (tmp / "zipbomb.xlsx", "past the limit")
    return files


def test_faults_each_give_one_row_and_the_batch_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _faulty_files(tmp_path)
    good = tmp_path / "good.xlsx"
    order = [good] + [p for p, _ in files.values()]
    frame = recalc(order, tmp_path / "out", limits=Limits(max_total_bytes=32 * 2**20), report=True)
    assert len(frame) == len(order)
    assert frame.loc[0, "error"] == "" and frame.loc[0, "path"] == "fast"
    by_file = dict(zip(frame["file"], frame["error"]))
    for label, (path, needle) in files.items():
        assert needle in by_file[str(path)], (label, by_file[str(path)])
    err = capsys.readouterr().err
    assert "circular reference" in err and "#NAME?" in err
    # files with #NAME?/#REF! are still written (values recalculated), unreadable ones are not
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"good.xlsx", "nosheet.xlsx", "noname.xlsx"} <= written
    assert not {"text.xlsx", "truncated.xlsx", "bomb.xlsx", "circular.xlsx", "zipbomb.xlsx"} & written


def test_missing_sheet_and_name_reported_on_both_paths(tmp_path: Path) -> None:
    src = write_book(tmp_path / "n.xlsx", {"S": {"A1": "=no_such_name*2", "A2": "=Missing!A1", "A3": "=SUM(B:B)"}},
                     {"dangling": "=Gone!$A$1"})
    fast = process_files([str(src)], None)[0]
    general = process_files([str(src)], None, force_general=True)[0]
    for row in (fast, general):
        assert "no defined name 'no_such_name'" in row["error"]
        assert "no sheet named 'Missing'" in row["error"]
        assert "defined name 'dangling' refers to a missing sheet 'Gone'" in row["error"]
    assert fast["path"] == "general"  # a whole-column reference reads each file's own cells: the workbook goes general
    assert fast["general_because"] == "SUM in S!A3: whole-column or whole-row reference B:B"  # the summary says why
    assert general["general_because"] == "asked for (general=True)"


def test_the_summary_names_the_function_and_cell_that_sent_files_to_the_general_path(tmp_path: Path) -> None:
    """Files mode: the ``general_because`` column (empty on the compiled path); scenario mode: the frame's attrs."""
    plain = write_book(tmp_path / "plain.xlsx", {"S": {"A1": 2, "A2": "=A1*3"}})
    whole = write_book(tmp_path / "whole.xlsx", {"Data": {"A1": 2}, "F": {"B2": "=1+MAX(0,COUNT(Data!A:A))"}},
                       {"x": "=Data!$A$1", "y": "=F!$B$2"})
    frame = recalc([plain, whole], tmp_path / "out", summary=tmp_path / "s.csv", report=False)
    why = dict(zip(frame["file"].map(lambda f: Path(f).name), frame["general_because"]))
    assert why == {"plain.xlsx": "", "whole.xlsx": "COUNT in F!B2: whole-column or whole-row reference Data!A:A"}
    assert list(frame.columns[:4]) == ["file", "path", "error", "general_because"]
    scenarios = recalc(whole, scenarios=pd.DataFrame({"x": [1, "a"]}), report=False)
    assert scenarios.attrs["path"] == "general" and list(scenarios["y"]) == [2.0, 1.0]
    assert scenarios.attrs["general_because"] == why["whole.xlsx"]


def test_unknown_scenario_column_is_an_error_before_running(template: Path, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no_such_input"):
        recalc(template, scenarios=pd.DataFrame({"plan_win_rate": [0.2], "no_such_input": [1]}))
    csv = tmp_path / "s.csv"
    pd.DataFrame({"achievement_calls": [1]}).to_csv(csv, index=False)
    assert cli_main(["recalc", str(template), "--scenarios", str(csv), "--summary", str(tmp_path / "o.csv")]) == 2
    assert not (tmp_path / "o.csv").exists()


# --- CLI, summary formats, executors ---------------------------------------------------------------


def test_cli_files_and_summary_formats(tmp_path: Path, template: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    synthetic(src / "a.xlsx")
    (src / "b.xlsx").write_bytes((template).read_bytes())
    assert cli_main(["recalc", str(src), "--out", str(tmp_path / "out"), "--summary", str(tmp_path / "s.csv"), "--jobs", "1"]) == 0
    summary = pd.read_csv(tmp_path / "s.csv")
    assert list(summary["path"]) == ["fast", "fast"]
    assert summary.loc[0, "connect_rate"] == 0.25
    for suffix in (".xlsx", ".parquet"):
        frame = recalc([src / "a.xlsx"], summary=tmp_path / f"s{suffix}", report=False)
        back = pd.read_excel(tmp_path / f"s{suffix}", engine="openpyxl") if suffix == ".xlsx" else pd.read_parquet(tmp_path / f"s{suffix}")
        assert list(back.columns) == list(frame.columns)
    (src / "bad.xlsx").write_text("x")
    assert cli_main(["recalc", str(src), "--out", str(tmp_path / "out2")]) == 1


def test_cli_scenarios(tmp_path: Path, template: Path) -> None:
    csv = tmp_path / "what_if.csv"
    pd.DataFrame({"plan_connect_rate": np.linspace(0.2, 0.3, 50)}).to_csv(csv, index=False)
    out = tmp_path / "out.csv"
    assert cli_main(["recalc", str(template), "--scenarios", str(csv), "--summary", str(out)]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 50 and "required_calls_month" in frame.columns
    assert frame["required_calls_month"].is_monotonic_decreasing  # more connects, fewer calls needed


def test_executors_give_the_same_summary(tmp_path: Path) -> None:
    for i in range(5):
        write_book(tmp_path / f"f{i}.xlsx", {"S": {"A1": i, "A2": "=A1*2", "A3": "=KPI_WIN_RATE(A1,4)"}},
                   {"double": "=S!$A$2", "rate": "=S!$A$3"})
    plain = recalc([tmp_path], tmp_path / "o1", report=False)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        pooled = recalc([tmp_path], tmp_path / "o2", executor=pool, report=False)
    pd.testing.assert_frame_equal(plain.drop(columns="file"), pooled.drop(columns="file"))
    assert list(plain["double"]) == [0, 2, 4, 6, 8]
    assert list(plain["rate"]) == [0, 0.25, 0.5, 0.75, 1.0]


def test_import_kpitree_stays_light() -> None:
    code = "import sys, kpitree; assert 'pandas' not in sys.modules and 'formulas' not in sys.modules; print(kpitree.recalc.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "kpitree.recalculation"


# --- LibreOffice reads what we wrote, and computes the same native formulas ---------------------------

import shutil  # noqa: E402

_LO_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
</oor:items>
"""


def _soffice_roundtrip(src: Path, tmp: Path, recalc_mode: int) -> Path:
    """``src`` opened and saved again by LibreOffice (recalc_mode 0 = always recalculate, 1 = never)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    profile = tmp / f"lo-profile-{recalc_mode}"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_LO_PROFILE.format(mode=recalc_mode))
    outdir = tmp / f"lo-out-{recalc_mode}"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--convert-to", "xlsx",
         "--outdir", str(outdir), str(src)],
        check=True, capture_output=True, timeout=180,
    )
    return outdir / src.name


@pytest.mark.libreoffice
def test_libreoffice_agrees_on_native_formulas_and_reads_cached_values(tmp_path: Path, template: Path) -> None:
    native = write_book(
        tmp_path / "native.xlsx",
        {"S": {"A1": 1.005, "A2": 0.285, "A3": 0, "A4": "team", "A5": 12.5,
               "B1": "=ROUND(A1,2)", "B2": "=ROUND(A2,2)", "B3": "=ROUNDUP(0.1+0.2,1)", "B4": '=IFERROR(A1/A3,"n/a")',
               "B5": "=SUM(A1:A5)", "B6": '=IF(A5>10,"big","small")&"!"', "B7": "=A1/A3", "B8": '=COUNTIF(A1:A5,">1")',
               "B9": "=INDEX(A1:A5,5)*2", "B10": "=ROUNDDOWN(-A5/3,1)", "B11": "=AND(A1>1,A5<20)", "B12": "=MOD(-7,3)",
               "B13": "=AVERAGE(A1:A5)", "B14": "=COUNTA(A1:A5)"}},
    )
    out = tmp_path / "out"
    frame = recalc([native, template], out, report=False)
    assert list(frame["path"]) == ["fast", "fast"]
    ours = values(out / "native.xlsx")
    lo = values(_soffice_roundtrip(out / "native.xlsx", tmp_path, recalc_mode=0))
    for k, v in ours.items():
        assert same(v, lo.get(k)), (k, v, lo.get(k))
    # with recalculation off, LibreOffice shows exactly the values we wrote (types included)
    ours_t = values(out / template.name)
    lo_t = values(_soffice_roundtrip(out / template.name, tmp_path, recalc_mode=1))
    diffs = [(k, v, lo_t.get(k)) for k, v in ours_t.items() if not same(v, lo_t.get(k))]
    # LibreOffice recalculates array (matrix) formulas on load whatever the setting, and it has
    # no KPI_* functions: those two blocks show #NAME? there (docs/recalc.md, known differences)
    from kpitree.recalculation.io.package import col_letters

    tpl = open_template(template)
    blocks = {(tpl.wb.sheets[si].name, f"{col_letters(c)}{r}") for anchor, cells in tpl.graph.spills.items()
              for (si, r, c) in [anchor] + [k for k, _, _ in cells]}
    assert all(k in blocks and v2 == "#NAME?" for k, _, v2 in diffs), diffs[:10]
    assert len(ours_t) > 500


def test_inputs_with_the_same_name_are_refused_before_anything_runs(tmp_path):
    from kpitree.recalculation.files import recalc_files

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        synthetic(tmp_path / folder / "team.xlsx")
    with pytest.raises(ValueError, match="same name would both be written"):
        recalc_files([tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("jobs", [1, 2, None])
def test_a_folder_without_workbooks_is_an_empty_summary_whatever_the_jobs(tmp_path: Path, jobs: int | None) -> None:
    from kpitree.recalculation import summary_table
    from kpitree.recalculation.files import chunk_size

    (tmp_path / "empty").mkdir()
    assert len(summary_table([tmp_path / "empty"], tmp_path / "out", jobs=jobs, report=False)) == 0
    assert [chunk_size(n, 2) for n in (0, 1, 20, 1024, 1025)] == [1, 1, 10, 512, 257]
