"""Batch I/O fast paths: the layout reader (vs the full scan) and the raw zip copier (vs zipfile)."""

from __future__ import annotations

import io
import os
import random
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

os.environ.setdefault("TQDM_DISABLE", "1")

from kpitree.recalculation import WorkbookError
from kpitree.recalculation.files import process_files
from kpitree.recalculation.io import layout
from kpitree.recalculation.io.package import read_members, read_package, read_workbook
from kpitree.recalculation.io.writeback import RawSource, apply, patch_sheet, plan_writes, write_package, write_raw_copy
from kpitree.udfs.excel_values import XlError

openpyxl = pytest.importorskip("openpyxl")



@pytest.fixture(autouse=True)
def _fresh_layouts() -> None:
    layout.clear()
    yield
    layout.clear()


def repack(src: Path, dst: Path, edit) -> Path:
    """A copy of ``src`` with ``edit(name, bytes) -> bytes`` applied to every member."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, edit(info.filename, zin.read(info)), compress_type=zipfile.ZIP_DEFLATED)
    return dst


def sheet_names(parts: dict[str, bytes]) -> list[str]:
    return sorted(n for n in parts if n.startswith("xl/worksheets/sheet"))


def vary_values(seed: int, formulas_too: bool = True):
    """An edit that gives numeric <v> values new numbers (constants, and cached formula values)."""
    rng = random.Random(seed)
    cell_re = re.compile(rb"<c\b([^>/]*)>(.*?)</c>", re.S)  # not <c .../>

    def edit(name: str, data: bytes) -> bytes:
        if not name.startswith("xl/worksheets/sheet"):
            return data

        def one(m: re.Match[bytes]) -> bytes:
            attrs, body = m.group(1), m.group(2)
            if b" t=" in attrs or b"<v>" not in body or (b"<f" in body and not formulas_too) or rng.random() < 0.3:
                return m.group(0)
            new = rng.choice([b"0", b"1", b"12345", b"0.25", b"-3.5", repr(rng.uniform(-1e6, 1e6)).encode(), b"1E-3"])
            return b"<c" + attrs + b">" + re.sub(rb"<v>[^<]*</v>", b"<v>" + new + b"</v>", body, count=1) + b"</c>"

        return cell_re.sub(one, data)

    return edit


def assert_same_as_full_scan(parts: dict[str, bytes]) -> None:
    view = layout.read_via_layout(parts)
    assert view is not None, "expected the layout reader to accept this file"
    full = read_workbook(parts)
    mat = view.materialize()
    assert [s.name for s in mat.sheets] == [s.name for s in full.sheets]
    for a, b in zip(mat.sheets, full.sheets):
        assert a.cells == b.cells, a.name  # formulas, types, values and byte spans
    assert mat.names == full.names
    # write-back through the view is byte-identical to write-back after a full scan
    results = {}
    for si, sheet in enumerate(full.sheets):
        for (r, c), cell in sheet.cells.items():
            if cell.formula is not None:
                results[(si, r, c)] = [1.5, 2.0, "text & <more>", True, XlError.DIV0, None, 1e300][(r + c) % 7]
    plan = plan_writes(full, results)
    expected = {part: patch_sheet(parts[part], writes) for part, writes in plan.items()}
    assert view.patched(results) == expected


# --- the layout reader --------------------------------------------------------------------------


def test_layout_reader_agrees_with_full_scan_on_changed_values(tmp_path: Path, template: Path) -> None:
    _, parts = read_members(template)
    layout.remember(parts, read_workbook(parts), "fp")
    assert_same_as_full_scan(parts)  # an identical copy
    for seed in range(6):
        variant = repack(template, tmp_path / f"v{seed}.xlsx", vary_values(seed, formulas_too=seed % 2 == 0))
        _, vparts = read_members(variant)
        assert_same_as_full_scan(vparts)


def test_layout_reader_rereads_shared_strings_when_the_table_changes(tmp_path: Path, template: Path) -> None:
    _, parts = read_members(template)
    layout.remember(parts, read_workbook(parts), "fp")

    def edit(name: str, data: bytes) -> bytes:
        if name == "xl/sharedStrings.xml":  # every string changes, indices stay valid
            return re.sub(rb"(<t(?: [^>]*)?>)", rb"\1#", data)
        return data

    _, vparts = read_members(repack(template, tmp_path / "ss.xlsx", edit))
    assert_same_as_full_scan(vparts)
    view = layout.read_via_layout(vparts)
    assert any(isinstance(v, str) and v.startswith("#") for v in view.overrides.values())


@pytest.mark.parametrize(
    "what",
    ["formula", "type", "bad number", "bad shared index", "defined name", "cdata", "new cell"],
)
def test_layout_reader_declines_what_it_cannot_vouch_for(tmp_path: Path, template: Path, what: str) -> None:
    _, parts = read_members(template)
    layout.remember(parts, read_workbook(parts), "fp")
    sheet = sheet_names(parts)[0]

    def edit(name: str, data: bytes) -> bytes:
        if what == "defined name" and name == "xl/workbook.xml":
            return data.replace(b"</definedNames>", b'<definedName name="extra">1</definedName></definedNames>')
        if name != sheet:
            return data
        if what == "formula":
            return re.sub(rb"<f>([^<]*)</f>", rb"<f>\1+0</f>", data, count=1)
        if what == "type":
            return re.sub(rb'(<c r="[A-Z]+\d+")([^>]*>\s*<f>)', rb'\1 t="str"\2', data, count=1)
        if what == "bad number":
            return re.sub(rb'(<c r="[A-Z]+\d+"(?: s="\d+")?>)<v>[^<]*</v>', rb"\1<v>12abc</v>", data, count=1)
        if what == "bad shared index":
            return re.sub(rb'(t="s"[^>]*>)<v>[^<]*</v>', rb"\1<v>999999</v>", data, count=1)
        if what == "cdata":
            return re.sub(rb'(<c r="[A-Z]+\d+"(?: s="\d+")?>)<v>([^<]*)</v>', rb"\1<v><![CDATA[\2]]></v>", data, count=1)
        if what == "new cell":
            return data.replace(b"</row>", b'<c r="ZZ1"><v>1</v></c></row>', 1)
        return data

    variant = repack(template, tmp_path / "v.xlsx", edit)
    _, vparts = read_members(variant)
    assert vparts[sheet] != parts[sheet] or what == "defined name"
    assert layout.read_via_layout(vparts) is None
    if what in ("bad number", "bad shared index"):  # and the full scan gives the error, as before
        with pytest.raises(WorkbookError):
            read_workbook(vparts)


def test_layout_reader_refuses_a_dtd_like_the_full_scan(tmp_path: Path, template: Path) -> None:
    _, parts = read_members(template)
    layout.remember(parts, read_workbook(parts), "fp")

    def edit(name: str, data: bytes) -> bytes:
        if name == "docProps/app.xml":
            return data.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)
        return data

    bad = repack(template, tmp_path / "dtd.xlsx", edit)
    with pytest.raises(WorkbookError, match="DTD"):  # the package reader refuses it first
        read_members(bad)
    with zipfile.ZipFile(bad) as z:  # and the layout reader on its own too
        vparts = {i.filename: z.read(i) for i in z.infolist()}
    with pytest.raises(WorkbookError, match="DTD"):
        layout.read_via_layout(vparts)


def test_batch_output_is_the_same_through_the_layout_reader(tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    files = [str(repack(template, inputs / f"team_{i}.xlsx", vary_values(i, formulas_too=True))) for i in range(5)]
    used = []
    read_via_layout = layout.read_via_layout
    monkeypatch.setattr(layout, "read_via_layout", lambda parts: used.append(read_via_layout(parts)) or used[-1])
    rows_fast = process_files(files, str(tmp_path / "a"))  # files 3.. go through the second file's layout
    assert [v is not None for v in used] == [False, False, True, True, True]
    monkeypatch.undo()
    rows_full = []
    for f in files:  # each file alone, with nothing remembered: the full scan
        layout.clear()
        rows_full += process_files([f], str(tmp_path / "b"))
    for a, b in zip(rows_fast, rows_full):
        assert {k: v for k, v in a.items() if k != "file"} == {k: v for k, v in b.items() if k != "file"}
    for f in files:
        name = os.path.basename(f)
        with zipfile.ZipFile(tmp_path / "a" / name) as za, zipfile.ZipFile(tmp_path / "b" / name) as zb:
            assert za.testzip() is None
            assert za.namelist() == zb.namelist()
            for n in za.namelist():
                assert za.read(n) == zb.read(n), n


# --- the raw zip copier ---------------------------------------------------------------------------


def _raw_bytes(path: Path) -> dict[str, bytes]:
    """Each member's compressed bytes, as stored in the file."""
    data = path.read_bytes()
    out = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            offset = RawSource(data).data_offset(info)
            out[info.filename] = data[offset : offset + info.compress_size]
    return out


