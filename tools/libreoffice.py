"""LibreOffice headless helpers for the dev tools and the tests: recalculate a workbook, print it to PDF.

LibreOffice keeps the cached values of an OOXML file unless its profile says
``OOXMLRecalcMode`` = always (0); :func:`recalculated_copy` runs soffice with a
throw-away profile that says so, converts to xlsx and returns the new file, whose cached
values are LibreOffice's own (``KPI_*`` calls are unknown there: ``#NAME?``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
</oor:items>
"""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _run(args: list[str], profile: Path, recalc: bool, timeout: float = 180) -> None:
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    # 0 = always recalculate on load, 1 = never
    (user / "registrymodifications.xcu").write_text(PROFILE_XCU.format(mode=0 if recalc else 1), "utf-8")
    exe = soffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    env = {**os.environ, "HOME": str(profile)}
    subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", *args],
                   check=True, capture_output=True, timeout=timeout, env=env)


def recalculated_copy(path: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """``path`` recalculated by LibreOffice and saved as xlsx in ``out_dir``."""
    path, out_dir = Path(path), Path(out_dir)
    src_dir = out_dir / "src"
    src_dir.mkdir(parents=True, exist_ok=True)
    src = src_dir / "book.xlsx"
    shutil.copyfile(path, src)
    with tempfile.TemporaryDirectory() as profile:
        _run(["--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out_dir), str(src)], Path(profile), True)
    return out_dir / "book.xlsx"


def convert_recalculated(paths: list[Path], out_dir: Path) -> list[Path]:
    """Every file of ``paths`` recalculated by LibreOffice and saved as xlsx in ``out_dir``, in one
    soffice call (each start costs seconds); the results in the order of ``paths``.

    The names must differ: LibreOffice names each result after its source.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if len({p.stem for p in paths}) != len(paths):
        raise ValueError("two inputs would give one output name")
    with tempfile.TemporaryDirectory() as profile:
        _run(["--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out_dir), *map(str, paths)], Path(profile), True,
             timeout=60 + 10 * len(paths))
        # a long batch now and then loses a file without a word: those once more, one call each
        for p in paths:
            if not (out_dir / (p.stem + ".xlsx")).exists():
                _run(["--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out_dir), str(p)], Path(profile), True)
    missing = [p.name for p in paths if not (out_dir / (p.stem + ".xlsx")).exists()]
    if missing:
        raise RuntimeError(f"LibreOffice wrote nothing for {', '.join(missing)}")
    return [out_dir / (p.stem + ".xlsx") for p in paths]


def to_pdf(path: str | os.PathLike, out_dir: str | os.PathLike, recalc: bool = False) -> Path:
    """``path`` printed to PDF by LibreOffice: with its cached values, or (``recalc``) with LibreOffice's own."""
    path, out_dir = Path(path), Path(out_dir)
    with tempfile.TemporaryDirectory() as profile:
        _run(["--convert-to", "pdf", "--outdir", str(out_dir), str(path)], Path(profile), recalc)
    return out_dir / (path.stem + ".pdf")
