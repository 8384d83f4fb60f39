"""A workbook rewritten through openpyxl loses nothing silently (trial findings: macros, pictures, shapes).

``kpitree dashboard``, ``new --template``, ``import`` and ``review`` load the user's workbook
with openpyxl and save it. Macros are kept (``keep_vba``) under an ``.xlsm`` name, pictures
are kept (Pillow is a dependency), and what openpyxl cannot carry (a text box, here) makes
the command refuse with a message naming it — the file left byte for byte as it was. The
saved files are read back with python-calamine and zipfile, not with openpyxl.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kpitree.workbook_templates import template_path
from kpitree.workbook_templates.losses import PART_KINDS, SHAPES, content_counts, lost_kinds

from tests.conftest import run_cli

VBA = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8  # an OLE header and filler: kept, never parsed
MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MACRO_MAIN = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
TEXT_BOX = (b'<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
            b'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            b'<xdr:twoCellAnchor><xdr:from><xdr:col>6</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row>'
            b'<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>9</xdr:col><xdr:colOff>0</xdr:colOff>'
            b'<xdr:row>4</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>'
            b'<xdr:sp macro="" textlink=""><xdr:nvSpPr><xdr:cNvPr id="2" name="TextBox 1"/><xdr:cNvSpPr txBox="1"/>'
            b'</xdr:nvSpPr><xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="1828800" cy="548640"/></a:xfrm>'
            b'<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr><xdr:txBody><a:bodyPr/><a:p><a:r>'
            b'<a:t>\xe6\x9d\xa5\xe6\x9c\x9f\xe3\x81\xae\xe6\x96\xb9\xe9\x87\x9d</a:t></a:r></a:p></xdr:txBody></xdr:sp>'
            b'<xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>')


def _rewrite(src: Path, dst: Path, edit: dict[str, bytes | None], extra: dict[str, bytes]) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename in edit:
                data = edit[info.filename]  # type: ignore[assignment]
            zout.writestr(info, data)
        for name, data in extra.items():
            zout.writestr(name, data)


def macro_book(path: Path) -> Path:
    """The template as an .xlsm: vbaProject part, its relationship, the macro-enabled content type."""
    src = template_path("ja")
    with zipfile.ZipFile(src) as z:
        types, rels = z.read("[Content_Types].xml"), z.read("xl/_rels/workbook.xml.rels")
    assert MAIN in types
    types = types.replace(MAIN, MACRO_MAIN).replace(
        b"</Types>", b'<Override PartName="/xl/vbaProject.bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    rels = rels.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/'
                        b'2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    _rewrite(src, path, {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels}, {"xl/vbaProject.bin": VBA})
    return path


def text_box_book(path: Path) -> Path:
    """The template with a text box on sheet 1, as Excel stores one: a drawing part holding an ``xdr:sp``.

    Sheet 1 of the template has no drawing and no relationships part (checked), so both are added.
    """
    src = template_path("ja")
    with zipfile.ZipFile(src) as z:
        names = set(z.namelist())
        types, sheet = z.read("[Content_Types].xml"), z.read("xl/worksheets/sheet1.xml")
    assert "xl/worksheets/_rels/sheet1.xml.rels" not in names and "xl/drawings/drawing9.xml" not in names
    assert b"<drawing " not in sheet and sheet.endswith(b"</worksheet>")
    rels = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rIdBox" Type="http://schemas.'
            b'openxmlformats.org/officeDocument/2006/relationships/drawing" Target="../drawings/drawing9.xml"/>'
            b"</Relationships>")
    types = types.replace(b"</Types>", b'<Override PartName="/xl/drawings/drawing9.xml" ContentType="application/'
                          b'vnd.openxmlformats-officedocument.drawing+xml"/></Types>')
    _rewrite(src, path, {"[Content_Types].xml": types,
                         "xl/worksheets/sheet1.xml": sheet.replace(b"</worksheet>", b'<drawing r:id="rIdBox"/></worksheet>')},
             {"xl/drawings/drawing9.xml": TEXT_BOX, "xl/worksheets/_rels/sheet1.xml.rels": rels})
    return path


def picture_book(path: Path) -> Path:
    """The template with a logo on sheet 1 (a PNG drawn by Pillow, placed by openpyxl)."""
    import openpyxl
    from openpyxl.drawing.image import Image
    from PIL import Image as PILImage

    png = io.BytesIO()
    PILImage.new("RGB", (40, 20), (200, 30, 30)).save(png, "PNG")
    wb = openpyxl.load_workbook(template_path("ja"))
    wb.worksheets[0].add_image(Image(png), "H2")
    wb.save(path)
    return path


def test_an_xlsm_keeps_its_macros_through_a_dashboard_rebuild_in_place(tmp_path: Path) -> None:
    book = macro_book(tmp_path / "team.xlsm")
    result = run_cli("dashboard", str(book))
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(book) as z:
        assert z.read("xl/vbaProject.bin") == VBA, "macros kept byte for byte"
        assert MACRO_MAIN in z.read("[Content_Types].xml"), "still a macro-enabled workbook, as its name says"
    from python_calamine import CalamineWorkbook

    assert len(CalamineWorkbook.from_path(str(book)).sheet_names) == 4


def test_a_macro_workbook_is_not_written_under_an_xlsx_name_nor_a_plain_one_under_xlsm(tmp_path: Path) -> None:
    book = macro_book(tmp_path / "team.xlsm")
    before = book.read_bytes()
    result = run_cli("dashboard", str(book), "--out", str(tmp_path / "copy.xlsx"))
    assert result.returncode == 2 and ".xlsm" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "copy.xlsx").exists() and book.read_bytes() == before
    plain = tmp_path / "plain.xlsx"
    shutil.copyfile(template_path("ja"), plain)
    result = run_cli("dashboard", str(plain), "--out", str(tmp_path / "copy.xlsm"))
    assert result.returncode == 2 and ".xlsx" in result.stderr and not (tmp_path / "copy.xlsm").exists()


def test_pictures_survive_a_rebuild_and_a_new_workbook_from_a_template(tmp_path: Path) -> None:
    book = picture_book(tmp_path / "logo.xlsx")
    media = sorted(n for n in zipfile.ZipFile(book).namelist() if n.startswith("xl/media/"))
    assert media
    assert run_cli("dashboard", str(book)).returncode == 0
    assert sorted(n for n in zipfile.ZipFile(book).namelist() if n.startswith("xl/media/")) == media
    result = run_cli("new", str(tmp_path / "next.xlsx"), "--template", str(book))
    assert result.returncode == 0, result.stderr
    assert [n for n in zipfile.ZipFile(tmp_path / "next.xlsx").namelist() if n.startswith("xl/media/")]


@pytest.mark.parametrize("command", ["dashboard", "new"])
def test_a_text_box_openpyxl_would_drop_stops_the_command_and_leaves_every_file_as_it_was(tmp_path: Path, command: str) -> None:
    book = text_box_book(tmp_path / "notes.xlsx")
    before = book.read_bytes()
    args = ["dashboard", str(book)] if command == "dashboard" else ["new", str(tmp_path / "next.xlsx"), "--template", str(book)]
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert "shapes and text boxes" in result.stderr and "Traceback" not in result.stderr
    assert book.read_bytes() == before and not (tmp_path / "next.xlsx").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kpitree")], "no temporary file left"


def test_the_text_box_counts_as_a_shape_and_the_template_holds_none() -> None:
    """The template's only drawing holds charts: a rebuild of it is never refused for shapes."""
    with zipfile.ZipFile(template_path("ja")) as z:
        drawings = [z.read(n) for n in z.namelist() if n.startswith("xl/drawings/drawing")]
        assert content_counts(z.namelist(), drawings)[SHAPES] == 0
    assert content_counts([], [TEXT_BOX])[SHAPES] == 1


