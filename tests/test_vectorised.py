"""The engine's bulk paths give what its one-value-at-a-time code gives.

Functions that must do Python work per element (formatting numbers, reading text, matching text) do it
for many input sets at once: numbers through numpy, texts once per distinct value. These tests hold
each bulk path to the scalar code it replaced, on values chosen to sit on Excel's rounding edges.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kpitree.recalculation.functions.number_format import format_numbers, format_value

FORMATS = ["0", "0.0", "0.00", "#,##0", "#,##0.00", "0%", "0.0%", "0.00%", "#.##", "?0.0?", "00000", "#,##0,",
           "#,##0,,\"M\"", "¥#,##0", "0.0;(0.0)", "0;-0;\"zero\"", "#,##0.00_);(#,##0.00)", "General", "0.00E+00",
           "[>100]\"big\";\"small\"", "yyyy-mm-dd", "0 \"calls\"", "#", "0.000%", "$#,##0.0"]
EDGES = [0.0, -0.0, 0.5, -0.5, 1.005, 2.675, 0.125, 0.285, -0.285, 1234.5, 999.995, 0.0005, 1e14, 123456789012.345,
         9.999999999999999e14, 1e15, 1e16, -1e20, 0.1 + 0.2, 1 / 3, 46113.0, 0.6825, 0.46349999999999997, 1e-7]


@pytest.mark.parametrize("code", FORMATS)
def test_formatting_many_numbers_equals_one_at_a_time(code: str) -> None:
    values = np.array(EDGES + [x * 1.37 for x in EDGES])
    assert format_numbers(values, code) == [format_value(float(v), code) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=-1e17, max_value=1e17, allow_nan=False), min_size=1, max_size=20),
       st.sampled_from(FORMATS))
def test_formatting_many_numbers_equals_one_at_a_time_anywhere(values: list[float], code: str) -> None:
    array = np.array(values)
    assert format_numbers(array, code) == [format_value(float(v), code) for v in array]


# --- whole formulas: many input sets at once equal each one alone -----------------------------------

BULK_FORMULAS = [
    '=TEXT(Data!A{r},"#,##0.00")&"|"&TEXT(Data!B{r},"0.0%")', '=Data!C{r}&Data!A{r}&Data!D{r}',
    '=MATCH(Data!C{r},Data!$C$1:$C$8,0)', '=VLOOKUP(Data!C{r},Data!$C$1:$D$8,2,FALSE)',
    '=XLOOKUP(Data!C{r},Data!$C$1:$C$8,Data!$A$1:$A$8,"none")', '=MATCH(Data!A{r},Data!$E$1:$E$8,1)',
    '=COUNTIF(Data!$C$1:$C$8,Data!C{r})', '=SUMIF(Data!$C$1:$C$8,"p*",Data!$A$1:$A$8)',
    '=COUNTIFS(Data!$C$1:$C$8,"<>"&Data!C{r},Data!$A$1:$A$8,">0")', '=Data!C{r}=Data!D{r}', '=Data!C{r}<Data!D{r}',
    '=IF(Data!D{r},1,2)', '=Data!D{r}+1', '=VALUE(Data!D{r})', '=UPPER(Data!C{r})&LEN(Data!D{r})',
    '=TEXTJOIN("/",TRUE,SORT(Data!$A$1:$A$8,1,-1))', '=SUM(FILTER(Data!$A$1:$A$8,Data!$A$1:$A$8>Data!A{r},0))',
    '=INDEX(SORT(Data!$A$1:$A$8),{r})', '=ROWS(UNIQUE(Data!$C$1:$C$8))', '=SEARCH("e",Data!C{r}&"e")',
    '=NETWORKDAYS(Data!E{r},Data!E{r}+Data!F{r},Data!$E$1:$E$3)', '=WORKDAY(Data!E{r},Data!F{r},Data!$E$1:$E$3)',
    '=INDEX(Data!$A$1:$A$8,MATCH(Data!C{r},Data!$C$1:$C$8,0))', '=IFERROR(INDEX(Data!$A$1:$D$8,Data!G{r}+1,Data!G{r}+1),"-")',
    '=SUMIFS(Data!$A$1:$A$8,Data!$C$1:$C$8,Data!C{r},Data!$F$1:$F$8,">"&Data!F{r})',
    '=AVERAGEIFS(Data!$A$1:$A$8,Data!$G$1:$G$8,Data!G{r})', '=MAXIFS(Data!$F$1:$F$8,Data!$C$1:$C$8,"<>"&Data!C{r})',
    '=SUMPRODUCT((Data!$G$1:$G$8=Data!G{r})*Data!$F$1:$F$8)', '=OFFSET(Data!$A$1,Data!G{r},1)',
    '=SUM(OFFSET(Data!$F$1,Data!G{r},0,Data!G{r}+1,1))', '=SUM(CHOOSE(Data!G{r}+1,Data!$A$1:$A$2,Data!$F$1:$F$8,Data!A{r},5))',
    '=ROWS(FILTER(Data!$F$1:$F$8,Data!$F$1:$F$8>Data!F{r}))', '=COUNTA(UNIQUE(Data!$G$1:$G$8))',
    '=TEXT(Data!E{r},"yyyy/mm/dd")&" "&TEXT(Data!F{r}/7,"0.0%")', '=EOMONTH(Data!E{r},Data!G{r})-EDATE(Data!E{r},1)',
    '=IFS(Data!G{r}=0,"a",Data!G{r}=1,Data!C{r},TRUE,Data!A{r})', '=SWITCH(Data!G{r},0,"zero",1,Data!D{r},"other")',
    '=XLOOKUP(Data!G{r},Data!$F$1:$F$8,Data!$C$1:$C$8,"none",-1)', '=HLOOKUP(Data!A{r},Data!$A$1:$F$2,2,TRUE)',
    '=LET(x,Data!F{r}*2,y,Data!G{r},IF(x>y,x-y,TEXTJOIN(",",FALSE,x,y)))',
]


SEEDS = [int(s) for s in os.environ.get("KPITREE_VECTORISED_SEEDS", "11,12,13,14").split(",")]
TEXTS = ["pear", "Pear", "plum", "apple", "1,234.5", "25%", " 5 ", "TRUE", "", "ｱｲｳ", "2026/4/1", "p*", "営業"]


def _write_book(path: Path, rng: Any) -> Path:
    """A workbook of the BULK_FORMULAS layout whose Data sheet is drawn from ``rng``: numbers on rounding
    edges, numeric text, text, booleans and blanks, dates, lookup keys that move between files."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    data = wb.add_worksheet("Data")
    for r in range(8):
        data.write_number(r, 0, rng.choice([0, 1, -2.5, 1234.5678, 0.125, 2.675, 1e6, 0.3, rng.uniform(-1e4, 1e4)]))
        data.write_number(r, 1, rng.choice([0.6825, 0.4635, 1.005, -0.5, 0, rng.random()]))
        data.write_string(r, 2, rng.choice(TEXTS))
        pick = rng.random()
        if pick < 0.3:
            data.write_string(r, 3, rng.choice(TEXTS))
        elif pick < 0.5:
            data.write_boolean(r, 3, rng.random() < 0.5)
        elif pick < 0.9:
            data.write_number(r, 3, rng.choice([0, 1, 7.5, rng.randint(-3, 9)]))
        data.write_number(r, 4, 46113 + 7 * r + rng.randint(0, 3))
        data.write_number(r, 5, rng.randint(0, 30))
        data.write_number(r, 6, rng.randint(0, 3))  # a position: OFFSET, CHOOSE, INDEX move by it
    f = wb.add_worksheet("F")
    for col, formula in enumerate(BULK_FORMULAS):
        for r in range(1, 9):
            f.write_dynamic_array_formula(r - 1, col, r - 1, col, formula.format(r=r))
    wb.close()
    return path


