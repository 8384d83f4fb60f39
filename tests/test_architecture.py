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


CLI_MODULES = """
import atexit, sys
atexit.register(lambda: print("LOADED", sorted(m for m in ("numpy", "pandas", "pyarrow", "xlwings") if m in sys.modules)))
from kpitree.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _loaded(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", CLI_MODULES, *args], capture_output=True, text=True, timeout=300)
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOADED"))
    return eval(line.removeprefix("LOADED"))  # a list literal we printed ourselves


def test_help_and_usage_errors_import_no_engine() -> None:
    """`kpitree --help` (≤ 0.1 s, docs/performance.md) and a usage error load neither numpy nor pandas."""
    assert _loaded("--help") == []
    assert _loaded("recalc", "--help") == []
    assert _loaded("recalc", "missing.xlsx") == []  # no --out/--summary: exit 2 before the engine



def test_help_does_not_look_up_the_installed_version() -> None:
    """importlib.metadata (≈ 40 ms, half of `kpitree --help`) loads only for `--version` and `kpitree.__version__`."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('METADATA', 'importlib.metadata' in sys.modules))\n"
            "from kpitree.cli import main\nsys.exit(main(sys.argv[1:]))")
    for args, expected in ((["--help"], "METADATA False"), (["--version"], "METADATA True")):
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and expected in done.stdout, (args, done.stdout, done.stderr)
    assert "kpitree " in done.stdout


def test_a_batch_and_its_csv_summary_need_no_pandas(tmp_path: Path) -> None:
    """The command line writes the summary itself: pandas (≈ 0.4 s to import) is for the Python API."""
    from kpitree.workbook_templates import template_path

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        (folder / f"t{i}.xlsx").write_bytes(template_path("ja").read_bytes())
    assert _loaded("recalc", str(folder), "--out", str(tmp_path / "out"), "--summary", str(tmp_path / "s.csv")) == ["numpy"]
    assert _loaded("recalc", str(template_path("ja")), "--scenarios", str(_table(tmp_path)),
                   "--summary", str(tmp_path / "w.csv")) == ["numpy"]


def _table(tmp_path: Path) -> Path:
    path = tmp_path / "what_if.csv"
    path.write_text("plan_win_rate,plan_connect_rate\n0.25,0.25\n0.3,0.28\n", encoding="utf-8")
    return path