KINDS = [k for k, _ in PART_KINDS] + [SHAPES]


@given(st.dictionaries(st.sampled_from(KINDS), st.integers(0, 5)), st.dictionaries(st.sampled_from(KINDS), st.integers(0, 5)))
def test_a_kind_is_lost_exactly_when_the_rewrite_holds_less_of_it(source: dict[str, int], result: dict[str, int]) -> None:
    lost = lost_kinds(source, result)
    assert lost == [k for k in KINDS if result.get(k, 0) < source.get(k, 0)]


def test_parts_are_counted_by_kind_and_relationship_parts_are_not_content() -> None:
    names = ["xl/media/image1.png", "xl/embeddings/oleObject1.bin", "xl/embeddings/oleObject2.bin", "xl/comments1.xml",
             "xl/drawings/_rels/drawing1.xml.rels", "xl/activeX/_rels/activeX1.xml.rels", "customXml/item1.xml",
             "xl/printerSettings/printerSettings1.bin"]
    counts = content_counts(names, [])
    assert counts["workbook.lost_embedded"] == 2 and counts["workbook.lost_connections"] == 1
    assert counts["workbook.lost_controls"] == 0 and sum(counts.values()) == 3  # pictures and notes: openpyxl keeps them


def test_a_sparkline_openpyxl_would_drop_stops_the_rebuild(tmp_path: Path) -> None:
    """Review: a sheet's extensions (sparklines) went unnoticed; openpyxl drops a sheet's extLst whole."""
    import xlsxwriter

    src = template_path("ja")
    with zipfile.ZipFile(src) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    path = tmp_path / "spark.xlsx"
    probe = tmp_path / "probe.xlsx"  # XlsxWriter writes a sparkline as Excel does; its extLst is taken from there
    wb = xlsxwriter.Workbook(probe)
    ws = wb.add_worksheet()
    ws.write_row("A1", [1, 3, 2])
    ws.add_sparkline("D1", {"range": "Sheet1!A1:C1"})
    wb.close()
    with zipfile.ZipFile(probe) as z:
        probe_sheet = z.read("xl/worksheets/sheet1.xml")
    ext = probe_sheet[probe_sheet.index(b"<extLst"):probe_sheet.index(b"</extLst>") + len(b"</extLst>")]
    _rewrite(src, path, {"xl/worksheets/sheet1.xml": sheet.replace(b"</worksheet>", ext + b"</worksheet>")}, {})
    before = path.read_bytes()
    result = run_cli("dashboard", str(path))
    assert result.returncode == 2 and "sparklines" in result.stderr and path.read_bytes() == before


def test_a_template_file_becomes_a_workbook_excel_opens(tmp_path: Path) -> None:
    """Review: `new --template mine.xltx` wrote an .xlsx whose content type still said template."""
    import openpyxl

    xltx = tmp_path / "mine.xltx"
    wb = openpyxl.load_workbook(template_path("ja"))
    wb.template = True
    wb.save(xltx)
    with zipfile.ZipFile(xltx) as z:
        assert b"template.main+xml" in z.read("[Content_Types].xml")
    result = run_cli("new", str(tmp_path / "out.xlsx"), "--template", str(xltx))
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "out.xlsx") as z:
        types = z.read("[Content_Types].xml")
    assert MAIN in types and b"template.main+xml" not in types
