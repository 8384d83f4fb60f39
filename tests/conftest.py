"""Shared fixtures: copies of the shipped templates, and the xlwings stand-in (tests/xlwings_standin.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest

from kpitree.workbook_templates import template_path


@pytest.fixture
def template_copy(tmp_path: Path) -> Callable[..., Path]:
    """``template_copy("ja", "kpi.xlsx")``: a fresh copy of the shipped template in the test's folder."""

    def copy(lang: str = "ja", name: str | None = None) -> Path:
        path = tmp_path / (name or f"kpi_{lang}.xlsx")
        shutil.copyfile(template_path(lang), path)
        return path

    return copy
