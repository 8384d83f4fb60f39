"""The shipped template: regenerated == committed, named-cell contract, cached values, formats, readers, LibreOffice."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import openpyxl
import pytest

os.environ.setdefault("TQDM_DISABLE", "1")

from formulas_peer import compute_values
from kpitree.workbook_templates import NAMED_INPUTS, NAMED_OUTPUTS, build_workbook, named_cells_markdown, template_path
from kpitree.workbook_templates.spec import SHEETS
from libreoffice import soffice

CONTRACT_KPIS = ("revenue_contribution", "ltv_cac", "forecast_accuracy", "opportunities", "conversion_rate", "sql_count",
                 "bant_rate", "handoff_win_rate", "calls", "connect_rate", "effective_contacts", "emails_sent",
                 "email_open_rate", "followup_rate")


@pytest.fixture(scope="module", params=["ja", "en"])
def built(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param) / "t.xlsx"
    build_workbook(path, request.param)
    return request.param, path


def _contents(path, data_only=False):
    wb = openpyxl.load_workbook(path, data_only=data_only)
    cells = {}
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if v is not None:
                    cells[(ws.title, c.coordinate)] = getattr(v, "text", v)
    names = {n: wb.defined_names[n].attr_text for n in wb.defined_names}
    return cells, names


def test_regenerated_equals_committed(built):
    lang, path = built
    assert _contents(path) == _contents(template_path(lang))
    fresh, _ = _contents(path, data_only=True)
    shipped, _ = _contents(template_path(lang), data_only=True)
    assert fresh == shipped


def test_named_cell_contract(built):
    _lang, path = built
    wb = openpyxl.load_workbook(path)
    for base in ("months_since_launch", "kgi_annual_revenue", "avg_deal_size", "plan_win_rate", "plan_conversion_rate",
                 "plan_connect_rate", "stage_label", "required_won_deals_month", "required_opportunities_month",
                 "required_calls_month"):
        assert base in wb.defined_names
    for kpi in CONTRACT_KPIS:
        for prefix in ("target", "actual", "achievement"):
            assert f"{prefix}_{kpi}" in wb.defined_names
    for name in wb.defined_names:
        assert wb.defined_names[name].localSheetId is None  # workbook-scoped only
    # computed rates are formulas over named raw inputs
    sheet, ref = next(iter(wb.defined_names["actual_conversion_rate"].destinations))
    assert wb[sheet][ref.replace("$", "")].value == '=IF(raw_leads>0,actual_opportunities/raw_leads,"")'
    for name in NAMED_INPUTS:
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        assert not str(wb[sheet][ref.replace("$", "")].value or "").startswith("="), name
    assert set(NAMED_OUTPUTS) >= {"stage_label", "required_calls_month"} | {f"achievement_{k}" for k in CONTRACT_KPIS}


def test_markdown_table_lists_every_name(built):
    _lang, path = built
    table = named_cells_markdown()
    wb = openpyxl.load_workbook(path)
    for name in wb.defined_names:
        if not name.startswith("_xlnm"):
            assert f"`{name}`" in table


def test_cached_values_are_the_engines(built):
    lang, path = built
    engine = compute_values(path)
    cached, _ = _contents(path, data_only=True)
    formulas_, _ = _contents(path)
    checked = 0
    for key, formula in formulas_.items():
        if isinstance(formula, str) and formula.startswith("="):
            value = engine.get(key)
            got = cached.get(key)
            if value in (None, ""):
                assert got in (None, "", 0), key
            elif isinstance(value, float):
                assert got == pytest.approx(value, rel=1e-12), key
            else:
                assert got == value, key
            assert not (isinstance(value, str) and value.startswith("#")), (key, value)
            checked += 1
    assert checked > 150
    # spills from the Python engines
    from kpitree.udfs.excel_functions import KPI_STAGE_RECOMMEND

    rec = KPI_STAGE_RECOMMEND(14, lang)
    s1 = SHEETS[lang][0]
    assert [cached[(s1, f"{c}27")] for c in "ABCD"] == rec[0]
    assert cached[(SHEETS[lang][3], "C43")] == ("商談品質の問題" if lang == "ja" else "Opportunity quality")


def test_udf_calls_stored_bare_and_spilling(built):
    import zipfile

    _lang, path = built
    with zipfile.ZipFile(path) as zf:
        s1 = zf.read("xl/worksheets/sheet1.xml").decode()
        assert "xl/metadata.xml" in zf.namelist()
    assert '<c r="A27" s="17" cm="1"' in s1 and 'ref="A27:D32">KPI_STAGE_RECOMMEND(' in s1
    assert "_xludf." not in s1 and "[1]!" not in s1
    calc = zipfile.ZipFile(path).read("xl/workbook.xml").decode()
    assert "fullCalcOnLoad" not in calc


def test_validation_formats_and_layout(built):
    lang, path = built
    wb = openpyxl.load_workbook(path)
    s1, s2, s3, s4 = (wb[t] for t in SHEETS[lang])
    dv = {str(r): d for d in s2.data_validations.dataValidation for r in d.sqref.ranges}
    assert dv["D28"].type == "decimal" and dv["D28"].operator in (None, "between") and dv["D28"].formula2 == "1"  # rate
    assert dv["C6"].operator == "greaterThanOrEqual" and dv["C6"].formula1 == "0"  # raw count
    assert s1["C7"].number_format == '"¥"#,##0' and s1["C9"].number_format == "0.0%"
    assert s1["C7"].fill.fgColor.rgb.endswith("FFF2CC") and s1["E52"].fill.fgColor.rgb.endswith("F2F2F2")
    assert s1["C7"].font.name == ("Yu Gothic" if lang == "ja" else "Calibri")
    for ws in (s1, s2, s3, s4):
        assert ws.freeze_panes == "A4"
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)
        assert ws["A2"].value  # the one-line "what to enter, what is computed"
    assert len(s4._charts) == 3
    assert len(list(s4.conditional_formatting)) >= 3


def test_every_formula_evaluates_without_name_errors(built):
    _lang, path = built
    engine = compute_values(path)
    assert not [k for k, v in engine.items() if v == "#NAME?"]


def test_openpyxl_and_pandas_read_without_warnings(built):
    import pandas as pd

    lang, path = built
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        openpyxl.load_workbook(path)
        openpyxl.load_workbook(path, data_only=True)
        frame = pd.read_excel(path, sheet_name=SHEETS[lang][3], header=None, engine="openpyxl")
    assert frame.iloc[9, 5] == pytest.approx(23_100_000 / 25_000_000)


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_recalculates_native_formulas_like_the_engine(built, tmp_path):
    from libreoffice import recalculated_copy

    lang, path = built
    lo = recalculated_copy(path, tmp_path)
    lo_values, _ = _contents(lo, data_only=True)
    formulas_, _ = _contents(path)
    with_udfs = compute_values(path)
    without = compute_values(path, with_udfs=False)
    compared = udf = 0
    for key, formula in formulas_.items():
        if not (isinstance(formula, str) and formula.startswith("=")):
            continue
        native = without.get(key)
        if native != with_udfs.get(key) or (isinstance(native, str) and native.startswith("#")):
            udf += 1  # depends on a KPI_ function: LibreOffice shows #NAME? there
            continue
        got = lo_values.get(key)
        if native in (None, ""):
            assert got in (None, ""), key
        elif isinstance(native, (int, float)):
            assert got == pytest.approx(native, rel=1e-9), (key, formula)
        else:
            assert got == native, (key, formula)
        compared += 1
    assert compared > 4 * udf and compared > 150
    # LibreOffice really recalculated: its KPI_STAGE is #NAME?, the cached one was the stage
    assert lo_values[(SHEETS[lang][0], "C24")] == "#NAME?"


def test_catalogue_facts_are_read_not_restated(monkeypatch):
    # change the catalogue's facts and the template follows: nothing in the spec or the dashboard restates them
    import dataclasses

    from kpitree.udfs import stage as stage_module
    from kpitree.udfs import texts as texts_module
    from kpitree.workbook_templates import dashboard, spec

    cat = spec.load_catalogue()
    guide = dataclasses.replace(cat.kpi("ltv_cac").benchmarks[0], low=2.5, ja="2.5以上", en="2.5 or more")
    kpis = tuple(dataclasses.replace(k, benchmarks=(guide,)) if k.id == "ltv_cac"
                 else dataclasses.replace(k, en="Dials", ja="コール数") if k.id == "calls"
                 else dataclasses.replace(k, en="Mean deal size") if k.id == "avg_deal_size" else k for k in cat.kpis)
    changed = dataclasses.replace(
        cat, kpis=kpis, _by_id={k.id: k for k in kpis},
        tiers=tuple(dataclasses.replace(t, min_count=t.min_count + 10, max_count=t.max_count + 20) for t in cat.tiers),
        stages=tuple(dataclasses.replace(s, from_months=s.from_months * 3) for s in cat.stages))
    for module in (spec, dashboard, stage_module, texts_module):  # texts: the stage rule in words
        monkeypatch.setattr(module, "load_catalogue", lambda: changed)
    for lang in ("ja", "en"):
        sheets = spec.sheet_cells(lang, None)
        texts = {c.value for c in sheets.cells if isinstance(c.value, str)}
        formulas = [c.formula for c in sheets.cells if c.formula]
        health = next(f for f in formulas if "actual_ltv_cac>=" in f)
        assert "actual_ltv_cac>=2.5," in health and "2.5" in health and "3.0" not in health
        assert any("2.5" in t and "LTV/CAC" in t for t in texts)
        stage = next(t for t in texts if t.startswith(("チームの段階", "Team stage")))
        assert "18" in stage and "36" in stage and "12" not in stage
        plan = dashboard.plan_dashboard(sheets.kpi_rows, lang)
        labels = {c.value for c in plan.cells if isinstance(c.value, str)}
        design = next(t for t in labels if t.startswith(("KPI設計チェック", "KPI-design check")))
        assert all(f"{t.min_count}" in design and f"{t.max_count}" in design for t in changed.tiers)
        assert "2〜3" not in design and "2–3" not in design
        assert ("コール数" if lang == "ja" else "Dials") in labels  # the calls volume
        assert ("コール数(月間)" if lang == "ja" else "Dials (month)") in labels  # the calls lever
        if lang == "en":
            assert "Mean deal size" in labels


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    return struct.unpack(">II", head[16:24])


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None or shutil.which("pdftoppm") is None,
                    reason="LibreOffice (soffice) or pdftoppm (poppler-utils) is not installed")
def test_render_writes_the_dashboard_picture(tmp_path):
    # exactly what `python tools/render_sheets.py` does, into a temporary folder
    tool = Path(__file__).resolve().parents[1] / "tools" / "render_sheets.py"
    done = subprocess.run([sys.executable, str(tool), "--lang", "ja", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "TQDM_DISABLE": "1"})
    assert done.returncode == 0, done.stderr
    written = [Path(line) for line in done.stdout.splitlines()]
    dashboard = tmp_path / "dashboard_ja.png"
    assert written[-1] == dashboard and all(p.is_file() for p in written)
    assert 50_000 < dashboard.stat().st_size < 5_000_000  # a full page of table and charts, not a blank page
    committed = Path(__file__).resolve().parents[1] / "docs" / "images" / "dashboard_ja.png"
    width, height = _png_size(dashboard)
    assert width > height  # the dashboard prints landscape on one page
    assert (width, height) == _png_size(committed)
    sheet1 = tmp_path / "sheet1_ja.png"  # the README's other picture: sheet 1, cut below its last line
    assert written[0] == sheet1 and _png_size(sheet1) == _png_size(committed.with_name("sheet1_ja.png"))
    assert _png_size(sheet1)[0] > _png_size(sheet1)[1]


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice (soffice) or pdftotext (poppler-utils) is not installed")
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_pictures_show_what_a_reader_without_the_add_in_sees(tmp_path, lang):
    """The docs' pictures print the portable copy as LibreOffice recalculates it, nothing deleted (the
    pictures once printed a copy with the KPI_* formulas cut out): no cell shows #NAME?, and the cells the
    KPI functions fill (the stage, its recommended KPIs, the bottleneck) show their values."""
    from libreoffice import to_pdf
    from render_sheets import portable

    copy = portable(template_path(lang), tmp_path / "copy.xlsx")
    pdf = to_pdf(copy, tmp_path, recalc=True)
    printed = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "#NAME?" not in printed and "#VALUE!" not in printed and "#N/A" not in printed
    wb = openpyxl.load_workbook(copy, data_only=True)  # the engine's values, cached in the copy
    for name in ("stage_label", "bottleneck"):
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        shown = wb[sheet][ref.replace("$", "").split(":")[0]].value
        assert isinstance(shown, str) and shown and shown in printed, name
