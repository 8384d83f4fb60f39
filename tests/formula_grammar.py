"""Generated workbooks for the differential tests: data of every type and formulas from a grammar.

A generated case is a workbook with data sheets (numbers, numeric-looking text, blanks,
booleans, errors, Japanese and apostrophe sheet names, workbook- and sheet-scoped names) and
a sheet ``F`` of formulas. Every formula is a tree of :class:`Expr`; row ``i`` of ``F`` holds
the formula in column A and each of its scalar sub-expressions in the columns after it, so a
difference between two engines can be blamed on the innermost call whose arguments agree
(see ``tests/test_differential.py``).

The grammar knows each function's argument sorts (number, text, condition, range, …) and, now
and then, passes a value of the wrong sort on purpose: coercion is where engines differ most.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter
from case_books import as_stored

# --- data -----------------------------------------------------------------------------------------

ODD_SHEETS = ("Bob's data", "月次 データ")
NUMBERS = (0, 1, -1, 2, 3, 7, 10, 0.5, -0.5, 2.5, -2.5, 1.5, 0.1, 0.2, 0.3, 1.005, 0.285, 1 / 3, 100, 12345.678, 1e15,
           123456789012345678, 1e-20, -1e20, 45000, 45657.75)
TEXTS = ("abc", "ABC", "Apple", "apple pie", "30", " 5 ", "1,234", "1,234.5", "(5)", "1_000", "2.5%", "TRUE", "", "a*c",
         "a?c", "~", "x y  z", "2026/4/1", "１２", "ｱｲｳ", "売上", "-3", "1e3", "inf", "nan")
BOOLS = (True, False)
ERROR_FORMULAS = ("=1/0", "=NA()", '=VALUE("x")')


def _data_value(rng: random.Random) -> object:
    """A value of a mixed column: number, text, boolean, blank (None) or an error formula."""
    pick = rng.random()
    if pick < 0.4:
        return rng.choice(NUMBERS)
    if pick < 0.65:
        return rng.choice(TEXTS)
    if pick < 0.75:
        return rng.choice(BOOLS)
    if pick < 0.9:
        return None
    return rng.choice(ERROR_FORMULAS)


@dataclass
class Data:
    """The data sheets: ``{sheet: {(row, col): value}}`` (1-based; a str starting with "=" is a formula)."""

    cells: dict[str, dict[tuple[int, int], object]]

    @classmethod
    def generate(cls, rng: random.Random) -> Data:
        data: dict[tuple[int, int], object] = {}
        ascending = sorted(rng.sample([-5, -1, 0, 1, 2, 2.5, 3, 5, 8, 10, 12.5, 20, 50, 100], 8))
        for r in range(1, 9):
            data[(r, 1)] = ascending[r - 1]                                  # A: ascending numbers
            data[(r, 2)] = _data_value(rng)                                  # B: anything
            data[(r, 3)] = rng.choice((*TEXTS[:12], "pear", "Pear", "plum"))  # C: text
            data[(r, 4)] = rng.choice((44927, 45000, 45292, 45382, 45657.75, 46022, 46113))  # D: dates
            data[(r, 5)] = rng.choice(NUMBERS[:12])                           # E, F: a numeric block
            data[(r, 6)] = rng.choice(NUMBERS[:12])
        odd = {(r, 1): _data_value(rng) for r in range(1, 5)}
        jp = {(r, 1): rng.choice(NUMBERS[:14]) for r in range(1, 5)}
        return cls({"Data": data, ODD_SHEETS[0]: odd, ODD_SHEETS[1]: jp})


    def variant(self, rng: random.Random) -> Data:
        """The same layout (formula cells stay) with other values of any type in the other cells."""
        def value(old: object) -> object:
            if isinstance(old, str) and old.startswith("="):
                return old
            new = _data_value(rng)
            return new if not (isinstance(new, str) and new.startswith("=")) else None

        return Data({sheet: {k: value(v) for k, v in cells.items()} for sheet, cells in self.cells.items()})


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


# ranges a formula may name, by sort
RANGES = {
    "nums": ("Data!$A$1:$A$8", "nums", "Data!A2:A6"),
    "mixed": ("Data!B1:B8", "mixed", f"{quote_sheet(ODD_SHEETS[0])}!A1:A4"),
    "texts": ("Data!C1:C8",),
    "dates": ("Data!D1:D8",),
    "block": ("Data!E1:F8", "Data!A1:C8"),
    "any_range": ("Data!A1:F8", "Data!B1:B8", f"{quote_sheet(ODD_SHEETS[1])}!A1:A4", "Data!A1:A8 Data!A3:B4"),
}
NAMES = {  # workbook-scoped
    "nums": "=Data!$A$1:$A$8",
    "mixed": "=Data!$B$1:$B$8",
    "rate": "=Data!$E$1",
}
SHEET_NAMES = {  # sheet-scoped: (sheet, name) -> target
    ("Data", "local"): "=Data!$A$2",
    (ODD_SHEETS[0], "local"): f"={quote_sheet(ODD_SHEETS[0])}!$A$1",
}


# --- expressions -------------------------------------------------------------------------------------


@dataclass
class Expr:
    """A formula (sub-)expression: its text, sort, the function it calls (or operator), its children."""

    text: str
    sort: str
    fn: str = ""
    children: list[Expr] = field(default_factory=list)

    def nodes(self) -> list[Expr]:
        """Every node, children before parents."""
        out: list[Expr] = []
        for c in self.children:
            out.extend(c.nodes())
        out.append(self)
        return out

    @property
    def scalar_call(self) -> bool:
        """A call or operation giving one value (one cell can hold it on its own)."""
        return bool(self.fn) and self.sort not in ("range", "array")


# (function, result sort, argument sorts, optional trailing arguments); "*" repeats the last sort 1-3 times
FUNCTIONS: list[tuple[str, str, tuple[str, ...], int]] = [
    ("ABS", "num", ("num",), 0), ("SIGN", "num", ("num",), 0), ("INT", "num", ("num",), 0),
    ("ROUND", "num", ("num", "digits"), 0), ("ROUNDUP", "num", ("num", "digits"), 0), ("ROUNDDOWN", "num", ("num", "digits"), 0),
    ("TRUNC", "num", ("num", "digits"), 1), ("MROUND", "num", ("num", "num"), 0), ("MOD", "num", ("num", "num"), 0),
    ("QUOTIENT", "num", ("num", "num"), 0), ("POWER", "num", ("num", "small"), 0), ("SQRT", "num", ("num",), 0),
    ("LN", "num", ("num",), 0), ("LOG10", "num", ("num",), 0), ("LOG", "num", ("num", "num"), 1), ("EXP", "num", ("small",), 0),
    ("CEILING", "num", ("num", "num"), 0), ("FLOOR", "num", ("num", "num"), 0),
    ("CEILING.MATH", "num", ("num", "num", "num"), 2), ("FLOOR.MATH", "num", ("num", "num", "num"), 2),
    ("SUM", "num", ("agg", "*"), 0), ("AVERAGE", "num", ("agg", "*"), 0), ("MIN", "num", ("agg", "*"), 0),
    ("MAX", "num", ("agg", "*"), 0), ("COUNT", "num", ("agg", "*"), 0), ("COUNTA", "num", ("agg", "*"), 0),
    ("PRODUCT", "num", ("agg", "*"), 0), ("MEDIAN", "num", ("agg", "*"), 0), ("STDEV", "num", ("agg", "*"), 0),
    ("VAR.P", "num", ("agg", "*"), 0), ("LARGE", "num", ("range", "small"), 0), ("SMALL", "num", ("range", "small"), 0),
    ("COUNTBLANK", "num", ("range",), 0), ("SUMPRODUCT", "num", ("vec8", "vec8"), 1),
    ("COUNTIF", "num", ("range", "crit"), 0), ("SUMIF", "num", ("vec8", "crit", "vec8"), 1),
    ("AVERAGEIF", "num", ("vec8", "crit", "vec8"), 1), ("COUNTIFS", "num", ("vec8", "crit", "vec8", "crit"), 2),
    ("SUMIFS", "num", ("vec8", "vec8", "crit"), 0), ("AVERAGEIFS", "num", ("vec8", "vec8", "crit"), 0),
    ("MAXIFS", "num", ("vec8", "vec8", "crit"), 0), ("MINIFS", "num", ("vec8", "vec8", "crit"), 0),
    ("MATCH", "num", ("any", "vec8", "exact"), 0), ("MATCH", "num", ("num", "sorted", "ascending"), 1),
    ("ROWS", "num", ("range",), 0), ("COLUMNS", "num", ("range",), 0),
    ("LEN", "num", ("text",), 0), ("FIND", "num", ("text", "text", "small"), 1), ("SEARCH", "num", ("text", "text", "small"), 1),
    ("VALUE", "num", ("text",), 0), ("CODE", "num", ("text",), 0), ("N", "num", ("any",), 0),
    ("DATE", "num", ("year", "small", "small"), 0), ("YEAR", "num", ("date",), 0), ("MONTH", "num", ("date",), 0),
    ("DAY", "num", ("date",), 0), ("WEEKDAY", "num", ("date", "weekday_type"), 1), ("WEEKNUM", "num", ("date", "weeknum_type"), 1),
    ("ISOWEEKNUM", "num", ("date",), 0), ("EOMONTH", "num", ("date", "small"), 0), ("EDATE", "num", ("date", "small"), 0),
    ("DAYS", "num", ("date", "date"), 0), ("DATEDIF", "num", ("date", "date", "datedif_unit"), 0),
    ("NETWORKDAYS", "num", ("date", "date", "dates"), 1), ("WORKDAY", "num", ("date", "small", "dates"), 1),
    ("NETWORKDAYS.INTL", "num", ("date", "date", "weekend"), 1), ("WORKDAY.INTL", "num", ("date", "small", "weekend"), 1),
    ("HOUR", "num", ("date",), 0), ("MINUTE", "num", ("date",), 0), ("TIME", "num", ("small", "small", "small"), 0),
    ("LEFT", "text", ("text", "small"), 1), ("RIGHT", "text", ("text", "small"), 1), ("MID", "text", ("text", "small", "small"), 0),
    ("UPPER", "text", ("text",), 0), ("LOWER", "text", ("text",), 0), ("PROPER", "text", ("text",), 0),
    ("TRIM", "text", ("text",), 0), ("SUBSTITUTE", "text", ("text", "text", "text", "small"), 1),
    ("REPLACE", "text", ("text", "small", "small", "text"), 0), ("REPT", "text", ("text", "small"), 0),
    ("CONCATENATE", "text", ("any", "any"), 0), ("CONCAT", "text", ("any", "*"), 0),
    ("TEXTJOIN", "text", ("text", "bool", "agg", "*"), 0),
    ("TEXT", "text", ("num", "number_format"), 0), ("TEXT", "text", ("date", "date_format"), 0),
    ("T", "text", ("any",), 0),
    ("CHAR", "text", ("char",), 0), ("NUMBERVALUE", "num", ("text",), 0),
    ("AND", "bool", ("bool", "*"), 0), ("OR", "bool", ("bool", "*"), 0), ("XOR", "bool", ("bool", "*"), 0),
    ("NOT", "bool", ("bool",), 0), ("EXACT", "bool", ("text", "text"), 0),
    ("ISNUMBER", "bool", ("any",), 0), ("ISTEXT", "bool", ("any",), 0), ("ISBLANK", "bool", ("any",), 0),
    ("ISERROR", "bool", ("anyerr",), 0), ("ISNA", "bool", ("anyerr",), 0), ("ISLOGICAL", "bool", ("any",), 0),
    ("ISNONTEXT", "bool", ("any",), 0), ("ISERR", "bool", ("anyerr",), 0),
    ("IF", "any", ("bool", "any", "any"), 1), ("IFERROR", "any", ("anyerr", "any"), 0), ("IFNA", "any", ("anyerr", "any"), 0),
    ("CHOOSE", "any", ("small", "any", "any", "any"), 1), ("INDEX", "any", ("block", "position", "position"), 0),
    ("VLOOKUP", "any", ("any", "table", "small", "exact"), 0), ("VLOOKUP", "any", ("num", "sorted_table", "small", "bool"), 1),
    ("HLOOKUP", "any", ("any", "htable", "small", "exact"), 0),
    ("IFS", "any", ("bool", "any", "bool", "any"), 0), ("SWITCH", "any", ("any", "any", "any", "any"), 1),
    ("ERROR.TYPE", "num", ("anyerr",), 0),
    ("ODD", "num", ("num",), 0), ("EVEN", "num", ("num",), 0),
    ("RANK.EQ", "num", ("num", "range", "bool"), 1), ("RANK", "num", ("num", "range", "bool"), 1),
    ("RANK.AVG", "num", ("num", "range", "bool"), 1),
    ("PERCENTILE.INC", "num", ("range", "unit"), 0), ("PERCENTILE", "num", ("range", "unit"), 0),
]
# functions LibreOffice 7.4 (Debian's) does not have: checked by fast vs general and Microsoft's examples only
NEWER_FUNCTIONS: list[tuple[str, str, tuple[str, ...], int]] = [
    ("XLOOKUP", "any", ("any", "vec8", "vec8", "any", "xmatch_mode"), 2), ("XMATCH", "num", ("any", "vec8", "xmatch_mode"), 1),
    ("SORT", "any", ("vec8",), 0), ("UNIQUE", "any", ("vec8",), 0), ("SEQUENCE", "num", ("small", "small"), 1),
    ("FILTER", "any", ("vec8", "vec8", "any"), 1), ("SORTBY", "any", ("vec8", "vec8"), 0),
]

LITERALS = {
    "num": ["0", "1", "-1", "2", "2.5", "-2.5", "0.5", "1.005", "0.1", "3", "7", "100", "1E+20", "1E-20", "0.285", "12345.678"],
    "small": ["0", "1", "2", "3", "-1", "1.5", "2.9", "5"],
    "digits": ["0", "1", "2", "-1", "3"],
    # INDEX positions: never 0, whose whole row or column would make a cell's value depend on where it is
    "position": ["1", "2", "3", "-1", "1.5", "2.9", "5"],
    "year": ["2024", "2026", "1900", "99", "2026.5"],
    "text": ['"abc"', '"30"', '" 5 "', '"1,234.5"', '"(5)"', '"1_000"', '"25%"', '""', '"a*c"', '"TRUE"', '"x  y "', '"売上"',
             '"１２"', '"2026/4/1"', '"Apple"'],
    "bool": ["TRUE", "FALSE"],
    "crit": ['">2"', '"<=2.5"', '"<>abc"', '"a*"', '"?pple"', '"~*"', '"="', '""', '"<>"', '"30"', "3", '">=1E+1"', '"apple*"',
             '"TRUE"', "TRUE", '"<2026/4/1"', '"*"', '"[a]*"', '"inf"'],
    "number_format": ['"0.00"', '"0%"', '"#,##0"', '"0.0E+00"', '"0;(0);""zero"""', '"@"', '"General"', '"00000"',
                      '"#,##0.0,"', '"$#,##0.00"', '"0.0#"'],
    "date_format": ['"yyyy/mm/dd"', '"mmm d, yyyy"', '"h:mm AM/PM"', '"dddd"', '"yyyy年m月d日"', '"hh:mm:ss"',
                    '"m/d/yy"', '"mmmm"'],
    "exact": ["0", "FALSE"],
    "ascending": ["1"],
    "xmatch_mode": ["0", "-1", "1", "2"],
    "weekday_type": ["1", "2", "3", "11", "17"],
    "weeknum_type": ["1", "2", "21", "11"],
    "datedif_unit": ['"d"', '"m"', '"y"', '"ym"', '"yd"'],  # "md": Microsoft warns it can be wrong
    "weekend": ["1", "2", "7", "11", "17", '"0000011"', '"1000001"'],
    "char": ["65", "97", "48", "32"],
    "unit": ["0", "0.25", "0.5", "0.9", "1", "-0.1", "1.5", "0.333"],  # PERCENTILE's k: 0 to 1, and past both ends
    "date": ["45000", "45382", "46113", "DATE(2026,4,1)", "DATE(2024,2,29)", "44927.5"],
    "anyerr": ["#N/A", "#DIV/0!", "#VALUE!", "NA()", "(1/0)"],
}


