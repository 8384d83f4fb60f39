"""Differential tests: kpitree's two evaluation paths against each other, and against LibreOffice.

Workbooks come from a grammar (``tests/formula_grammar.py``): data of every type on sheets
with awkward names, formulas over the functions the engine claims, each sub-expression in a
cell of its own.

* **Fast and general agree.** The compiled path evaluates several files of one layout at
  once; the general path evaluates each file on its own. Every cell must be the same.
* **LibreOffice agrees, or the difference is a known LibreOffice deviation from Excel.**
  All generated workbooks are recalculated by one ``soffice`` call. A difference is blamed on
  the innermost call whose arguments the two engines computed alike; it must be an entry of
  ``tests/data/libreoffice_deviations.toml``, each citing what Microsoft documents Excel does.
  Anything else fails, with the formula, its arguments and a line to replay the case.

CI runs a fixed set of seeds and one that changes every day. More:
``KPITREE_DIFFERENTIAL_CASES=500 python -m pytest tests/test_differential.py`` (each case is
a workbook of 60 formulas); ``KPITREE_DIFFERENTIAL_SEED=123`` runs that seed alone.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from engine_values import Err, libreoffice_folder, ours_fast, ours_general, same
from formula_grammar import FUNCTIONS, NAMES, NEWER_FUNCTIONS, ODD_SHEETS, SHEET_NAMES, Case, Data, Expr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DEVIATIONS = Path(__file__).parent / "data" / "libreoffice_deviations.toml"
FORMULAS = 60


def _seeds() -> list[int]:
    if os.environ.get("KPITREE_DIFFERENTIAL_SEED"):
        return [int(os.environ["KPITREE_DIFFERENTIAL_SEED"])]
    count = int(os.environ.get("KPITREE_DIFFERENTIAL_CASES", "12"))
    today = int(dt.date.today().strftime("%Y%m%d"))  # a new seed every day, printed with any failure
    fixed = list(range(1, count))
    return [*fixed, today]


# --- fast and general ----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), variants=st.lists(st.integers(0, 2**31), min_size=2, max_size=4, unique=True))
def test_fast_and_general_agree(seed: int, variants: list[int], tmp_path_factory: pytest.TempPathFactory) -> None:
    """One layout, several files with different data: the compiled path over all of them at once gives
    each file what the general path gives it alone."""
    import random

    case = Case.generate(seed, 40, FUNCTIONS + NEWER_FUNCTIONS)  # LibreOffice 7.4 lacks the newer ones: here they are checked
    folder = tmp_path_factory.mktemp("layout")
    paths = [case.write(folder / f"v{i}.xlsx", case.data.variant(random.Random(v))) for i, v in enumerate(variants)]
    fast = ours_fast(paths)
    for path, columns in zip(paths, fast):
        general = ours_general(path)
        diffs = [(k, columns.get(k), general.get(k)) for k in general if not same(columns.get(k), general.get(k))]
        assert not diffs, f"seed {seed}, {path.name}: {diffs[:5]}"


# --- LibreOffice ------------------------------------------------------------------------------------


@dataclass
class Deviation:
    id: str
    functions: list[str]
    when: str
    ours: str
    libreoffice: str
    source: str
    excel: str
    libreoffice_does: str
    measured: str  # where Microsoft's page is silent: who measured Excel's answer


def load_deviations() -> list[Deviation]:
    table = tomllib.loads(DEVIATIONS.read_text(encoding="utf-8"))
    return [Deviation(d["id"], d.get("functions", ["*"]), d.get("when", ""), d.get("ours", "any"), d.get("libreoffice", "any"),
                      d["source"], d["excel"], d["libreoffice_does"], d.get("measured", "")) for d in table["deviation"]]


def kind_matches(pattern: str, value: Any) -> bool:
    """``pattern``: any, number, text, bool, error or an error's text (#NUM!); alternatives joined by "|"."""
    kind = ("error" if isinstance(value, Err) else "bool" if isinstance(value, bool) else "number" if isinstance(value, float)
            else "text")
    return any(p == "any" or p == kind or (isinstance(value, Err) and value.code == p) for p in pattern.split("|"))


NOT_CELL = object()  # an argument no cell of its own holds: a literal or a reference


