"""``KPI_*`` calls rewritten in Excel's own functions: the formula text of the portable copy.

Calls are found with kpitree's own formula lexer, in every spelling Excel writes (``KPI_X(``,
``_xludf.KPI_X(``, ``[n]!KPI_X(`` where external link ``n`` is the kpitree add-in); everything
around a call is kept character for character.

Each function's *native form* is declared once, next to it, in :mod:`kpitree.udfs.registry`
(``WorksheetFunction.native``: the result over the parameter names). This module generates
the rest from the argument kinds of the input policy (:mod:`kpitree.udfs.excel_values`), in
argument order, so that the leftmost bad argument wins::

    error value            -> that error        (it travels through ISTEXT(a)*(a<>""))
    TRUE/FALSE, text       -> #VALUE!            (blank and "" count as 0: N(a))
    outside the kind       -> #NUM!              (a count < 0, a rate outside 0-100 %)

then the native form with each argument's checked value, whose own errors (a zero
denominator) are Excel's. ``KPI_STAGE`` and ``KPI_STATUS`` pick their labels the same way.
The table functions (``KPI_STAGE_RECOMMEND``, ``KPI_BOTTLENECK``) and the series functions
need cells of their own: :mod:`.tables` lays them out and calls :func:`checked` from here.

An argument the formula spells as a constant is checked here, once; an argument that can
only be a number or an error (arithmetic, another ``KPI_*`` call) skips the text checks, which
keeps nested calls short. A result past Excel's limits (8,192 characters, 64 nested
functions) is refused with the cell named, never written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kpitree.recalculation.parser import FormulaSyntaxError, Lexer, Node, Token, parse
from kpitree.udfs.catalogue import LANGS, Lang
from kpitree.udfs.excel_values import Kind, XlError, check_domain, to_checked
from kpitree.udfs.registry import FUNCTIONS, WorksheetFunction
from kpitree.udfs.status import ON_TRACK_FROM, STATUS_KINDS, STATUS_LABELS, WATCH_FROM
from kpitree.udfs.texts import user_error

from kpitree.errors import UserError

FORMULA_LIMIT = 8192  # characters of a formula (Excel's specifications and limits)
NESTING_LIMIT = 64  # levels of nested functions
UDF_PREFIX = "_XLUDF."
TABLE_KINDS = ("stage_recommend", "bottleneck")
NEEDS_CELLS = ("series", *TABLE_KINDS)  # kinds whose native form needs cells of the lookup sheet
LANG = "lang"  # the argument kind of a ``lang`` argument
STAGE_MONTHS = "months"  # KPI_STAGE's months: a count, and text (even "") is #VALUE!
_ARITHMETIC = {"+", "-", "*", "/", "^", "u-", "u+", "%"}


class PortableError(UserError):
    """A formula that cannot be made portable; the message names the cell."""


@dataclass(frozen=True)
class Call:
    """One ``KPI_*`` call in a formula: which function, where (``start:end`` of the text), its arguments' texts."""

    function: WorksheetFunction
    start: int
    end: int
    args: tuple[str, ...]


def _tokens(text: str) -> list[Token]:
    try:
        return Lexer(text).run()
    except FormulaSyntaxError as exc:
        raise ValueError(f"cannot read formula ={text}: {exc}") from None


def kpi_name(tok: Token, is_addin: Callable[[int], bool]) -> str | None:
    """The registry name a function token calls, or None: ``_xludf.`` stripped; ``[n]!`` only for the kpitree add-in."""
    name = tok.text
    if tok.link is not None:
        if not is_addin(tok.link):
            return None
    elif name.startswith(UDF_PREFIX):
        name = name[len(UDF_PREFIX):]
    return name if name in FUNCTIONS else None


