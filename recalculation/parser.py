"""Excel formulas as trees: a tokenizer and a recursive-descent parser of the formula language.

The grammar is Excel's (ECMA-376 Part 1, §18.17 "Formulas"; precedence as Microsoft's
"Calculation operators and precedence in Excel" lists it)::

    comparison  := concat (("=" | "<>" | "<" | ">" | "<=" | ">=") concat)*
    concat      := additive ("&" additive)*
    additive    := term (("+" | "-") term)*
    term        := power (("*" | "/") power)*
    power       := percent ("^" percent)*          # left to right: 2^3^2 is 64
    percent     := unary "%"*
    unary       := ("-" | "+" | "@") unary | reference
    reference   := intersect ("," intersect)*      # union, only inside parentheses
    intersect   := range (" " range)*
    range       := postfix (":" postfix)*
    postfix     := primary "#"?                    # a spilled range: A1#
    primary     := number | text | TRUE | FALSE | error | array | "(" comparison ")"
                 | function "(" [args] ")" | reference-token

Negation binds tighter than ``^`` (``-2^2`` is 4) and ``%`` tighter than ``^``, as in Excel.
A reference token carries its sheet (``'Bob''s'!A1`` — quotes doubled inside a quoted
name), an external link (``[1]Sheet!A1``, ``[1]!KPI_STAGE``) or none; whole columns
(``A:A``) and rows (``1:3``) are references spanning the sheet. Names may be qualified
by a sheet (``Other!local``). Function names keep their prefixes (``_xlfn.``,
``_xludf.``) upper-cased; ``[1]!NAME(`` is a call of a function from external link 1 —
how Excel stores a call of an add-in's function.

Trees are :class:`Node` records; the graph and the compiler read nothing else.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_ROW, MAX_COL = 1_048_576, 16_384
ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!", "#CALC!",
          "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!")


class FormulaSyntaxError(ValueError):
    """A formula the parser cannot read; ``pos`` is where it stopped."""

    def __init__(self, message: str, pos: int):
        super().__init__(f"{message} at character {pos + 1}")
        self.pos = pos


RECURSION = 50_000  # Python frames for the deepest formula (Excel allows 8,192 characters: ~4,000 operands)


@contextlib.contextmanager
def deep_recursion() -> Iterator[None]:
    """Room for formulas nested as deeply as Excel allows, to read, compile and evaluate them (Python
    3.11 frames do not use the C stack)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, RECURSION))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


@dataclass(frozen=True)
class Node:
    """One node of a formula tree.

    ``kind``: ``num``, ``str``, ``bool``, ``err``, ``empty`` (an omitted argument), ``ref``
    (``ref`` = (sheet or None, r1, c1, r2, c2), 1-based, inclusive), ``name`` (``value`` the
    name, ``scope`` its sheet when written ``Sheet!name``), ``op`` (``value`` the operator:
    binary ``+ - * / ^ & = <> < > <= >= : , " "``, prefix ``u- u+ @``, postfix ``% #``), ``fn``
    (``value`` the upper-cased name), ``array`` (``value`` = (rows, cols), ``args`` row by row),
    ``unsupported`` (``value`` says what: a structured or 3-D reference, a reference into
    another workbook).
    """

    kind: str
    value: Any = None
    args: tuple[Node, ...] = ()
    ref: tuple[str | None, int, int, int, int] | None = None
    scope: str | None = None  # the sheet of a qualified name
    link: int | None = None  # the external link ([n]) a name or function comes from


# --- tokens ----------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)(?![\w.(])")
_COLS = re.compile(r"\$?([A-Za-z]{1,3}):\$?([A-Za-z]{1,3})(?![\w.(!])")
_ROWS = re.compile(r"\$?(\d+):\$?(\d+)(?![\w.(!])")
_NAME = re.compile(r"[^\W\d][\w.\\?]*|\\[\w.\\?]*", re.UNICODE)
_BARE_SHEET = re.compile(r"[^\W\d][\w.]*", re.UNICODE)
_LINK = re.compile(r"\[(\d+)\]")


def col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