def test_raw_copy_keeps_members_byte_identical_and_valid(tmp_path: Path, template: Path) -> None:
    infos, parts, raw = read_package(template)
    sheet = sheet_names(parts)[0]
    patched = {sheet: parts[sheet].replace(b"<v>", b"<v>1", 1)}
    dst = tmp_path / "out.xlsx"
    write_package(infos, parts, lambda: patched, dst, RawSource(raw))
    with zipfile.ZipFile(dst) as zf:
        assert zf.testzip() is None  # every CRC verifies
        assert [i.filename for i in zf.infolist()] == [i.filename for i in infos if not i.is_dir()]
        for info in infos:
            assert zf.read(info.filename) == patched.get(info.filename, parts[info.filename])
    src_raw, out_raw = _raw_bytes(template), _raw_bytes(dst)
    assert all(out_raw[n] == src_raw[n] for n in src_raw if n != sheet), "unchanged members copied without recompression"
    openpyxl.load_workbook(dst)  # other readers open it too
    calamine = pytest.importorskip("python_calamine")
    calamine.CalamineWorkbook.from_path(str(dst)).get_sheet_by_index(0).to_python()


def _streamed_with_data_descriptors(src: Path, dst: Path) -> Path:
    """zipfile writes data descriptors (flag bit 3) when the output cannot seek."""

    class NoSeek(io.RawIOBase):
        def __init__(self, fh):
            self.fh = fh

        def writable(self) -> bool:
            return True

        def write(self, b) -> int:
            return self.fh.write(b)

    with zipfile.ZipFile(src) as zin, open(dst, "wb") as fh, zipfile.ZipFile(NoSeek(fh), "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            with zout.open(info.filename, "w") as member:
                member.write(zin.read(info))
    return dst


def test_raw_copy_of_a_source_with_data_descriptors(tmp_path: Path, template: Path) -> None:
    src = _streamed_with_data_descriptors(template, tmp_path / "dd.xlsx")
    infos, parts, raw = read_package(src)
    assert all(i.flag_bits & 0x08 for i in infos)
    buf = io.BytesIO()
    assert write_raw_copy(buf, infos, RawSource(raw), {})
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.testzip() is None
        assert all(not i.flag_bits & 0x08 for i in zf.infolist())
        assert {n: zf.read(n) for n in zf.namelist()} == parts


def test_raw_copy_of_a_source_with_zip64_local_headers(tmp_path: Path, template: Path) -> None:
    """Sizes come from the central directory; the copy's own headers need no zip64 record."""
    src = tmp_path / "zip64.xlsx"
    with zipfile.ZipFile(template) as zin, zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            with zout.open(info.filename, "w", force_zip64=True) as member:
                member.write(zin.read(info))
    infos, parts, raw = read_package(src)
    buf = io.BytesIO()
    assert write_raw_copy(buf, infos, RawSource(raw), {})
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.testzip() is None
        assert {n: zf.read(n) for n in zf.namelist()} == parts


@pytest.mark.parametrize("case", ["zip64 central", "bzip2", "duplicate"])
def test_raw_copy_declines_and_zipfile_writes_instead(tmp_path: Path, template: Path, case: str) -> None:
    import struct

    src = tmp_path / f"{case}.xlsx"
    with zipfile.ZipFile(template) as zin, zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if case == "bzip2" and info.filename.startswith("docProps/"):
                zout.writestr(info.filename, data, compress_type=zipfile.ZIP_BZIP2)
            else:
                zout.writestr(info.filename, data)
        if case == "duplicate":
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                zout.writestr("docProps/app.xml", zin.read("docProps/app.xml"))
    if case == "duplicate":  # refused when read (which of the two counts is anybody's guess) ...
        with pytest.raises(WorkbookError, match=r"two members named 'docProps/app\.xml'"):
            read_package(src)
        raw_bytes = src.read_bytes()  # ... and the raw copier declines such a package on its own too
        with zipfile.ZipFile(src) as zf:
            assert not write_raw_copy(io.BytesIO(), zf.infolist(), RawSource(raw_bytes), {})
        return
    infos, parts, raw = read_package(src)
    if case == "zip64 central":  # a central directory entry carrying a zip64 extra field (APPNOTE 4.5.3)
        infos[0].extra = struct.pack("<HHQ", 0x0001, 8, infos[0].file_size)
    assert not write_raw_copy(io.BytesIO(), infos, RawSource(raw), {})
    dst = tmp_path / "out.xlsx"
    wb = read_workbook(parts)
    apply(infos, parts, plan_writes(wb, {}), dst, RawSource(raw))
    with zipfile.ZipFile(dst) as zf:
        assert zf.testzip() is None
        for n in set(zf.namelist()):
            assert zf.read(n) == parts[n]


def test_raw_copy_keeps_a_stored_member_stored(tmp_path: Path, template: Path) -> None:
    src = tmp_path / "stored.xlsx"
    with zipfile.ZipFile(template) as zin, zipfile.ZipFile(src, "w") as zout:  # ZIP_STORED throughout
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    infos, parts, raw = read_package(src)
    sheet = sheet_names(parts)[0]
    dst = tmp_path / "out.xlsx"
    write_package(infos, parts, lambda: {sheet: parts[sheet] + b" "}, dst, RawSource(raw))
    with zipfile.ZipFile(dst) as zf:
        assert zf.testzip() is None
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        assert zf.read(sheet) == parts[sheet] + b" "


def test_member_corruption_is_still_caught(tmp_path: Path, template: Path) -> None:
    data = bytearray(template.read_bytes())
    with zipfile.ZipFile(template) as zf:
        info = zf.getinfo("xl/styles.xml")
    offset = RawSource(bytes(data)).data_offset(info)
    data[offset + info.compress_size // 2] ^= 0xFF
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(bytes(data))
    with pytest.raises(WorkbookError, match=r"xl/styles\.xml"):
        read_members(bad)


# --- lean worker processes -----------------------------------------------------------------------


def test_fast_path_names_match_the_modules_it_avoids_importing() -> None:
    from formulas_peer import UDF_PREFIX
    from kpitree.recalculation import compiler as rc
    from kpitree.udfs.excel_functions import exported_functions
    from kpitree.udfs.registry import FUNCTIONS

    assert list(FUNCTIONS) == list(exported_functions())
    assert set(FUNCTIONS) <= set(rc.function_table())
    assert rc.UDF_PREFIX == UDF_PREFIX


def test_a_fast_batch_does_not_import_pandas_or_the_formulas_function_table(tmp_path: Path, template: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from kpitree.recalculation.files import process_files\n"
        f"rows = process_files([{str(template)!r}] * 2, {str(tmp_path / 'out')!r})\n"
        "assert all(r['path'] == 'fast' and not r['error'] for r in rows), rows\n"
        "print(sorted(m for m in ('pandas', 'xlwings', 'scipy', 'formulas.functions.financial') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_rows_frame_built_by_column_equals_the_frame_of_row_dicts() -> None:
    import pandas as pd
    from kpitree.recalculation.summary import cell_out as _cell_out
    from kpitree.recalculation.summary import rows_frame

    rows = [
        {"file": "a", "path": "fast", "error": "", "x": 1.0, "b": True, "s": "t", "e": XlError.DIV0, "n": None},
        {"file": "b", "path": "", "error": "bad"},
        {"file": "c", "path": "fast", "error": "", "x": 2.0, "b": False, "s": "u", "e": 1.5, "n": None, "extra": 3},
        {"file": "d", "path": "fast", "error": "", "s": "v", "x": 3.0},
    ]
    for sample in (rows, rows[:1], rows[2:], [rows[0]] * 3):
        by_rows = pd.DataFrame([{k: _cell_out(v) for k, v in r.items()} for r in sample])
        pd.testing.assert_frame_equal(rows_frame(sample), by_rows)


def test_interrupt_while_writing_through_a_layout_leaves_no_partial_file(tmp_path: Path, template: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from kpitree.recalculation.io import writeback

    inputs = tmp_path / "in"
    inputs.mkdir()
    files = [str(repack(template, inputs / f"team_{i}.xlsx", vary_values(i))) for i in range(3)]
    before = {f: Path(f).read_bytes() for f in files}
    out = tmp_path / "out"
    process_files(files[:2], str(out))  # the layout is remembered now
    assert layout.read_via_layout(read_members(files[2])[1]) is not None

    def interrupted(*args: object, **kwargs: object) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(writeback, "patch_sheet", interrupted)
    with pytest.raises(KeyboardInterrupt):
        process_files(files[2:], str(out))
    assert sorted(p.name for p in out.iterdir()) == ["team_0.xlsx", "team_1.xlsx"]  # no temp file, no team_2
    assert {f: Path(f).read_bytes() for f in files} == before  # sources never modified


def test_every_computed_cell_is_written_whatever_its_cached_value_decodes_to(tmp_path: Path) -> None:
    """Cached values that a loose reading would take for the result (an unknown error text read as #VALUE!,
    an XML character reference read as HTML, a number with an underscore) are rewritten with kpitree's value."""
    src = tmp_path / "stale.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"], book.active["A2"], book.active["A3"] = '="a"+1', "=CHAR(128)", "=1000"
    book.save(src)

    cached = {b"A1": (b' t="e"', b"#FIELD!"), b"A2": (b' t="str"', b"&#128;"), b"A3": (b"", b"1_000")}

    def stale(name: str, data: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return data
        return re.sub(rb'<c r="(A[123])"[^>]*>(<f>[^<]*</f>)(?:<v\s*/>|<v>[^<]*</v>)?</c>',
                      lambda m: b'<c r="' + m.group(1) + b'"' + cached[m.group(1)][0] + b">" + m.group(2) + b"<v>"
                      + cached[m.group(1)][1] + b"</v></c>", data)

    edited = repack(src, tmp_path / "edited.xlsx", stale)
    assert b"1_000" in zipfile.ZipFile(edited).read("xl/worksheets/sheet1.xml")
    process_files([str(edited)], str(tmp_path / "out"))
    sheet = zipfile.ZipFile(tmp_path / "out" / "edited.xlsx").read("xl/worksheets/sheet1.xml")
    assert b"#FIELD!" not in sheet and b"&#128;" not in sheet and b"1_000" not in sheet
    assert b"<v>#VALUE!</v>" in sheet and "<v>€</v>".encode() in sheet and b"<v>1000</v>" in sheet


# --- the shared-string table ----------------------------------------------------------------------

_ITEM_TEXT = st.text(st.sampled_from(list("ab &<>\"'売上１ \t")), max_size=6)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["plain", "preserve", "runs", "phonetic", "empty"]), _ITEM_TEXT), max_size=8))
def test_shared_strings_are_read_as_written_in_any_form(items: list[tuple[str, str]]) -> None:
    """Plain items (read at once) and rich ones (runs, phonetic guides, empty) give the text that was written."""
    from xml.sax.saxutils import escape

    from kpitree.recalculation.io.package import shared_strings

    def si(form: str, text: str) -> str:
        t = escape(text)
        return {"plain": f"<si><t>{t}</t></si>", "preserve": f'<si><t xml:space="preserve">{t}</t></si>',
                "runs": f"<si><r><t>{escape(text[:2])}</t></r><r><rPr><b/></rPr><t>{escape(text[2:])}</t></r></si>",
                "phonetic": f"<si><t>{t}</t><rPh sb=\"0\" eb=\"1\"><t>ふりがな</t></rPh></si>",
                "empty": "<si><t/></si>"}[form]

    xml = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           + "".join(si(f, t) for f, t in items) + "</sst>").encode()
    expected = ["" if f == "empty" else t for f, t in items]
    assert shared_strings("xl/sharedStrings.xml", xml) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "a", "売"]),
                          st.integers(0x20, 0x10FFFF).filter(lambda c: not 0xD800 <= c <= 0xDFFF and c not in (0xFFFE, 0xFFFF))
                          .map(lambda c: f"&#{c};" if c % 2 else f"&#x{c:X};")), max_size=6))