class Grammar:
    """Random formulas over the functions of ``functions`` (seeded, so a case can be replayed)."""

    def __init__(self, rng: random.Random, functions: list[tuple[str, str, tuple[str, ...], int]] = FUNCTIONS,
                 depth: int = 3) -> None:
        self.rng = rng
        self.functions = functions
        self.by_sort: dict[str, list[tuple[str, str, tuple[str, ...], int]]] = {}
        for f in functions:
            self.by_sort.setdefault(f[1], []).append(f)
        self.depth = depth

    def formula(self) -> Expr:
        return self.expr(self.rng.choice(["num", "num", "text", "bool", "any"]), 0)

    def expr(self, sort: str, depth: int) -> Expr:
        rng = self.rng
        if sort == "anyerr":
            sort = "anyerr" if rng.random() < 0.3 else "any"
        if sort in ("num", "text", "bool", "any") and rng.random() < 0.12:
            sort = rng.choice(["num", "text", "bool", "any"])  # the wrong sort on purpose
        if sort in ("range", "vec8", "block", "table", "htable", "dates", "agg", "sorted", "sorted_table"):
            return self.reference(sort, depth)
        leaf = depth >= self.depth or rng.random() < 0.3
        if sort in ("num", "text", "bool", "any") and not leaf:
            if rng.random() < 0.3:
                return self.operator(sort, depth)
            choices = self.by_sort.get(sort, []) + (self.by_sort.get("any", []) if rng.random() < 0.2 else [])
            if choices:
                return self.call(rng.choice(choices), depth)
        return self.leaf(sort)

    def leaf(self, sort: str) -> Expr:
        rng = self.rng
        if sort in ("num", "text", "bool", "any", "date") and rng.random() < 0.4:
            return self.cell()
        pool = LITERALS.get(sort) or LITERALS[rng.choice(["num", "text", "bool"])]
        if sort == "any":
            pool = pool + LITERALS["num"] + LITERALS["text"] + LITERALS["bool"]
        return Expr(rng.choice(pool), sort)

    def cell(self) -> Expr:
        rng = self.rng
        choice = rng.random()
        if choice < 0.08:
            # (a bare "local" on sheet F is #NAME?: a unit test checks it; here it would only hide other answers)
            return Expr(rng.choice(["rate", "Data!local", f"{quote_sheet(ODD_SHEETS[0])}!local"]), "ref")
        if choice < 0.2:
            sheet = rng.choice(ODD_SHEETS)
            return Expr(f"{quote_sheet(sheet)}!A{rng.randint(1, 5)}", "ref")
        col = rng.choice("ABBBCDE")
        return Expr(f"Data!{col}{rng.randint(1, 9)}", "ref")

    def reference(self, sort: str, depth: int) -> Expr:
        rng = self.rng
        if sort == "vec8":
            return Expr(rng.choice(["Data!A1:A8", "Data!B1:B8", "Data!C1:C8", "Data!E1:E8", "nums", "mixed"]), "range")
        if sort == "sorted":
            return Expr(rng.choice(["Data!A1:A8", "nums"]), "range")
        if sort == "sorted_table":
            return Expr(rng.choice(["Data!A1:C8", "Data!A1:F8"]), "range")
        if sort == "block":
            return Expr(rng.choice(["Data!E1:F8", "Data!A1:C8", "Data!A1:A8", "Data!B2:D2"]), "range")
        if sort == "table":
            return Expr(rng.choice(["Data!A1:C8", "Data!A1:F8", "Data!C1:E8"]), "range")
        if sort == "htable":
            return Expr(rng.choice(["Data!A1:F3", "Data!A2:D4"]), "range")
        if sort == "dates":
            return Expr(rng.choice(["Data!D1:D4", "Data!D1:D8"]), "range")
        if sort == "agg" and rng.random() < 0.5:
            return self.expr(rng.choice(["num", "num", "any"]), depth + 1)
        return Expr(rng.choice([r for rs in RANGES.values() for r in rs]), "range")

    def call(self, f: tuple[str, str, tuple[str, ...], int], depth: int) -> Expr:
        name, sort, params, optional = f
        rng = self.rng
        sorts = list(params)
        if "*" in sorts:
            i = sorts.index("*")
            sorts = sorts[:i] + [sorts[i - 1]] * rng.randint(0, 2) + sorts[i + 1:]
        keep = len(sorts) - rng.randint(0, optional)
        args = [self.expr(s, depth + 1) for s in sorts[:keep]]
        return Expr(f"{name}({','.join(a.text for a in args)})", sort, name, args)

    def operator(self, sort: str, depth: int) -> Expr:
        rng = self.rng
        if sort == "text":
            a, b = self.expr("any", depth + 1), self.expr("any", depth + 1)
            return Expr(f"({a.text}&{b.text})", "text", "&", [a, b])
        if sort == "bool":
            op = rng.choice(["=", "<>", "<", ">", "<=", ">="])
            a, b = self.expr("any", depth + 1), self.expr("any", depth + 1)
            return Expr(f"({a.text}{op}{b.text})", "bool", op, [a, b])
        op = rng.choice(["+", "-", "*", "/", "^", "neg", "%"])
        if op == "neg":
            a = self.expr("num", depth + 1)
            return Expr(f"-({a.text})", "num", "neg", [a])
        if op == "%":
            a = self.expr("num", depth + 1)
            return Expr(f"({a.text})%", "num", "%", [a])
        a, b = self.expr("num", depth + 1), self.expr("small" if op == "^" else "num", depth + 1)
        return Expr(f"({a.text}{op}{b.text})", "num", op, [a, b])