def find_calls(text: str, is_addin: Callable[[int], bool]) -> list[Call]:
    """The outermost ``KPI_*`` calls of ``text`` (a formula without its ``=``), left to right."""
    tokens = [t for t in _tokens(text) if t.kind != "ws"]
    calls: list[Call] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        name = kpi_name(tok, is_addin) if tok.kind == "func" else None
        if name is None:
            i += 1
            continue
        depth, braces, args, arg_start = 0, 0, [], None
        j = i + 1
        while j < len(tokens):
            t = tokens[j]
            if t.kind == "(":
                depth += 1
                if depth == 1:
                    arg_start = t.pos + 1
            elif t.kind == ")":
                depth -= 1
                if depth == 0:
                    args.append(text[arg_start:t.pos].strip())
                    break
            elif t.kind == "{":
                braces += 1
            elif t.kind == "}":
                braces -= 1
            elif t.kind == "," and depth == 1 and braces == 0:
                args.append(text[arg_start:t.pos].strip())
                arg_start = t.pos + 1
            j += 1
        else:
            raise ValueError(f"cannot read formula ={text}: {tok.text} has no closing parenthesis")
        if args == [""]:  # KPI_X(): no argument at all
            args = []
        calls.append(Call(FUNCTIONS[name], tok.pos, tokens[j].pos + 1, tuple(args)))
        i = j + 1
    return calls


# --- what an argument is ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    """An argument as the expansion sees it: its text, and its value when the formula spells a constant."""

    text: str
    kind: str  # "const" (value known), "number" (a number or an error), "value" (anything), "empty"
    value: Any = None


def classify(text: str, is_addin: Callable[[int], bool]) -> Arg:
    if text == "":
        return Arg(text, "empty")
    try:
        node = parse(text)
    except FormulaSyntaxError:
        return Arg(text, "value")
    constant = _constant(node)
    if constant is not _NOT_CONSTANT:
        return Arg(text, "const", constant)
    if node.kind == "op" and node.value in _ARITHMETIC:
        return Arg(text, "number")
    if node.kind == "fn":
        name = node.value[len(UDF_PREFIX):] if node.value.startswith(UDF_PREFIX) and node.link is None else node.value
        spec = FUNCTIONS.get(name)
        if spec is not None and spec.kind in ("scalar", "series") and (node.link is None or is_addin(node.link)):
            return Arg(text, "number")
    return Arg(text, "value")


_NOT_CONSTANT = object()


def _constant(node: Node) -> Any:
    if node.kind == "num":
        return float(node.value)
    if node.kind == "str":
        return node.value
    if node.kind == "bool":
        return bool(node.value)
    if node.kind == "err":
        return XlError.from_text(node.value) or XlError.VALUE
    if node.kind == "op" and node.value in ("u-", "u+") and node.args[0].kind == "num":
        return -float(node.args[0].value) if node.value == "u-" else float(node.args[0].value)
    return _NOT_CONSTANT


# --- the checks of the input policy, natively -----------------------------------------------------


def number_text(x: float) -> str:
    """A number as a formula constant, digits enough to read back the same double: 12, 0.25, 1E+20, (-5)."""
    text = repr(float(x)).upper()
    text = text[:-2] if text.endswith(".0") else text
    return f"({text})" if x < 0 else text


def _static(value: Any, kind: Kind | str) -> tuple[str | None, str]:
    """(the error a constant argument is, or None; the text of its checked value)."""
    if kind == STAGE_MONTHS and isinstance(value, str):
        err = XlError.from_text(value) or XlError.VALUE
        return err.text, ""
    if kind == Kind.FLAG:
        if isinstance(value, bool):
            return None, "1" if value else "0"
        values, codes = to_checked(value)
        if not codes and float(values) not in (0.0, 1.0):
            return XlError.VALUE.text, ""
    else:
        values, codes = to_checked(value)
    codes = check_domain(values, codes, Kind.COUNT if kind == STAGE_MONTHS else kind)  # type: ignore[arg-type]
    if codes:
        return XlError(int(codes)).text, ""
    return None, number_text(float(values))


def checked(arg: Arg, kind: Kind | str, rest: Callable[[str], str]) -> str:
    """``rest(value)`` once ``arg`` passed the input policy for ``kind``; else the error it gives.

    ``value`` is the argument's checked value as formula text (``N(a)``: blank and ``""`` are 0).
    """
    if arg.kind == "const":
        error, value = _static(arg.value, kind)
        return error if error is not None else rest(value)
    if arg.kind == "empty":  # an omitted argument in the middle is a blank cell: 0
        return rest("0")
    a = arg.text
    if arg.kind == "number":  # a number or an error: only the domain is checked (an error travels through it)
        value = f"({a})"
        domain = _domain(value, kind)
        if domain:
            return f"IF({domain},#NUM!,{rest(value)})"
        if kind == Kind.FLAG:
            return f"IF(OR({value}=0,{value}=1),{rest(value)},#VALUE!)"
        return f"IF(ISERROR({a}),{a},{rest(value)})"
    value = f"N({a})"
    if kind == Kind.FLAG:  # TRUE/FALSE, 1/0 and blank
        return f'IF(ISTEXT({a})*({a}<>""),#VALUE!,IF(OR({value}=0,{value}=1),{rest(value)},#VALUE!))'
    # an error value travels through ({a}<>""), or, for KPI_STAGE's months (where "" is text too), through N({a})<0
    text = f"ISLOGICAL({a})+ISTEXT({a})" if kind == STAGE_MONTHS else f'ISLOGICAL({a})+ISTEXT({a})*({a}<>"")'
    domain = _domain(value, Kind.COUNT if kind == STAGE_MONTHS else kind)
    inner = f"IF({domain},#NUM!,{rest(value)})" if domain else rest(value)
    return f"IF({text},#VALUE!,{inner})"


