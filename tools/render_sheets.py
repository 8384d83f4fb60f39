"""Render the template's sheets to PNG with LibreOffice (PDF, then pdftoppm); a dev tool for the docs' pictures.

``python tools/render_sheets.py [--lang ja] [--out docs/images]`` writes ``sheet1_<lang>.png``
(sheet 1: the KGI, its back-calculation and the team's stage), ``dashboard_<lang>.png`` (the
dashboard) and ``page<N>_<lang>.png`` for the other pages (sheets 1–3 cut below their last line).
The README shows ``sheet1_ja.png`` and ``dashboard_ja.png``; docs/team.md the ``--team`` pictures.

``python tools/render_sheets.py --team [--lang ja] [--out docs/images]`` runs ``kpitree demo``'s flow
(the sample CRM export imported into a team workbook, the weekly review added) and writes
``members_<lang>.png`` (the member sheet) and ``weekly_review_<lang>.png`` (the weekly review), each
sheet printed alone on one page.

Every picture is of the workbook's portable copy (``kpitree share``) as LibreOffice recalculates it:
nothing is deleted or taken from kpitree's cached values, so the ``KPI_*`` cells show what the copy
computes with LibreOffice's own functions — what a reader without the add-in sees.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path


def render(lang: str = "ja", out: Path = Path("docs/images"), dpi: int = 110, source: Path | None = None) -> list[Path]:
    """PNG of every PDF page of the template's portable copy; page 1 is sheet 1, the last page the dashboard
    (each prints on one page)."""
    from kpitree.workbook_templates import template_path
    from libreoffice import to_pdf

    source = source or template_path(lang)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        pdf = to_pdf(portable(source, Path(tmp) / source.name), Path(tmp), recalc=True)
        info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
        pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
        for page in range(1, pages + 1):
            name = f"dashboard_{lang}" if page == pages else f"sheet1_{lang}" if page == 1 else f"page{page}_{lang}"
            crop = [] if page == pages else ["-x", "0", "-y", "0", "-W", "100000", "-H", str(content_height(pdf, page, dpi))]
            subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", *crop,
                            str(pdf), str(out / name)], check=True)
            written.append(out / f"{name}.png")
    return written


def content_height(pdf: Path, page: int, dpi: int, margin_pt: float = 28) -> int:
    """Pixels from the top of ``page`` to below its last line of text: sheets 1–3 print on a portrait page
    their tables fill only the top of, and the picture leaves the empty rest out."""
    import re

    words = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-bbox", str(pdf), "-"], check=True,
                           capture_output=True, text=True).stdout
    bottom = max((float(y) for y in re.findall(r'yMax="([0-9.]+)"', words)), default=842.0)
    return round((bottom + margin_pt) * dpi / 72)


def portable(source: Path, out: Path) -> Path:
    """The portable copy of ``source`` (``kpitree share``): what LibreOffice can compute without the add-in."""
    from kpitree.portable import share

    return share(source, out).out


def render_team(lang: str = "ja", out: Path = Path("docs/images"), dpi: int = 110) -> list[Path]:
    """The member sheet and the weekly review of the demo's team workbook, one page each."""
    from kpitree.team.plans import sheet_title
    from libreoffice import to_pdf

    from kpitree.demo import build_demo

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "team.xlsx"
        _, _, review = build_demo(book, lang)  # type: ignore[arg-type]
        from kpitree.team.review import review_sheet_title

        pictures = {f"members_{lang}": sheet_title("team.sheet_members", lang),  # type: ignore[arg-type]
                    f"weekly_review_{lang}": review_sheet_title(review.kind, review.period, lang)}  # type: ignore[arg-type]
        for name, sheet in pictures.items():
            copy = portable(book, Path(tmp) / f"{name}_copy.xlsx")
            pdf = to_pdf(only_sheet(copy, sheet, Path(tmp) / f"{name}.xlsx"), Path(tmp), recalc=True)
            subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(out / name)],
                           check=True)
            written.append(out / f"{name}.png")
    return written


def only_sheet(source: Path, sheet: str, out: Path) -> Path:
    """A copy of ``source`` where every other sheet is hidden and ``sheet`` prints on one page."""
    import html
    import re
    import zipfile

    with zipfile.ZipFile(source) as zin:
        workbook = zin.read("xl/workbook.xml").decode("utf-8")
        rels = zin.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        names = re.findall(r'<sheet\b[^>]*\bname="([^"]*)"', workbook)
        index = [html.unescape(n) for n in names].index(sheet)
        rid = re.findall(r'<sheet\b[^>]*\br:id="([^"]*)"', workbook)[index]
        target = re.search(rf'<Relationship\b[^>]*Target="/?(?:xl/)?([^"]*)"[^>]*Id="{rid}"', rels)
        part = "xl/" + (target.group(1) if target else f"worksheets/sheet{index + 1}.xml")
        count = iter(range(len(names)))

        def state(m: re.Match[str]) -> str:
            tag = re.sub(r'\sstate="[^"]*"', "", m.group(0))
            return tag if next(count) == index else tag.replace("<sheet ", '<sheet state="hidden" ', 1)

        workbook = re.sub(r"<sheet\b[^>]*>", state, workbook)
        # LibreOffice prints the print area of a hidden sheet all the same: only the shown sheet keeps its own
        workbook = re.sub(r'<definedName name="_xlnm\.Print_Area" localSheetId="(\d+)"[^>]*>[^<]*</definedName>',
                          lambda m: m.group(0) if int(m.group(1)) == index else "", workbook)
        workbook = re.sub(r'activeTab="\d+"', f'activeTab="{index}"', workbook)
        workbook = re.sub(r'firstSheet="\d+"', f'firstSheet="{index}"', workbook)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                data = zin.read(item.filename)
                if item.filename == "xl/workbook.xml":
                    data = workbook.encode("utf-8")
                elif item.filename == part:
                    xml = data.decode("utf-8")
                    xml = re.sub(r'fitToHeight="\d+"', 'fitToHeight="1"', xml)
                    data = xml.encode("utf-8")
                zout.writestr(item, data)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python tools/render_sheets.py", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lang", choices=("ja", "en"), default="ja")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--dpi", type=int, default=110)
    parser.add_argument("--team", action="store_true", help="the demo team's member sheet and weekly review instead")
    args = parser.parse_args()
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        raise SystemExit("pdftoppm and pdftotext (poppler-utils) are not installed")
    for path in (render_team if args.team else render)(args.lang, args.out, args.dpi):
        print(path)


if __name__ == "__main__":
    main()
