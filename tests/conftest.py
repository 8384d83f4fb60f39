"""Shared fixtures: copies of the shipped templates; the dev tools (tools/) importable by the tests.

Shared test modules: tests/xlwings_standin.py (the recording xlwings stand-in) and
tests/formulas_oracle.py (the ``formulas`` package as an independent oracle).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from kpitree.workbook_templates import template_path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # readme_blocks, render_sheets, libreoffice: dev tools, not package code


@pytest.fixture(scope="session")
def template() -> Path:
    """The shipped ja template (read only: copy it with ``template_copy`` to change it)."""
    return template_path("ja")


@pytest.fixture
def template_copy(tmp_path: Path) -> Callable[..., Path]:
    """``template_copy("ja", "kpi.xlsx")``: a fresh copy of the shipped template in the test's folder."""

    def copy(lang: str = "ja", name: str | None = None) -> Path:
        path = tmp_path / (name or f"kpi_{lang}.xlsx")
        shutil.copyfile(template_path(lang), path)
        return path

    return copy
