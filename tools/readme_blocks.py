"""Regenerate the README's generated blocks: ``python tools/readme_blocks.py [--check]`` (a dev tool).

Each block sits between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers;
the test suite runs the check so the committed README never drifts from the code:
the worksheet-function table comes from the function registry, the named-cell table
from the template's spec (``kpitree template names`` prints the same table).
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def udf_reference_markdown() -> str:
    """One row per worksheet function: signature (optional arguments in brackets) and help."""
    from kpitree.udfs.registry import ARG_DOCS, FUNCTIONS

    rows = ["| function | what it returns | arguments |", "|---|---|---|"]
    for name, spec in sorted(FUNCTIONS.items()):
        params = spec.signature.parameters.values()
        shown = ", ".join(p.name if p.default is inspect.Parameter.empty else f"[{p.name}]" for p in params)
        args = "<br>".join(f"`{p.name}`: {ARG_DOCS[p.name]}" for p in params)
        rows.append(f"| `{name}({shown})` | {spec.description} | {args} |".replace("\n", " "))
    return "\n".join(rows)


def named_cells_markdown() -> str:
    from kpitree.workbook_templates.names import named_cells_markdown as table

    return table()


# block name -> the function returning its Markdown
BLOCKS: dict[str, Callable[[], str]] = {"udf-reference": udf_reference_markdown, "named-cells": named_cells_markdown}


def render(text: str) -> str:
    """``text`` with every generated block replaced by its current contents."""
    for name, generate in BLOCKS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README has no <!-- BEGIN {name} --> … <!-- END {name} --> block")
        body = generate()
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/readme_blocks.py", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is out of date, change nothing")
    parser.add_argument("--path", type=Path, default=README)
    args = parser.parse_args(argv)
    current = args.path.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{args.path} is out of date: run `python tools/readme_blocks.py`", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        args.path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
