"""The UDF reference table of the README, generated from the function registry."""

from __future__ import annotations

import inspect

from .registry import ARG_DOCS, FUNCTIONS


def udf_reference_markdown() -> str:
    """One row per worksheet function: signature (optional arguments in brackets) and help."""
    rows = ["| function | what it returns | arguments |", "|---|---|---|"]
    for name, spec in sorted(FUNCTIONS.items()):
        params = spec.signature.parameters.values()
        shown = ", ".join(p.name if p.default is inspect.Parameter.empty else f"[{p.name}]" for p in params)
        args = "<br>".join(f"`{p.name}`: {ARG_DOCS[p.name]}" for p in params)
        rows.append(f"| `{name}({shown})` | {spec.description} | {args} |".replace("\n", " "))
    return "\n".join(rows)