@pytest.mark.parametrize("seed", SEEDS)
def test_formulas_over_many_files_equal_each_file_alone(seed: int, tmp_path: Path) -> None:
    """Files of one layout whose data differ in type and value, computed together on the compiled path
    (never falling back to the general path), give each file what the compiled path gives it alone and
    what the general path gives it. ``KPITREE_VECTORISED_SEEDS=1,2,3`` runs other seeds."""
    import random

    from engine_values import _fast, ours_general, same
    from kpitree.recalculation.io.package import load

    rng = random.Random(seed)
    paths = [_write_book(tmp_path / f"book{i}.xlsx", rng) for i in range(12)]
    books = [load(p)[2] for p in paths]
    together = _fast(books)  # raises Unsupported if the compiled path declined: that would be a failure here
    for path, book, fast in zip(paths, books, together):
        for name, alone in (("compiled alone", _fast([book])[0]), ("general", ours_general(path))):
            diffs = {k: (fast.get(k), v) for k, v in alone.items() if not same(fast.get(k), v)}
            assert not diffs, f"seed {seed}, {path.name}, together vs {name}: {diffs}"


def test_positions_that_differ_between_files_stay_on_the_compiled_path(tmp_path: Path) -> None:
    """OFFSET moved by a value, a reference CHOOSE picks by a value, FILTER keeping more rows in some files:
    the files go on in groups that agree (never each file alone), with each file's own values."""
    import xlsxwriter
    from kpitree.recalculation.files import process_files

    paths = []
    for i in range(9):
        path = tmp_path / f"pos{i}.xlsx"
        wb = xlsxwriter.Workbook(str(path))
        data = wb.add_worksheet("Data")
        for r in range(6):
            data.write_number(r, 0, float(10 * (r + 1) + i))
        data.write_number(0, 1, float(i % 3))
        f = wb.add_worksheet("F")
        f.write_formula("A1", "=OFFSET(Data!A1,Data!B1,0)")
        f.write_formula("A2", "=SUM(OFFSET(Data!A1,0,0,Data!B1+1,1))")
        f.write_formula("A3", "=SUM(CHOOSE(Data!B1+1,Data!A1:A2,Data!A3:A4,Data!A5:A6))")
        f.write_dynamic_array_formula("A4:A4", "=ROWS(FILTER(Data!A1:A6,Data!A1:A6>Data!A1+10*Data!B1))")
        f.write_dynamic_array_formula("B1:B3", "=SORT(OFFSET(Data!A1,Data!B1,0,3,1),1,-1)")  # a block after a split
        wb.close()
        paths.append(str(path))
    rows = process_files(paths, None, dests=[str(tmp_path / f"out{i}.xlsx") for i in range(9)])
    assert [r["path"] for r in rows] == ["fast"] * 9 and not any(r["error"] for r in rows)
    from engine_values import ours_general, stored_values

    for i in range(9):
        expected = ours_general(Path(paths[i]))
        got = stored_values(tmp_path / f"out{i}.xlsx")
        k = i % 3
        assert got[("F", 1, 1)] == expected[("F", 1, 1)] == 10.0 * (k + 1) + i
        assert got[("F", 2, 1)] == sum(10.0 * (r + 1) + i for r in range(k + 1))
        assert got[("F", 3, 1)] == expected[("F", 3, 1)] == sum(10.0 * (r + 1) + i for r in (2 * k, 2 * k + 1))
        assert got[("F", 4, 1)] == expected[("F", 4, 1)] == 5.0 - k
        assert [got[("F", r, 2)] for r in (1, 2, 3)] == [expected[("F", r, 2)] for r in (1, 2, 3)] \
            == [10.0 * (k + r) + i for r in (3, 2, 1)]