@dataclass
class Blame:
    """The innermost disagreeing call: its expression, its arguments' values, both engines' answers."""

    case: Case
    row: int
    expr: Expr
    args: list[Any]  # per argument, kpitree's value where a cell holds it, else NOT_CELL
    ours: Any
    lo: Any

    def inputs(self) -> list[Any]:
        """Every value that reaches the call: computed arguments, literals, the cells its references read
        (a blank is None; an error formula in the data, its error)."""
        out: list[Any] = []
        for child, value in zip(self.expr.children, self.args):
            if value is not NOT_CELL:
                out.append(value)
            elif child.sort == "range" or child.sort == "ref":
                out.extend(DATA_ERRORS.get(v, v) if isinstance(v, str) else v for v in _cells(self.case.data, child.text))
            else:
                out.append(literal(child.text))
        return out

    def describe(self) -> str:
        args = ", ".join(c.text if v is NOT_CELL else f"{c.text} → {v!r}" for c, v in zip(self.expr.children, self.args))
        return (f"F{self.row}: {self.expr.text}\n    kpitree {self.ours!r}, LibreOffice {self.lo!r}; arguments: {args}\n"
                f"    values reaching it: {self.inputs()!r}\n    replay: KPITREE_DIFFERENTIAL_SEED={self.case.seed}")


DATA_ERRORS = {"=1/0": Err("#DIV/0!"), "=NA()": Err("#N/A"), '=VALUE("x")': Err("#VALUE!")}
_RANGE = re.compile(r"^(?:'((?:[^']|'')+)'|(\w+))!\$?([A-Z])\$?(\d+)(?::\$?([A-Z])\$?(\d+))?$")


def literal(text: str) -> Any:
    """The value of a literal argument."""
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    if text in ("TRUE", "FALSE"):
        return text == "TRUE"
    if text.startswith("#"):
        return Err(text)
    try:
        return float(text)
    except ValueError:
        return text


def _target(text: str) -> str | None:
    """A reference written as a range, a name or a sheet's name, as the range it stands for."""
    if _RANGE.match(text):
        return text
    if "!" in text:
        sheet, name = text.rsplit("!", 1)
        target = SHEET_NAMES.get((sheet.strip("'").replace("''", "'"), name))
    else:
        target = NAMES.get(text)
    return None if target is None else target.lstrip("=")


def _cells(data: Data, text: str) -> list[Any]:
    """The data cells a reference, a name or an intersection of two ranges names (both ranges' cells)."""
    out: list[Any] = []
    for part in re.findall(r"(?:'(?:[^']|'')*'|[^ '])+", text):
        target = _target(part)
        m = _RANGE.match(target) if target else None
        if m is None:
            continue
        sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
        c1, r1 = ord(m.group(3)) - 64, int(m.group(4))
        c2, r2 = (ord(m.group(5)) - 64, int(m.group(6))) if m.group(5) else (c1, r1)
        cells = data.cells.get(sheet, {})
        out.extend(cells.get((r, c)) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))
    return out


def _number(v: Any) -> float | None:
    """A value read as a number the plain way (a blank is 0, "-3" is -3), else None."""
    if isinstance(v, str):
        return float(v) if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", v.strip()) else None
    return None if isinstance(v, (bool, Err)) else 0.0 if v is None else float(v)


def _texts(b: Blame) -> list[str]:
    return [v for v in b.inputs() if isinstance(v, str)]


DATE_FUNCTIONS = {"DATE", "TIME", "EDATE", "EOMONTH", "WORKDAY", "WORKDAY.INTL", "DATEVALUE", "TODAY", "NOW"}
DATE_TEXT = re.compile(r"^\s*(\d{1,4}[/-]\d{1,2}([/-]\d{1,4})?|\d{1,4}年\d{1,2}月(\d{1,2}日)?)\s*$")
NUMBER_TEXT = re.compile(r"^\s*[-+(]?[$¥]?[0-9０-９][0-9０-９,.]*[%)]?\s*$")
def _rank_absent(b: Blame) -> bool:
    """RANK's number is not among the numbers of its reference (the order, when given, is the last input)."""
    values = b.inputs()
    cells = values[1:len(values) - (1 if len(b.expr.children) == 3 else 0)]
    x = _number(values[0]) if values else None
    numbers = [round(v, 12) for v in cells if isinstance(v, float)]
    return x is not None and round(x, 12) not in numbers


