"""Type-check the package with mypy: ``python tools/typecheck.py`` (run by .ci/run).

The package is installed from several folders (``udfs/`` is ``kpitree.udfs``, …, by
``[tool.setuptools.package-dir]`` in pyproject.toml), which mypy cannot map by itself. This
builds the package's tree from that table with symbolic links in a temporary folder, runs
mypy on it with the project's configuration, and prints mypy's report with the paths of
this checkout. Exit status: mypy's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def package_tree(into: Path) -> Path:
    """``kpitree`` laid out as Python imports it, in ``into``; returns ``into``.

    Packages become real folders whose files are symbolic links, so a subpackage placed
    inside its parent never lands in the checkout's own folder.
    """
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    for package, folder in sorted(mapping.items()):
        target = into.joinpath(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for source in (ROOT / folder).iterdir():
            if source.suffix in (".py", ".pyi", ".typed"):
                target.joinpath(source.name).symlink_to(source)
    return into


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="kpitree-mypy-") as tmp:
        tree = package_tree(Path(tmp))
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "-p", "kpitree"],
            cwd=tree, capture_output=True, text=True, env={**os.environ, "MYPYPATH": str(tree)},
        )
    out = done.stdout + done.stderr
    for package, folder in (("kpitree/udfs/", "udfs/"), ("kpitree/recalculation/", "recalculation/"),
                            ("kpitree/workbook_templates/", "workbook_templates/"), ("kpitree/addin/", "addin/")):
        out = out.replace(package, folder)
    sys.stdout.write(out)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