# --- workdays in closed form equal walking the calendar day by day ----------------------------------


def _walk_count(start: int, end: int, weekend: tuple[bool, ...], holidays: set[int]) -> int:
    """NETWORKDAYS by looking at every day (weekday of serial s: (s - 1) mod 7, 0 = Sunday, as Excel numbers)."""
    lo, hi = min(start, end), max(start, end)
    n = sum(1 for d in range(lo, hi + 1) if not weekend[((d - 1) % 7 + 6) % 7] and d not in holidays)
    return n if end >= start else -n


def _walk_step(start: int, k: int, weekend: tuple[bool, ...], holidays: set[int]) -> int:
    """WORKDAY by walking day by day from ``start``."""
    day, left, step = start, abs(k), (1 if k > 0 else -1)
    while left:
        day += step
        if not weekend[((day - 1) % 7 + 6) % 7] and day not in holidays:
            left -= 1
    return day


WEEKENDS = st.lists(st.booleans(), min_size=7, max_size=7).filter(lambda w: not all(w)).map(tuple)


@settings(max_examples=300, deadline=None)
@given(WEEKENDS, st.sets(st.integers(40_000, 40_120), max_size=12),
       st.lists(st.tuples(st.integers(39_990, 40_130), st.integers(-60, 60)), min_size=1, max_size=12))