# --- workbooks -------------------------------------------------------------------------------------

@dataclass
class Case:
    """One generated workbook: its data and formulas (row i of F: the formula, then its sub-expressions)."""

    data: Data
    rows: list[list[Expr]]  # per row: [formula, sub-expressions…] (scalar calls only)
    seed: int

    @classmethod
    def generate(cls, seed: int, formulas: int = 60, functions: list[tuple[str, str, tuple[str, ...], int]] = FUNCTIONS) -> Case:
        rng = random.Random(seed)
        data = Data.generate(rng)
        grammar = Grammar(rng, functions)
        rows = []
        for _ in range(formulas):
            top = grammar.formula()
            subs = [n for n in top.nodes()[:-1] if n.scalar_call]
            rows.append([top, *subs])
        return cls(data, rows, seed)

    def write(self, path: Path, data: Data | None = None) -> Path:
        """The workbook (XlsxWriter, no cached values worth reading); ``data`` replaces the case's own."""
        wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
        sheets = {}
        for name, cells in (data or self.data).cells.items():
            ws = wb.add_worksheet(name)
            sheets[name] = ws
            for (r, c), value in cells.items():
                if value is None:
                    continue
                if isinstance(value, str) and value.startswith("="):
                    ws.write_formula(r - 1, c - 1, value)
                elif isinstance(value, bool):
                    ws.write_boolean(r - 1, c - 1, value)
                elif isinstance(value, str):
                    ws.write_string(r - 1, c - 1, value)
                else:
                    ws.write_number(r - 1, c - 1, value)
        f = wb.add_worksheet("F")
        for i, row in enumerate(self.rows):
            for j, expr in enumerate(row):
                f.write_formula(i, j, as_stored("=" + expr.text))
        for name, target in NAMES.items():
            wb.define_name(name, target)
        for (sheet, name), target in SHEET_NAMES.items():
            wb.define_name(f"'{sheet}'!{name}", target)  # XlsxWriter takes the sheet name unescaped here
        wb.close()
        return path
