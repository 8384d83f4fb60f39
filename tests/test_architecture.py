"""The parts import downwards only (docs/architecture.md), and the light parts stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-dir"]

# part -> the parts (besides itself) it may import; kpitree.cli and kpitree.demo may import anything
MAY_IMPORT = {
    "kpitree.errors": set(),
    "kpitree.udfs": {"kpitree.errors"},
    "kpitree.recalculation": {"kpitree.udfs", "kpitree.errors"},
    "kpitree.workbook_templates": {"kpitree.recalculation", "kpitree.udfs", "kpitree.errors"},
    "kpitree.team": {"kpitree.workbook_templates", "kpitree.recalculation", "kpitree.udfs", "kpitree.errors", "kpitree"},
    "kpitree.portable": {"kpitree.recalculation", "kpitree.udfs", "kpitree.errors"},
    "kpitree.addin": {"kpitree.team", "kpitree.portable", "kpitree.workbook_templates", "kpitree.recalculation", "kpitree.udfs",
                      "kpitree.errors", "kpitree"},
}
PARTS = ("kpitree.udfs", "kpitree.recalculation", "kpitree.workbook_templates", "kpitree.team", "kpitree.portable", "kpitree.addin",
         "kpitree.errors", "kpitree.cli_support", "kpitree.cli", "kpitree.demo")


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name, from the package-dir table."""
    out: dict[str, Path] = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in (ROOT / folder).glob("*.py"):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            out[name] = path
    return out


def imported(name: str, path: Path) -> set[str]:
    """Every kpitree module ``name`` imports, at the top or inside a function, relative imports resolved.

    ``from kpitree.x import y`` counts ``kpitree.x`` and, when ``y`` is a module, ``kpitree.x.y``.
    """
    known = modules()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known)
    return {m for m in found if m == "kpitree" or m.startswith("kpitree.")}


def part_of(module: str) -> str:
    return next((p for p in PARTS if module == p or module.startswith(p + ".")), module)


def test_every_part_imports_only_the_parts_below_it() -> None:
    known = modules()
    wrong = []
    for name, path in known.items():
        part = part_of(name)
        if part in ("kpitree.cli", "kpitree.demo") or part not in MAY_IMPORT:
            continue
        for target in imported(name, path):
            target_part = part_of(target)
            if target_part == part or target == "kpitree":
                continue
            if target_part == "kpitree.cli_support" and name.endswith(".commands"):
                continue
            if target_part not in MAY_IMPORT[part]:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_rule_sees_what_it_checks() -> None:
    known = modules()
    assert {"kpitree.udfs.registry", "kpitree.recalculation.io.package", "kpitree.addin.actions"} <= set(known)
    assert "kpitree.recalculation" in imported("kpitree.workbook_templates.builder", known["kpitree.workbook_templates.builder"])
    assert "kpitree.udfs.excel_values" in imported("kpitree.recalculation.values", known["kpitree.recalculation.values"])


@pytest.mark.parametrize("module", ["kpitree.workbook_templates", "kpitree.recalculation", "kpitree.udfs.registry", "kpitree.team",
                                    "kpitree.portable"])
def test_light_parts_do_not_import_xlwings(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in ('xlwings', 'pandas') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_help_imports_neither_pandas_nor_xlwings() -> None:
    code = ("import sys\nfrom kpitree.cli import build_parser\nbuild_parser()\n"
            "print(sorted(m for m in ('xlwings', 'pandas', 'formulas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
