"""Regenerate the README's generated blocks: ``python -m kpitree.readme [--check]``.

Each block sits between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers;
the test suite runs the check so the committed README never drifts from the code.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from pathlib import Path
from typing import Callable

# block name -> "module:function" returning the Markdown
BLOCKS = {
    "udf-reference": "kpitree.udfs.reference:udf_reference_markdown",
    "named-cells": "kpitree.workbook_templates.names:named_cells_markdown",
}

README = Path(__file__).resolve().parent.parent / "README.md"


def _generator(spec: str) -> Callable[[], str]:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def render(text: str) -> str:
    """``text`` with every generated block replaced by its current contents."""
    for name, spec in BLOCKS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README has no <!-- BEGIN {name} --> … <!-- END {name} --> block")
        body = _generator(spec)()
        text = pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kpitree.readme", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is out of date, change nothing")
    parser.add_argument("--path", type=Path, default=README)
    args = parser.parse_args(argv)
    current = args.path.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{args.path} is out of date: run `python -m kpitree.readme`", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        args.path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