CONDITIONS: dict[str, Callable[[Blame], bool]] = {
    # a TRUE/FALSE reached the call: typed, computed, or in a cell it reads
    "boolean": lambda b: any(isinstance(v, bool) for v in b.inputs()),
    # a date serial before 1900-03-01 (a blank is 0) reached the call, or came out of it in LibreOffice
    "early_date": lambda b: any(x is not None and x < 61 for x in map(_number, [*b.inputs(), b.lo])),
    # date-like text ("2026/4/1", or a criterion "<2026/4/1") reached the call
    "date_text": lambda b: any(DATE_TEXT.match(t.lstrip("<>=")) for t in _texts(b)),
    # a serial past 9999-12-31 reached the call
    "late_date": lambda b: any(x is not None and x > 2958465 for x in map(_number, b.inputs())),
    # one engine says TRUE/FALSE where the other says 1/0
    "logical_or_number": lambda b: {type(b.ours), type(b.lo)} == {bool, float} and float(b.ours) == float(b.lo),
    # text other than "TRUE"/"FALSE" reached the call (as a logical argument, for the entries that use it)
    "text_as_logical": lambda b: any(t.upper() not in ("TRUE", "FALSE") for t in _texts(b)),
    # the text "TRUE" or "FALSE" reached the call
    "logical_text": lambda b: any(t.strip().upper() in ("TRUE", "FALSE") for t in _texts(b)),
    # text Excel reads as a number in a form LibreOffice does not: separators, currency, %, spaces,
    # parentheses, full-width digits ("1,234.5", " 5 ", "(5)", "１２")
    "number_text": lambda b: any(NUMBER_TEXT.match(t) and not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", t) for t in _texts(b)),
    # the empty text "" reached the call
    "empty_text": lambda b: "" in _texts(b),
    # kpitree's answer is an error one of the arguments already was
    "ours_is_argument_error": lambda b: isinstance(b.ours, Err) and b.ours in b.inputs(),
    # kpitree answered with the first error among the arguments, LibreOffice with another error
    "ours_is_first_argument_error": lambda b: isinstance(b.lo, Err) and b.ours == _first_problem(b),
    # a sheet-level name written without its sheet, from the formula sheet (which has none)
    "unqualified_sheet_name": lambda b: any(c.text == name for c in b.expr.children for (_, name) in SHEET_NAMES),
    # an argument is an error
    "error_argument": lambda b: any(isinstance(v, Err) for v in b.inputs()),
    # a character outside ASCII
    "non_ascii": lambda b: any(ord(ch) > 127 for t in _texts(b) for ch in t),
    # a number shown as text in scientific notation, or one that General shows in 16 to 20 digits
    "exponent": lambda b: (isinstance(b.ours, str) and bool(re.search(r"\d[Ee][+-]\d", b.ours))) or any(
        x is not None and (abs(x) >= 1e15 or 0 < abs(x) < 1e-4) for x in map(_number, b.inputs())),
    # a blank reached the call
    "blank": lambda b: any(v is None for v in b.inputs()),
    # MOD's answer is (all but) its divisor where LibreOffice snaps the quotient to a whole number and says 0
    "mod_near_divisor": lambda b: (isinstance(b.ours, float) and b.lo == 0.0 and (d := _number(b.inputs()[-1])) is not None
                                   and d != 0 and abs(b.ours - d) <= 1e-9 * abs(d)),
    # RANK of a number that is not in its list
    "rank_absent": _rank_absent,
    # a percentile's k (the last input) below 0 or above 1
    "k_outside_unit": lambda b: (k := _number(b.inputs()[-1])) is not None and not 0 <= k <= 1,
    # a blank or the empty text "" reached the call
    "blank_or_empty": lambda b: any(v is None or v == "" for v in b.inputs()),
    # a plain number typed as text among the arguments ("30")
    "typed_number_text": lambda b: any(isinstance(v, str) and _number(v) is not None for v in _direct_values(b)),
    # two texts that differ first at a character other than a letter or digit
    "punctuation_order": lambda b: len(_texts(b)) == 2 and _first_difference_is_punctuation(*_texts(b)),
    # an error-handling function whose answer follows Excel's rule for the error it was given (see _error_rule)
    "error_rule_holds": lambda b: _error_rule(b),
    # text that is not a number in any form reached the call
    "non_number_text": lambda b: any(not NUMBER_TEXT.match(t) for t in _texts(b)),
    # a number whose 16th significant digit settles its 15-digit rounding (…155 read as …15 or …16)
    "fifteen_digit_tie": lambda b: any(x is not None and len(re.sub(r"[^0-9]", "", repr(x).split("e")[0]).strip("0")) >= 16
                                       for x in map(_number, b.inputs())),
    # TRUNC / MROUND: kpitree's answer is Excel's rule worked out in decimal from the 15-digit inputs
    "rounding_rule_holds": lambda b: _rounding_rule(b),
    # the lookup value (the first argument) is a blank, or reads 0 (a function can hand on a blank cell, shown 0)
    "blank_lookup_value": lambda b: bool(b.inputs()) and (b.inputs()[0] is None or b.inputs()[0] == 0.0),
    # a date function's result (a date-formatted cell to LibreOffice) took part, and kpitree's number is no date
    "not_a_date_from_dates": lambda b: isinstance(b.ours, float) and not 0 <= b.ours < 2958466 and any(
        c.fn in DATE_FUNCTIONS for c in b.expr.children),
    # a row or column number 0: the whole column or row of the array
    "whole_row_or_column": lambda b: 0.0 in b.inputs()[-2:],
    # a blank reached SWITCH as the expression
    "blank_expression": lambda b: bool(b.inputs()) and b.inputs()[0] in (None, 0.0),
    # the criterion "*" (or one ending in it)
    "star_criterion": lambda b: any(t.endswith("*") and not t.endswith("~*") for t in _texts(b)),
    # a cell holding the empty text "" is read by the call (or is the formula's reference)
    "empty_text_cell": lambda b: "" in b.inputs() or (not b.expr.fn and b.ours == ""),
}


def _first_difference_is_punctuation(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    for x, y in zip(a, b):
        if x != y:
            return not (x.isalnum() and y.isalnum())
    return False


def _error_rule(b: Blame) -> bool:
    """kpitree's answer for an error-handling function is what Excel's rule gives for the argument values
    both engines agree on (LibreOffice may hold an internal error that it writes as #N/A or #VALUE!)."""
    values = b.inputs()
    if not values or not isinstance(values[0], Err):
        return False
    first, code = values[0], values[0].code
    rules = {"IFNA": lambda: values[1] if code == "#N/A" and len(values) > 1 else first,
             "IFERROR": lambda: values[1] if len(values) > 1 else first,
             "ISNA": lambda: code == "#N/A", "ISERR": lambda: code != "#N/A", "ISERROR": lambda: True,
             "T": lambda: first, "N": lambda: first,
             "ERROR.TYPE": lambda: float(["#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"].index(code) + 1)}
    rule = rules.get(b.expr.fn)
    return rule is not None and same(rule(), b.ours)


def _direct_values(b: Blame) -> list[Any]:
    """The values given directly as arguments (literals and results of calls), not read from references."""
    return [literal(c.text) if v is NOT_CELL else v for c, v in zip(b.expr.children, b.args)
            if not (v is NOT_CELL and c.sort in ("range", "ref"))]


NUMERIC = {"+", "-", "*", "/", "^", "%", "neg", "QUOTIENT", "MOD", "ROUND", "ROUNDUP", "ROUNDDOWN", "TRUNC", "MROUND",
           "CEILING", "FLOOR", "CEILING.MATH", "FLOOR.MATH", "POWER", "LOG", "LN", "LOG10", "SQRT", "EXP", "ABS", "SIGN", "INT"}
AGGREGATES = {"SUM", "AVERAGE", "MIN", "MAX", "PRODUCT", "MEDIAN", "STDEV", "VAR.P"}


def _first_problem(b: Blame) -> Err | None:
    """The error the leftmost troublesome argument gives: an error value, or #VALUE! for text that is no
    number where an operator wants one."""
    direct = _direct_values(b)
    for v in b.inputs():
        if isinstance(v, Err):
            return v
        wants_number = b.expr.fn in NUMERIC or (b.expr.fn in AGGREGATES and v in direct)
        if wants_number and isinstance(v, str) and _number(v) is None and not (NUMBER_TEXT.match(v) or DATE_TEXT.match(v)):
            return Err("#VALUE!")
    return None


def _rounding_rule(b: Blame) -> bool:
    from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

    values = [_number(v) for v in b.inputs()]
    if any(v is None for v in values) or not isinstance(b.ours, float):
        return False
    x = Decimal(format(values[0], ".15g"))
    if b.expr.fn == "TRUNC":
        digits = int(values[1]) if len(values) > 1 else 0
        expected = x.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN)
    elif b.expr.fn == "MROUND" and values[1]:
        m = Decimal(format(values[1], ".15g"))
        expected = (Decimal(format(float(x / m), ".15g")).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * m
    else:
        return False
    return same(float(expected), b.ours)


def explain(b: Blame, deviations: list[Deviation]) -> Deviation | None:
    for d in deviations:
        if d.functions != ["*"] and b.expr.fn not in d.functions:
            continue
        if not (kind_matches(d.ours, b.ours) and kind_matches(d.libreoffice, b.lo)):
            continue
        if all(CONDITIONS[c](b) for c in d.when.split() if c):
            return d
    return None


def _lo_normal(value: Any) -> Any:
    # LibreOffice stores a formula's empty-text result as an empty string cell, which openpyxl reads as None
    return "" if value is None else value


def blames(case: Case, ours: dict[Any, Any], lo: dict[Any, Any]) -> list[Blame]:
    """Per formula row, the innermost call on which the engines disagree while agreeing on its arguments."""
    out = []
    for i, row in enumerate(case.rows, start=1):
        values = {id(e): (ours.get(("F", i, j)), _lo_normal(lo.get(("F", i, j)))) for j, e in enumerate(row, start=1)}
        for e in row:  # children come before parents
            a, b = values[id(e)]
            if same(a, b):
                continue
            args = [values.get(id(c), (NOT_CELL, NOT_CELL)) for c in e.children]
            if all(same(x, y) for x, y in args if x is not NOT_CELL):
                out.append(Blame(case, i, e, [x for x, _ in args], a, b))
                break
    return out


SEEDS = _seeds()


@pytest.fixture(scope="module")
def libreoffice_results(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Case, dict[Any, Any], dict[Any, Any]]]:
    folder = tmp_path_factory.mktemp("differential")
    cases = [Case.generate(seed, FORMULAS) for seed in SEEDS]
    paths = [c.write(folder / f"case{c.seed}.xlsx") for c in cases]
    lo = libreoffice_folder(paths)
    return [(c, ours_general(p), v) for c, p, v in zip(cases, paths, lo)]


@pytest.mark.libreoffice
def test_libreoffice_agrees_or_deviates_as_documented(libreoffice_results: list[tuple[Case, dict[Any, Any], dict[Any, Any]]]
                                                      ) -> None:
    deviations = load_deviations()
    unexplained = []
    for case, ours, lo in libreoffice_results:
        for b in blames(case, ours, lo):
            if explain(b, deviations) is None:
                unexplained.append(b.describe())
    assert not unexplained, f"{len(unexplained)} differences that no known LibreOffice deviation explains:\n" + "\n".join(
        unexplained[:15])


def test_every_deviation_cites_microsoft() -> None:
    """Each known deviation says what Excel does and where Microsoft says so, and names conditions that exist."""
    for d in load_deviations():
        assert re.match(r"https://(support|learn)\.microsoft\.com/", d.source), d.id
        assert not d.measured or d.measured.startswith("https://github.com/"), d.id  # a published measurement
        assert d.excel and d.libreoffice_does, d.id
        assert all(c in CONDITIONS for c in d.when.split()), d.id


def test_blame_finds_the_innermost_disagreement() -> None:
    """The harness itself: a disagreement is pinned on the call whose arguments agree."""
    inner = Expr("SQRT(-1)", "num", "SQRT", [Expr("-1", "num")])
    outer = Expr("IFERROR(SQRT(-1),0)", "any", "IFERROR", [inner, Expr("0", "num")])
    case = Case(Data({"Data": {}, ODD_SHEETS[0]: {}, ODD_SHEETS[1]: {}}), [[outer, inner]], 0)
    found = blames(case, {("F", 1, 1): 0.0, ("F", 1, 2): Err("#NUM!")}, {("F", 1, 1): 0.0, ("F", 1, 2): Err("#VALUE!")})
    assert [(b.expr.fn, b.ours, b.lo) for b in found] == [("SQRT", Err("#NUM!"), Err("#VALUE!"))]
    deviation = explain(found[0], load_deviations())
    assert deviation is not None and deviation.id == "sqrt-of-negative"