def test_workdays_in_closed_form_equal_walking_day_by_day(weekend: tuple[bool, ...], holidays: set[int],
                                                          cases: list[tuple[int, int]]) -> None:
    from kpitree.recalculation.functions.calendar import _WorkWeek

    week = _WorkWeek(weekend, np.array(sorted(holidays), dtype=np.int64))
    start = np.array([s for s, _ in cases], dtype=np.int64)
    k = np.array([k for _, k in cases], dtype=np.int64)
    lo, hi = np.minimum(start, start + k), np.maximum(start, start + k)
    assert week.count(lo, hi).tolist() == [abs(_walk_count(s, s + d, weekend, holidays)) for s, d in cases]
    assert week.step(start, k).tolist() == [_walk_step(s, d, weekend, holidays) for s, d in cases]


# --- comparisons: the shortcuts for single values and for numbers equal the type-class rule ---------


SINGLES = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([0.1 + 0.2, 0.3, 1e15, 1e15 + 1, 1 / 3, -0.0]),
                    st.text("aAbBｂ１1 ", max_size=3), st.booleans(), st.none(), st.sampled_from(["#DIV/0!", "#N/A"]))


def _val(values: list[Any]) -> Any:
    """A Val of the values ("#…" an error) over len(values) input sets."""
    from kpitree.recalculation.values import from_python
    from kpitree.udfs.excel_values import XlError

    return from_python([XlError.from_text(v) if isinstance(v, str) and v.startswith("#") else v for v in values])


@settings(max_examples=400, deadline=None)
@given(SINGLES, SINGLES)
def test_comparing_single_values_equals_the_general_rule(x: Any, y: Any) -> None:
    from kpitree.recalculation.values import compare, const
    from kpitree.udfs.excel_values import XlError

    one = [XlError.from_text(v) if isinstance(v, str) and v.startswith("#") else v for v in (x, y)]
    order, err = compare(const(one[0]), const(one[1]))
    # the same values as the first of two input sets whose second holds text: the general (type-class) path
    wide_order, wide_err = compare(_val([x, "z"]), _val([y, "z"]))
    assert (float(order), int(err)) == (float(wide_order[0]), int(wide_err[0])) or (
        np.isnan(float(order)) and np.isnan(float(wide_order[0])) and int(err) == int(wide_err[0]))


EDGE_NUMBERS = st.sampled_from([0.1 + 0.2, 0.3, 1e15, 1e15 + 1, 1 / 3, 0.333333333333333, -0.0, 0.0])
NUMBERS_BLANKS = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), EDGE_NUMBERS, st.none(), st.just("#N/A"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NUMBERS_BLANKS, NUMBERS_BLANKS), min_size=1, max_size=8))
def test_comparing_numbers_equals_the_general_rule(pairs: list[tuple[Any, Any]]) -> None:
    from kpitree.recalculation.values import compare

    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    order, err = compare(_val(xs), _val(ys))
    wide_order, wide_err = compare(_val([*xs, "z"]), _val([*ys, "z"]))
    np.testing.assert_array_equal(np.asarray(order), np.asarray(wide_order)[:-1])
    np.testing.assert_array_equal(np.asarray(err), np.asarray(wide_err)[:-1])


KIND_VALUES = {"number": st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just("#N/A")),
               "text": st.text("aAｂ1 ", max_size=3), "bool": st.booleans()}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(KIND_VALUES)), st.sampled_from(sorted(KIND_VALUES)), st.integers(1, 6), st.data())
def test_comparing_values_of_one_type_each_equals_the_general_rule(kind_a: str, kind_b: str, n: int, data: Any) -> None:
    from kpitree.recalculation.values import compare

    xs = data.draw(st.lists(KIND_VALUES[kind_a], min_size=n, max_size=n))
    ys = data.draw(st.lists(KIND_VALUES[kind_b], min_size=n, max_size=n))
    order, err = compare(_val(xs), _val(ys))
    wide_order, wide_err = compare(_val([*xs, None]), _val([*ys, 0.5]))  # a blank: no longer one type each
    np.testing.assert_array_equal(np.asarray(order), np.asarray(wide_order)[:-1])
    np.testing.assert_array_equal(np.asarray(err), np.asarray(wide_err)[:-1])
    single = _val(ys[:1])  # one value for every input set (x="")
    single = type(single)(single.num[0], single.err[0], single.typ[0], None if single.txt is None else single.txt[0])
    order, err = compare(_val(xs), single)
    wide_order, wide_err = compare(_val([*xs, None]), _val([ys[0]] * n + [0.5]))
    np.testing.assert_array_equal(np.broadcast_to(order, (n,)), np.asarray(wide_order)[:-1])
    np.testing.assert_array_equal(np.broadcast_to(err, (n,)), np.asarray(wide_err)[:-1])