@dataclass(frozen=True)
class Token:
    kind: str  # num str bool err ref name func op sep ws ( ) { } ; ,
    text: str
    pos: int
    ref: tuple[str | None, int, int, int, int] | None = None
    sheet: str | None = None
    link: int | None = None


class Lexer:
    """Excel formula text (without the leading ``=``) as tokens."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []

    def error(self, message: str) -> FormulaSyntaxError:
        return FormulaSyntaxError(message, self.pos)

    def run(self) -> list[Token]:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in " \t\r\n":
                start = self.pos
                while self.pos < len(text) and text[self.pos] in " \t\r\n":
                    self.pos += 1
                self.tokens.append(Token("ws", text[start:self.pos], start))
            elif ch == '"':
                self._string()
            elif ch == "#":
                self._error_or_spill()
            elif ch == "'" or ch == "[":
                self._prefixed_reference()
            elif ch.isdigit() or (ch == "." and self.pos + 1 < len(text) and text[self.pos + 1].isdigit()):
                self._number_or_rows()
            elif ch in "+-*/^&%@(){},;:":
                self.tokens.append(Token(ch if ch in "(){},;" else "op", ch, self.pos))
                self.pos += 1
            elif ch in "<>=":
                two = text[self.pos:self.pos + 2]
                op = two if two in ("<=", ">=", "<>") else ch
                self.tokens.append(Token("op", op, self.pos))
                self.pos += len(op)
            elif ch == "$" or ch.isalpha() or ch in "_\\":
                self._word()
            else:
                raise self.error(f"unexpected character {ch!r}")
        return self.tokens

    def _string(self) -> None:
        start = self.pos
        self.pos += 1
        out = []
        while True:
            end = self.text.find('"', self.pos)
            if end < 0:
                raise FormulaSyntaxError("text without its closing quote", start)
            out.append(self.text[self.pos:end])
            if self.text.startswith('""', end):
                out.append('"')
                self.pos = end + 2
                continue
            self.pos = end + 1
            break
        self.tokens.append(Token("str", "".join(out), start))

    def _error_or_spill(self) -> None:
        upper = self.text[self.pos:].upper()
        for err in ERRORS:
            if upper.startswith(err):
                self.tokens.append(Token("err", err, self.pos))
                self.pos += len(err)
                return
        prev = self.tokens[-1] if self.tokens else None
        if prev is not None and prev.kind in ("ref", "name", ")"):
            self.tokens.append(Token("op", "#", self.pos))
            self.pos += 1
            return
        raise self.error("unknown error value")

    def _number_or_rows(self) -> None:
        m = _ROWS.match(self.text, self.pos)
        if m and not self._continues_as_sheet(m.end()):
            r1, r2 = sorted((int(m.group(1)), int(m.group(2))))
            self.tokens.append(Token("ref", m.group(0), self.pos, ref=(None, r1, 1, r2, MAX_COL)))
            self.pos = m.end()
            return
        m = _NUMBER.match(self.text, self.pos)
        assert m is not None
        self.tokens.append(Token("num", m.group(0), self.pos))
        self.pos = m.end()

    def _continues_as_sheet(self, end: int) -> bool:
        return end < len(self.text) and self.text[end] == "!"

    def _prefixed_reference(self) -> None:
        """``'Sheet name'!…``, ``[1]Sheet!…``, ``[1]!name`` and ``'[1]Sheet'!…``."""
        start = self.pos
        link = None
        if self.text[self.pos] == "'":
            end = self.pos + 1
            parts = []
            while True:
                q = self.text.find("'", end)
                if q < 0:
                    raise FormulaSyntaxError("sheet name without its closing quote", start)
                parts.append(self.text[end:q])
                if self.text.startswith("''", q):
                    parts.append("'")
                    end = q + 2
                    continue
                end = q + 1
                break
            sheet = "".join(parts)
            m = _LINK.match(sheet)
            if m:  # '[1]Sheet name'!A1: a reference into another workbook
                link, sheet = int(m.group(1)), sheet[m.end():]
            if end >= len(self.text) or self.text[end] != "!":
                raise FormulaSyntaxError("a quoted sheet name must be followed by !", end)
            self.pos = end + 1
            self._after_sheet(sheet, link, start)
            return
        m = _LINK.match(self.text, self.pos)
        if not m:
            raise self.error("[ outside a reference")
        link = int(m.group(1))
        self.pos = m.end()
        if self.pos < len(self.text) and self.text[self.pos] == "!":  # [1]!name: a name of the linked book
            self.pos += 1
            self._word(link=link, sheet=None, start=start)
            return
        sm = _BARE_SHEET.match(self.text, self.pos)
        if not sm or not self._continues_as_sheet(sm.end()):
            raise self.error("[n] must be followed by ! or a sheet name")
        self.pos = sm.end() + 1
        self._after_sheet(sm.group(0), link, start)

    def _after_sheet(self, sheet: str, link: int | None, start: int) -> None:
        """What follows ``Sheet!``: a cell or range, whole columns or rows, or a name."""
        text = self.text
        for pattern, build in ((_COLS, self._cols_ref), (_ROWS, self._rows_ref), (_CELL, self._cell_ref)):
            m = pattern.match(text, self.pos)
            if m:
                ref = build(m, sheet)
                if ref is not None:
                    self.pos = m.end()
                    self.tokens.append(Token("ref", text[start:self.pos], start, ref=ref, sheet=sheet, link=link))
                    return
        if text.startswith("#REF!", self.pos):
            self.tokens.append(Token("err", "#REF!", start))
            self.pos += 5
            return
        self._word(link=link, sheet=sheet, start=start)

    @staticmethod
    def _cell_ref(m: re.Match[str], sheet: str | None) -> tuple[str | None, int, int, int, int] | None:
        col, row = col_number(m.group(1)), int(m.group(2))
        if not (1 <= col <= MAX_COL and 1 <= row <= MAX_ROW):
            return None
        return (sheet, row, col, row, col)

    @staticmethod
    def _cols_ref(m: re.Match[str], sheet: str | None) -> tuple[str | None, int, int, int, int] | None:
        c1, c2 = sorted((col_number(m.group(1)), col_number(m.group(2))))
        return None if c2 > MAX_COL else (sheet, 1, c1, MAX_ROW, c2)

    @staticmethod
    def _rows_ref(m: re.Match[str], sheet: str | None) -> tuple[str | None, int, int, int, int] | None:
        r1, r2 = sorted((int(m.group(1)), int(m.group(2))))
        return None if r2 > MAX_ROW or r1 < 1 else (sheet, r1, 1, r2, MAX_COL)

    def _word(self, link: int | None = None, sheet: str | None = None, start: int | None = None) -> None:
        """A cell or column/row reference, TRUE/FALSE, a function name, a sheet prefix or a defined name."""
        text = self.text
        begin = self.pos if start is None else start
        if sheet is None and link is None:
            m = _COLS.match(text, self.pos)
            if m and self._cols_ref(m, None) and not self._continues_as_sheet(m.end()):
                self.tokens.append(Token("ref", m.group(0), self.pos, ref=self._cols_ref(m, None)))
                self.pos = m.end()
                return
            m = _CELL.match(text, self.pos)
            if m and not self._continues_as_sheet(m.end()):
                ref = self._cell_ref(m, None)
                if ref is not None:
                    self.tokens.append(Token("ref", m.group(0), self.pos, ref=ref))
                    self.pos = m.end()
                    return
        m = _NAME.match(text, self.pos)
        if not m:
            raise self.error("a name or reference was expected")
        word = m.group(0)
        end = m.end()
        if sheet is None and link is None and self._continues_as_sheet(end):  # Sheet1!A1, Sheet1!name
            self.pos = end + 1
            self._after_sheet(word, None, begin)
            return
        self.pos = end
        if end < len(text) and text[end] == "(":
            self.tokens.append(Token("func", word.upper(), begin, sheet=sheet, link=link))
        elif sheet is None and link is None and word.upper() in ("TRUE", "FALSE"):
            self.tokens.append(Token("bool", word.upper(), begin))
        elif end < len(text) and text[end] == "[":  # Table1[Column]: a structured reference
            depth, i = 0, end
            while i < len(text):
                depth += {"[": 1, "]": -1}.get(text[i], 0)
                i += 1
                if depth == 0:
                    break
            self.tokens.append(Token("unsupported", text[begin:i], begin))
            self.pos = i
        else:
            self.tokens.append(Token("name", word, begin, sheet=sheet, link=link))


# --- the parser ----------------------------------------------------------------------------

_COMPARE = ("=", "<>", "<", ">", "<=", ">=")


class Parser:
    def __init__(self, tokens: list[Token], text: str):
        self.tokens = tokens
        self.text = text
        self.i = 0
        self.paren = 0  # depth of plain parentheses: there a comma is the union operator

    # -- helpers
    def _next(self, skip_ws: bool = True) -> int:
        i = self.i
        while skip_ws and i < len(self.tokens) and self.tokens[i].kind == "ws":
            i += 1
        return i

    def peek(self, skip_ws: bool = True) -> Token | None:
        i = self._next(skip_ws)
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self) -> Token:
        i = self._next()
        if i >= len(self.tokens):
            raise FormulaSyntaxError("the formula ends too early", len(self.text))
        self.i = i + 1
        return self.tokens[i]

    def at_op(self, *ops: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "op" and tok.text in ops

    def expect(self, kind: str) -> Token:
        tok = self.peek()
        if tok is None or tok.kind != kind:
            where = tok.pos if tok is not None else len(self.text)
            raise FormulaSyntaxError(f"{kind} expected", where)
        return self.take()

    # -- grammar
    def formula(self) -> Node:
        node = self.comparison()
        tok = self.peek()
        if tok is not None:
            raise FormulaSyntaxError(f"unexpected {tok.text!r}", tok.pos)
        return node

    def _left(self, ops: tuple[str, ...], operand: Any) -> Node:
        node = operand()
        while self.at_op(*ops):
            op = self.take().text
            node = Node("op", op, (node, operand()))
        return node

    def comparison(self) -> Node:
        return self._left(_COMPARE, self.concat)

    def concat(self) -> Node:
        return self._left(("&",), self.additive)

    def additive(self) -> Node:
        return self._left(("+", "-"), self.term)

    def term(self) -> Node:
        return self._left(("*", "/"), self.power)

    def power(self) -> Node:
        return self._left(("^",), self.percent)

    def percent(self) -> Node:
        node = self.unary()
        while self.at_op("%"):
            self.take()
            node = Node("op", "%", (node,))
        return node

    def unary(self) -> Node:
        if self.at_op("-", "+", "@"):
            op = self.take().text
            operand = self.unary()
            return Node("op", {"-": "u-", "+": "u+", "@": "@"}[op], (operand,))
        return self.union()

    def union(self) -> Node:
        node = self.intersect()
        while self.paren and (tok := self.peek()) is not None and tok.kind == ",":
            self.take()
            node = Node("op", ",", (node, self.intersect()))
        return node

    def intersect(self) -> Node:
        node = self.range_()
        while True:
            ws = self.peek(skip_ws=False)
            nxt = self.tokens[self.i + 1] if ws is not None and ws.kind == "ws" and self.i + 1 < len(self.tokens) else None
            if nxt is not None and _referential(node) and nxt.kind in ("ref", "name", "("):
                self.i += 1  # the space is the intersection operator
                node = Node("op", " ", (node, self.range_()))
            else:
                return node

    def range_(self) -> Node:
        node = self.postfix()
        while self.at_op(":"):
            self.take()
            right = self.postfix()
            node = _fold_range(node, right) or Node("op", ":", (node, right))
        return node

    def postfix(self) -> Node:
        node = self.primary()
        tok = self.peek(skip_ws=False)  # A1# is written without a space
        if tok is not None and tok.kind == "op" and tok.text == "#":
            self.take()
            node = Node("op", "#", (node,))
        return node

    def primary(self) -> Node:
        tok = self.take()
        kind = tok.kind
        if kind == "num":
            return Node("num", float(tok.text))
        if kind == "str":
            return Node("str", tok.text)
        if kind == "bool":
            return Node("bool", tok.text == "TRUE")
        if kind == "err":
            return Node("err", tok.text)
        if kind == "ref":
            if tok.link is not None:
                return Node("unsupported", f"reference into another workbook {tok.text}")
            return Node("ref", tok.text, ref=tok.ref)
        if kind == "name":
            return Node("name", tok.text, scope=tok.sheet, link=tok.link)
        if kind == "func":
            return self.call(tok)
        if kind == "(":
            self.paren += 1
            node = self.comparison()
            self.paren -= 1
            self.expect(")")
            return node
        if kind == "{":
            return self.array(tok)
        if kind == "unsupported":
            return Node("unsupported", f"structured reference {tok.text}")
        raise FormulaSyntaxError(f"unexpected {tok.text!r}", tok.pos)

    def call(self, tok: Token) -> Node:
        self.expect("(")
        saved, self.paren = self.paren, 0  # inside a call a comma separates arguments
        args: list[Node] = []
        if (nxt := self.peek()) is not None and nxt.kind == ")":
            self.take()
        else:
            while True:
                nxt = self.peek()
                if nxt is not None and nxt.kind in (",", ")"):
                    args.append(Node("empty"))
                else:
                    args.append(self.comparison())
                sep = self.take()
                if sep.kind == ")":
                    break
                if sep.kind != ",":
                    raise FormulaSyntaxError(f"unexpected {sep.text!r} in the arguments of {tok.text}", sep.pos)
                if (nxt := self.peek()) is not None and nxt.kind == ")":  # a trailing empty argument
                    args.append(Node("empty"))
                    self.take()
                    break
        self.paren = saved
        if tok.sheet is not None:
            return Node("unsupported", f"function {tok.text} of sheet {tok.sheet}")
        return Node("fn", tok.text, tuple(args), link=tok.link)

    def array(self, tok: Token) -> Node:
        rows: list[list[Node]] = [[]]
        while True:
            item = self.take()
            if item.kind == "}":
                break
            if item.kind == ",":
                continue
            if item.kind == ";":
                rows.append([])
                continue
            sign = 1.0
            if item.kind == "op" and item.text in ("-", "+"):
                sign = -1.0 if item.text == "-" else 1.0
                item = self.take()
            if item.kind == "num":
                rows[-1].append(Node("num", sign * float(item.text)))
            elif item.kind in ("str", "bool", "err") and sign == 1.0:
                rows[-1].append(self._constant(item))
            else:
                raise FormulaSyntaxError("an array constant holds numbers, texts, TRUE/FALSE or errors", item.pos)
        widths = {len(r) for r in rows}
        if len(widths) != 1 or 0 in widths:
            raise FormulaSyntaxError("the rows of an array constant must have the same length", tok.pos)
        return Node("array", (len(rows), len(rows[0])), tuple(n for r in rows for n in r))

    @staticmethod
    def _constant(tok: Token) -> Node:
        if tok.kind == "str":
            return Node("str", tok.text)
        if tok.kind == "bool":
            return Node("bool", tok.text == "TRUE")
        return Node("err", tok.text)


def _referential(node: Node) -> bool:
    return node.kind in ("ref", "name") or (node.kind == "op" and node.value in (":", " ", ",", "#")) or (
        node.kind == "fn" and node.value in ("INDEX", "OFFSET", "INDIRECT", "CHOOSE", "IF"))


def _fold_range(left: Node, right: Node) -> Node | None:
    """``A1:B2`` as one reference when both ends are single cells of one sheet."""
    if left.kind != "ref" or right.kind != "ref" or left.ref is None or right.ref is None:
        return None
    s1, r1, c1, r1b, c1b = left.ref
    s2, r2, c2, r2b, c2b = right.ref
    if (r1, c1) != (r1b, c1b) or (r2, c2) != (r2b, c2b) or (s2 is not None and s2 != s1):
        return None
    return Node("ref", f"{left.value}:{right.value}", ref=(s1, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> Node:
    """The tree of one formula (without its leading ``=``); :class:`FormulaSyntaxError` when unreadable."""
    tokens = Lexer(text).run()
    return Parser(tokens, text).formula()
