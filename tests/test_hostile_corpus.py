"""The hostile corpus (tests/hostile_corpus.py) as one batch with a good workbook: one row per file, nothing leaks (issue 10)."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from hostile_corpus import LEAK, assert_clean_output, build_corpus


def sources_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def read_summary(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("corpus") / "in"
    return folder, build_corpus(folder)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_whole_corpus_as_one_batch(cli, corpus: tuple[Path, dict], tmp_path: Path, jobs: str) -> None:
    folder, cases = corpus
    before = sources_digest(folder)
    out = tmp_path / "out"
    result = cli("recalc", str(folder), "--out", str(out), "--summary", str(tmp_path / "s.csv"), "--jobs", jobs)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    rows = {Path(r["file"]).name: r for r in read_summary(tmp_path / "s.csv")}
    assert sorted(rows) == sorted(before), "one summary row per file, no more, no less"

    good = rows["a00_good.xlsx"]
    assert good["error"] == "" and good["path"] == "fast"
    for name, case in cases.items():
        row = rows[name]
        if case.expect:
            assert case.expect in row["error"], f"{case.what}: {row['error']!r}"
            assert "\n" not in row["error"] and "Traceback" not in row["error"] and ".kpitree-" not in row["error"]
        else:
            assert row["error"] == "" and row["path"] == "fast", f"{case.what}: {row['error']!r}"

    # a UTF-16 sheet is legal XML: read as the same numbers the UTF-8 template gives
    same = {k: v for k, v in rows["c02_utf16_sheet.xlsx"].items() if k != "file"}
    assert same == {k: v for k, v in good.items() if k != "file"}
    # data is data: the named cell's text is quoted in the CSV summary, numbers stay numbers
    assert rows["e01_formula_text.xlsx"]["leak"] == "'" + LEAK and rows["e01_formula_text.xlsx"]["neg"] == "-3.5"

    written = sorted(p.name for p in out.iterdir())
    assert not [n for n in written if n.startswith(".")], "no temporary file left"
    for name in written:
        assert_clean_output(out / name)
    clean = {n for n, c in cases.items() if not c.expect} | {"a00_good.xlsx", "a14_missing_sheet.xlsx"}
    assert set(written) == clean, "a copy for every workbook that could be recalculated, none for the others"
    import openpyxl

    utf16 = openpyxl.load_workbook(out / "c02_utf16_sheet.xlsx", data_only=True)  # the copy opens as a workbook
    assert utf16.sheetnames == openpyxl.load_workbook(out / "a00_good.xlsx", data_only=True).sheetnames
    with zipfile.ZipFile(folder / "e02_macros.xlsm") as a, zipfile.ZipFile(out / "e02_macros.xlsm") as b:
        assert a.read("xl/vbaProject.bin") == b.read("xl/vbaProject.bin"), "macros kept byte for byte"
    assert sources_digest(folder) == before, "sources byte-identical"


def test_the_corpus_summary_as_xlsx_holds_text_not_formulas(cli, corpus: tuple[Path, dict], tmp_path: Path) -> None:
    folder, _ = corpus
    result = cli("recalc", str(folder), "--summary", str(tmp_path / "s.xlsx"), "--jobs", "1")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    with zipfile.ZipFile(tmp_path / "s.xlsx") as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet and b"<f " not in sheet
    import openpyxl

    ws = openpyxl.load_workbook(tmp_path / "s.xlsx").active
    header = [c.value for c in ws[1]]
    texts = [row[header.index("leak")] for row in ws.iter_rows(min_row=2) if row[header.index("leak")].value]
    assert [(c.value, c.data_type) for c in texts] == [(LEAK, "s")]
