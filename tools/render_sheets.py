"""Render the template's sheets to PNG with LibreOffice (PDF, then pdftoppm); a dev tool for the docs' pictures.

``python tools/render_sheets.py [--lang ja] [--out docs/images]`` writes
``dashboard_<lang>.png`` (the dashboard, the picture in the docs) and ``page<N>_<lang>.png``
for the pages of sheets 1–3. LibreOffice prints the cached values the builder stored, so ``KPI_*``
cells show the engine's results, not ``#NAME?``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path


def render(lang: str = "ja", out: Path = Path("docs/images"), dpi: int = 110, source: Path | None = None) -> list[Path]:
    """PNG of every PDF page of the template; the last page is the dashboard (it prints on one page)."""
    from kpitree.workbook_templates import template_path
    from libreoffice import to_pdf

    source = source or template_path(lang)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        pdf = to_pdf(udf_values_only(source, Path(tmp) / source.name), Path(tmp))
        info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
        pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
        for page in range(1, pages + 1):
            name = f"dashboard_{lang}" if page == pages else f"page{page}_{lang}"
            subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                            str(pdf), str(out / name)], check=True)
            written.append(out / f"{name}.png")
    return written


def udf_values_only(source: Path, out: Path) -> Path:
    """A copy of ``source`` whose ``KPI_*`` formulas are replaced by their cached values.

    LibreOffice recalculates some formulas when printing even with recalculation off
    (array formulas among them), and it has no ``KPI_*`` functions; the picture should show
    what Excel with the add-in shows, which is the cached value.
    """
    import re
    import zipfile

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                text = data.decode("utf-8")
                text = re.sub(r"<f[^>]*>[^<]*KPI_[^<]*</f>", "", text)
                data = text.encode("utf-8")
            zout.writestr(item, data)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python tools/render_sheets.py", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lang", choices=("ja", "en"), default="ja")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--dpi", type=int, default=110)
    args = parser.parse_args()
    if shutil.which("pdftoppm") is None:
        raise SystemExit("pdftoppm (poppler-utils) is not installed")
    for path in render(args.lang, args.out, args.dpi):
        print(path)


if __name__ == "__main__":
    main()