def _domain(value: str, kind: Kind | str) -> str:
    """The condition under which a checked value is outside its kind's domain ("" when any number will do)."""
    if kind in (Kind.COUNT, Kind.AMOUNT, Kind.RATIO):
        return f"{value}<0"
    if kind == Kind.RATE:
        return f"OR({value}<0,{value}>1)"
    return ""


def check_all(args: list[tuple[Arg, Kind | str]], body: Callable[[list[str]], str]) -> str:
    """``body(values)`` inside the checks of every argument, the leftmost checked first."""

    def step(i: int, values: list[str]) -> str:
        if i == len(args):
            return body(values)
        arg, kind = args[i]
        return checked(arg, kind, lambda v: step(i + 1, [*values, v]))

    return step(0, [])


def fill(native: str, names: tuple[str, ...], values: list[str]) -> str:
    """A native form with each parameter name replaced by its value's text (whole identifiers only)."""
    by_name = dict(zip(names, values))
    return re.sub(r"(?<![\w.])([A-Za-z_]\w*)(?![\w.(])", lambda m: by_name.get(m.group(1), m.group(1)), native)


# --- the lang argument ---------------------------------------------------------------------------


def lang_of(arg: Arg | None) -> Lang | Arg | None:
    """ja/en for a constant (or omitted) ``lang``; None for a constant that is neither (#VALUE!); the argument
    itself when the formula computes it (the choice is made in the sheet)."""
    if arg is None or arg.kind == "empty":
        return "ja"
    if arg.kind != "const":
        return arg
    value = arg.value
    if isinstance(value, XlError):
        return None
    code = "ja" if value == "" else str(value).strip().lower()
    return code if code in LANGS else None


def by_lang(lang: Lang | Arg | None, pick: Callable[[Lang], str]) -> str:
    """``pick(lang)``, #VALUE! for a bad constant, or the choice made in the sheet (as the UDF reads ``lang``)."""
    if lang is None:
        return "#VALUE!"
    if isinstance(lang, str):
        return pick(lang)
    a = lang.text
    return (f'IF(ISERROR({a}),#VALUE!,IF({a}="",{pick("ja")},IF(LOWER(TRIM({a}))="ja",{pick("ja")},'
            f'IF(LOWER(TRIM({a}))="en",{pick("en")},#VALUE!))))')


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# --- whole calls ---------------------------------------------------------------------------------


def arguments(call: Call, is_addin: Callable[[int], bool], expand: Callable[[str], str]) -> list[Arg]:
    """The call's arguments, each with its own ``KPI_*`` calls already expanded."""
    out = []
    for text in call.args:
        arg = classify(text, is_addin)
        out.append(arg if arg.kind in ("const", "empty") else Arg(expand(text), arg.kind))
    return out


def scalar(spec: WorksheetFunction, args: list[Arg]) -> str:
    """A scalar KPI function's native formula (its kinds and defaults are its kernel's)."""
    params = spec.formula.args
    if len(args) > len(params) or len(args) < sum(not p.optional for p in params):
        return "#VALUE!"  # as Excel answers a function called with the wrong number of arguments
    full = [*args, *(Arg(repr(p.default), "const", p.default) for p in params[len(args):])]
    names = tuple(p.name for p in params)
    return check_all([(a, p.kind) for a, p in zip(full, params)], lambda values: fill(spec.native, names, values))


