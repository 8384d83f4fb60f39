"""Unicode text as ASCII VBA source: string expressions built with ChrW().

The VBA writer stores module source in a single-byte code page and refuses any
character outside it, and Excel would show such characters as "?" on a machine
with another code page anyway. So every non-ASCII character of a label or a
function description is written as ``ChrW(n)`` (UTF-16 code units, so characters
beyond U+FFFF become two ChrW() of a surrogate pair, which is how VBA strings hold
them), and long texts are assigned in several statements to stay far below VBA's
1023-character line limit.
"""

from __future__ import annotations

import re

MAX_LINE = 700  # characters per generated statement; VBA allows 1023
_ASCII_RUN = 200  # characters per literal piece


def _pieces(text: str) -> list[str]:
    pieces: list[str] = []
    literal = ""
    for char in text:
        if " " <= char <= "~":
            literal += char
            if len(literal) >= _ASCII_RUN:
                pieces.append('"' + literal.replace('"', '""') + '"')
                literal = ""
            continue
        if literal:
            pieces.append('"' + literal.replace('"', '""') + '"')
            literal = ""
        data = char.encode("utf-16-le")
        for i in range(0, len(data), 2):
            pieces.append(f"ChrW({int.from_bytes(data[i:i + 2], 'little')})")
    if literal:
        pieces.append('"' + literal.replace('"', '""') + '"')
    return pieces or ['""']


def vba_string(text: str) -> str:
    """One ASCII VBA expression whose value is ``text`` (for short texts)."""
    return " & ".join(_pieces(text))


def assign(target: str, text: str, indent: str = "    ") -> list[str]:
    """VBA statements that leave ``text`` in ``target``, each line at most ~MAX_LINE chars."""
    lines: list[str] = []
    current: list[str] = []
    head = f"{target} = "
    for piece in _pieces(text):
        if current and len(indent) + len(head) + len(" & ".join(current)) + len(piece) + 3 > MAX_LINE:
            lines.append(indent + head + " & ".join(current))
            head = f"{target} = {target} & "
            current = []
        current.append(piece)
    lines.append(indent + head + " & ".join(current))
    return lines


_TOKEN = re.compile(r'\s*(?:"((?:[^"]|"")*)"|ChrW\((\d+)\))\s*(&|$)')


def evaluate(expression: str) -> str:
    """The value of an expression made by :func:`vba_string` (for tests and checks)."""
    units = bytearray()
    pos = 0
    while pos < len(expression):
        match = _TOKEN.match(expression, pos)
        if not match:
            raise ValueError(f"not a string expression at {expression[pos:pos + 30]!r}")
        if match.group(1) is not None:
            units += match.group(1).replace('""', '"').encode("utf-16-le")
        else:
            units += int(match.group(2)).to_bytes(2, "little")
        pos = match.end()
        if match.group(3) == "":
            break
    return units.decode("utf-16-le")
