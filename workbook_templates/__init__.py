"""The 4-sheet KPI template workbook (ja / en), its named-cell API, ``kpitree new`` and the dashboard rebuild.

Public API::

    build_workbook(path, lang="ja", inputs=None)   # write the template (sample data by default)
    sample_inputs(lang)                            # the shipped sample team's inputs, by defined name
    template_path(lang)                            # the packaged inside_sales_kpi_<lang>.xlsx
    NAMED_INPUTS, NAMED_OUTPUTS, NAMED_CELLS       # the named-cell contract, as data
    named_cells_markdown()                         # the contract as a Markdown table (README)
    new_workbook(out, ...)                         # ``kpitree new``
    rebuild_dashboard(path, out=None)              # ``kpitree dashboard`` (file mode)
    plan_dashboard(kpi_rows, lang, settings)       # the pure plan the writers apply
"""

from __future__ import annotations

import importlib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpitree.udfs.catalogue import Lang

    from .dashboard import DashboardPlan
    from .names import NAMED_CELLS, NAMED_INPUTS, NAMED_OUTPUTS, named_cells_markdown
    from .spec import sample_inputs

# loaded on first use (PEP 562): ``kpitree --help`` imports this package's commands, not the template's plan
_WHERE = {"NAMED_CELLS": "names", "NAMED_INPUTS": "names", "NAMED_OUTPUTS": "names", "named_cells_markdown": "names",
          "sample_inputs": "spec"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

TEMPLATE_FILES = {"ja": "inside_sales_kpi_ja.xlsx", "en": "inside_sales_kpi_en.xlsx"}

__all__ = [
    "NAMED_CELLS", "NAMED_INPUTS", "NAMED_OUTPUTS", "TEMPLATE_FILES", "build_workbook", "named_cells_markdown",
    "new_workbook", "plan_dashboard", "rebuild_dashboard", "sample_inputs", "template_path",
]


def template_path(lang: str = "ja") -> Path:
    """The packaged template file for ``lang``."""
    return Path(str(resources.files(__package__).joinpath(TEMPLATE_FILES[lang])))


def build_workbook(path: Any, lang: Lang = "ja", inputs: dict[str, Any] | None = None, **kwargs: Any) -> Path:
    from .builder import build_workbook as build

    return build(path, lang, inputs, **kwargs)


def new_workbook(out: Any, **kwargs: Any) -> Path:
    from .new import new_workbook as new

    return new(out, **kwargs)


def rebuild_dashboard(path: Any, out: Any = None) -> Path:
    from .dashboard_openpyxl import rebuild_dashboard as rebuild

    return rebuild(path, out)


def plan_dashboard(*args: Any, **kwargs: Any) -> DashboardPlan:
    from .dashboard import plan_dashboard as plan

    return plan(*args, **kwargs)