def _labelled(native: str, names: tuple[str, ...], labels: Callable[[Lang], tuple[str, ...]],
              lang: Lang | Arg | None) -> Callable[[list[str]], str]:
    def body(values: list[str]) -> str:
        formula = fill(native, names, values)
        return re.sub(r"\{(\d+)\}", lambda m: by_lang(lang, lambda code: quoted(labels(code)[int(m.group(1))])), formula)

    return body


def status(spec: WorksheetFunction, args: list[Arg]) -> str:
    names = tuple(spec.parameters[:3])
    if not 1 <= len(args) <= 4:
        return "#VALUE!"
    defaults = [Arg("", "const", ON_TRACK_FROM), Arg("", "const", WATCH_FROM)]
    values = [a if a.kind != "empty" else d for a, d in zip(args[1:3], defaults)]
    values += defaults[len(values):]
    lang = lang_of(args[3] if len(args) > 3 else None)
    return check_all(list(zip([args[0], *values], STATUS_KINDS)),
                     _labelled(spec.native, names, lambda code: STATUS_LABELS[code], lang))


def stage(spec: WorksheetFunction, args: list[Arg]) -> str:
    from kpitree.udfs.catalogue import load_catalogue

    if not 1 <= len(args) <= 2:
        return "#VALUE!"
    lang = lang_of(args[1] if len(args) > 1 else None)
    labels = {code: tuple(s.label(code) for s in load_catalogue().stages) for code in LANGS}
    return check_all([(args[0], STAGE_MONTHS)], _labelled(spec.native, spec.parameters[:1], lambda code: labels[code], lang))


INLINE: dict[str, Callable[[WorksheetFunction, list[Arg]], str]] = {"scalar": scalar, "status": status, "stage": stage}


@dataclass
class Expander:
    """Rewrites formulas of one workbook. ``is_addin(n)``: whether external link n is the kpitree add-in;
    ``cells``: what lays out a call that needs cells of its own (series functions), given the call and
    its arguments, returning the formula text that stands for its result."""

    is_addin: Callable[[int], bool]
    cells: Callable[[Call, list[Arg]], str] | None = None
    where: str = ""  # the cell or name being rewritten, for messages
    counts: dict[str, int] | None = None  # calls rewritten, per function (nested ones too)

    def expand(self, text: str) -> str:
        """``text`` with every ``KPI_*`` call in Excel's own functions."""
        calls = find_calls(text, self.is_addin)
        out, pos = [], 0
        for call in calls:
            out.append(text[pos:call.start])
            out.append(self.call(call))
            pos = call.end
        out.append(text[pos:])
        return "".join(out)

    def count(self, call: Call) -> None:
        if self.counts is not None:
            self.counts[call.function.name] = self.counts.get(call.function.name, 0) + 1

    def call(self, call: Call) -> str:
        spec = call.function
        self.count(call)
        if spec.kind in TABLE_KINDS:
            raise error("share.table_inside", where=self.where, function=spec.name)
        args = arguments(call, self.is_addin, self.expand)
        if spec.kind == "series":
            if self.cells is None:
                raise error("share.cells_needed", where=self.where, function=spec.name)
            return self.cells(call, args)
        return "(" + INLINE[spec.kind](spec, args) + ")"

    def formula(self, text: str) -> str:
        """A whole formula rewritten, within Excel's limits."""
        new = self.expand(text)
        check_limits(new, self.where)
        return new


def check_limits(formula: str, where: str) -> None:
    if len(formula) + 1 > FORMULA_LIMIT:
        raise error("share.too_long", where=where, length=len(formula) + 1, limit=FORMULA_LIMIT)
    depth = nesting(formula)
    if depth > NESTING_LIMIT:
        raise error("share.too_deep", where=where, depth=depth, limit=NESTING_LIMIT)


def nesting(formula: str) -> int:
    """The deepest nesting of function calls in a formula."""
    deepest = 0
    stack: list[bool] = []  # per open parenthesis: whether it opens a function's arguments
    function_next = False
    for tok in _tokens(formula):
        if tok.kind == "ws":
            continue
        if tok.kind == "(":
            stack.append(function_next)
            deepest = max(deepest, sum(stack))
        elif tok.kind == ")" and stack:
            stack.pop()
        function_next = tok.kind == "func"
    return deepest


def error(key: str, **fields: object) -> PortableError:
    """A :class:`PortableError` saying ``key`` of texts.toml in both languages."""
    said = user_error(key, **fields)
    return PortableError(said.en, ja=said.ja)
