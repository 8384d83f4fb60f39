"""The UDF reference table of the README, generated from the UDF module and catalogue."""

from __future__ import annotations

import inspect

from .excel_functions import ARG_DOCS, exported_functions


def udf_reference_markdown() -> str:
    """One row per worksheet function: signature (optional arguments in brackets) and help."""
    rows = ["| function | what it returns | arguments |", "|---|---|---|"]
    for name, fn in sorted(exported_functions().items()):
        params = inspect.signature(fn).parameters.values()
        shown = ", ".join(p.name if p.default is inspect.Parameter.empty else f"[{p.name}]" for p in params)
        args = "<br>".join(f"`{p.name}`: {ARG_DOCS[p.name]}" for p in params)
        rows.append(f"| `{name}({shown})` | {fn.__doc__} | {args} |".replace("\n", " "))
    return "\n".join(rows)