def test_character_references_are_read_as_an_xml_parser_reads_them(pieces: list[str]) -> None:
    """``&#128;`` is U+0080 in XML (HTML's rules would read "€"): shared strings and cell values as ElementTree reads them."""
    import xml.etree.ElementTree as ET

    from kpitree.recalculation.io.package import _cell_value, shared_strings

    text = "".join(pieces)
    xml = f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>{text}</t></si></sst>'.encode()
    expected = ET.fromstring(xml)[0][0].text or ""
    assert shared_strings("xl/sharedStrings.xml", xml) == [expected]
    assert _cell_value("str", text.encode(), None, []) == (expected if text else "")


def test_what_an_xml_comment_holds_is_no_cell_and_no_shared_string(tmp_path: Path) -> None:
    """``<!-- <row><c r="A9"><v>7</v></c></row> -->`` and ``<!-- <si>…</si> -->`` are comments to an XML parser
    (openpyxl's reading is the reference); a comment inside a cell is refused rather than misread."""
    src = tmp_path / "c.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"], book.active["B1"], book.active["A2"] = 1, "real", "=A1+1"
    book.save(src)

    def with_comments(name: str, data: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":
            return data.replace(b"<sheetData>", b'<sheetData><!-- <row r="9"><c r="A9"><v>7</v></c></row> -->')
        if name == "xl/sharedStrings.xml":
            return re.sub(rb"(<sst[^>]*>)", rb"\1<!-- <si><t>ghost</t></si> -->", data, count=1)
        return data

    commented = repack(src, tmp_path / "commented.xlsx", with_comments)
    _, parts = read_members(commented)
    from kpitree.recalculation.io.package import shared_strings

    sst = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><!-- <si><t>ghost</t></si> -->'
           b"<si><t>a</t></si><si><r><t>b</t></r><!-- <t>c</t> --></si></sst>")
    assert shared_strings("xl/sharedStrings.xml", sst) == ["a", "b"]  # what ElementTree reads
    cells = {(r, c): cell.value for (r, c), cell in read_workbook(parts).sheets[0].cells.items() if cell.formula is None}
    reference = openpyxl.load_workbook(commented).active
    assert cells == {(cell.row, cell.column): cell.value for row in reference.iter_rows() for cell in row
                     if cell.value is not None and not str(cell.value).startswith("=")}
    assert (9, 1) not in cells and cells[(1, 2)] == "real"
    rows = process_files([str(commented)], str(tmp_path / "out"))
    assert rows[0]["error"] == "" and rows[0]["path"] == "fast"

    inside = repack(src, tmp_path / "inside.xlsx", lambda name, data: data.replace(
        b'<c r="A1"', b'<c r="A1" ', 1).replace(b"<v>1</v>", b"<!-- <v>9</v> --><v>1</v>", 1)
        if name == "xl/worksheets/sheet1.xml" else data)
    rows = process_files([str(inside)], str(tmp_path / "out2"))
    assert "comment inside a cell" in rows[0]["error"]
