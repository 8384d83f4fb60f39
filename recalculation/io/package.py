"""Safe reading of an .xlsx/.xlsm package: zip limits, file-type sniffing, XML without entities.

Everything here treats the input as untrusted. A workbook is refused with a
:class:`WorkbookError` (one line a user can act on) when it is not a zip, is a
truncated zip, is an .xls/.ods/.xlsb, is an encrypted (password-protected) OLE
package, declares XML entities (the "billion laughs" bomb) or would expand past
:class:`Limits`. Nothing is written here; see :mod:`.writeback`.

Sheet XML is scanned with one regular expression per cell instead of a DOM parse:
write-back has to patch the original bytes (a re-serialised DOM would change
namespace prefixes and whitespace), and the same scanner then serves reading.
Parts that are parsed as XML go through :mod:`defusedxml`.
"""

from __future__ import annotations

import codecs
import functools
import io
import os
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from defusedxml import ElementTree as SafeET
from kpitree.udfs.excel_values import XlError

from kpitree.errors import KpitreeError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


class WorkbookError(KpitreeError):
    """A workbook that cannot be recalculated; the message goes into the summary's ``error``."""


Key = tuple[int, int, int]  # a cell: (sheet index, row, column), 1-based row and column


@dataclass(frozen=True)
class Limits:
    """Bounds on what one package may expand to (zip bombs, absurd sheets)."""

    max_total_bytes: int = 256 * 2**20  # all members, uncompressed
    max_member_bytes: int = 128 * 2**20
    max_members: int = 5000
    max_ratio: float = 1000.0  # uncompressed / compressed of a member above 1 MB


DEFAULT_LIMITS = Limits()


# --- the zip ----------------------------------------------------------------------------


def sniff(path: str | os.PathLike[str], head: bytes) -> None:
    """Refuse what is plainly not an OOXML workbook, with a message saying what it is."""
    if head.startswith(OLE_MAGIC):
        with open(path, "rb") as fh:
            blob = fh.read(4 * 2**20)
        if "EncryptedPackage".encode("utf-16-le") in blob:
            raise WorkbookError("password-protected workbook (encrypted OLE package): remove the password in Excel and save again")
        raise WorkbookError("legacy .xls (OLE/BIFF) workbook is not supported: save it as .xlsx")
    if not head.startswith(b"PK"):
        raise WorkbookError("not a zip file: an .xlsx workbook is a zip package")


RAW_MAX_BYTES = 64 * 2**20  # files up to this size are read whole (and their members can be copied raw)


def read_members(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> tuple[list[zipfile.ZipInfo], dict[str, bytes]]:
    """Every member's bytes, read within ``limits`` (headers may lie, so reads are capped too)."""
    infos, parts, _ = read_package(path, limits)
    return infos, parts


def read_package(path: str | os.PathLike[str],
                 limits: Limits = DEFAULT_LIMITS) -> tuple[list[zipfile.ZipInfo], dict[str, bytes], bytes | None]:
    """:func:`read_members`, plus the file's own bytes when it is small enough to keep (for raw copying).

    The members are inflated from those same bytes, so what is copied raw later is
    exactly what was read (and CRC-checked) here, whatever happens to the file meanwhile.
    """
    head, data = _file_bytes(path)
    sniff(path, head)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data) if data is not None else path)
    except (zipfile.BadZipFile, ValueError, EOFError, OverflowError, struct.error, NotImplementedError) as exc:
        raise WorkbookError(f"broken or truncated zip: {exc}") from None
    with zf:
        infos = zf.infolist()
        _check_archive(zf, infos, limits)
        parts: dict[str, bytes] = {}
        budget = limits.max_total_bytes
        for info in infos:
            if not info.is_dir():
                parts[info.filename] = _member(zf, info, data, min(limits.max_member_bytes, budget), limits)
                budget -= len(parts[info.filename])
    check_parts(parts)
    return infos, parts, data


def _file_bytes(path: str | os.PathLike[str]) -> tuple[bytes, bytes | None]:
    """The file's first 8 bytes, and all of it when it is a zip of at most :data:`RAW_MAX_BYTES`."""
    with open(path, "rb") as fh:
        head = fh.read(8)
        size = os.fstat(fh.fileno()).st_size
        if not head.startswith(b"PK") or size > RAW_MAX_BYTES:
            return head, None
        fh.seek(0)
        data = fh.read(RAW_MAX_BYTES + 1)
    return head, data if len(data) <= RAW_MAX_BYTES else None


def _check_archive(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Refuse an archive past the limits, or one that is another kind of document."""
    if len(infos) > limits.max_members:
        raise WorkbookError(f"zip has {len(infos)} members, more than the limit of {limits.max_members}")
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        raise WorkbookError(f"zip members would expand to {total:,} bytes, past the limit of {limits.max_total_bytes:,}")
    _check_member_names(infos)
    locked = next((i.filename for i in infos if i.flag_bits & 0x1), None)
    if locked is not None:  # APPNOTE 4.4.4 bit 0: a zip tool's password, not Excel's (that is an OLE file)
        raise WorkbookError(f"zip member {locked} is encrypted (a password-protected zip): unpack it and save the workbook again")
    names = {i.filename for i in infos}
    if "mimetype" in names and b"opendocument" in _peek(zf, "mimetype"):
        raise WorkbookError("OpenDocument (.ods) spreadsheet is not supported: save it as .xlsx")
    if "xl/workbook.bin" in names:
        raise WorkbookError("binary .xlsb workbook is not supported: save it as .xlsx")
    if "xl/workbook.xml" not in names:
        raise WorkbookError("zip is not an Excel workbook (no xl/workbook.xml)")


def _peek(zf: zipfile.ZipFile, name: str) -> bytes:
    """The first 200 bytes of a small member, or b"" when it cannot be read (the full read says why)."""
    try:
        with zf.open(name) as member:
            return member.read(200)
    except Exception:  # noqa: BLE001 - a damaged member: reading it properly later gives the error
        return b""


_DRIVE = re.compile(r"^[A-Za-z]:")


def plain_member_name(name: str) -> bool:
    """Whether a zip member name is a plain relative path: no ``..`` or ``.``, no root, drive, backslash or control character.

    OPC part names (ECMA-376 part 2, 6.2.2) are exactly such paths; anything else can
    only mean to write outside the folder it is unpacked into (``../x``, ``/etc/x``).
    """
    body = name[:-1] if name.endswith("/") else name
    if not body or body.startswith("/") or "\\" in body or _DRIVE.match(body):
        return False
    if any(ord(ch) < 32 or ch == "\x7f" for ch in body):
        return False
    return all(seg not in ("", ".", "..") for seg in body.split("/"))


def _check_member_names(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse member names that are not plain relative paths, and names used twice (case aside, as OPC compares)."""
    seen: dict[str, str] = {}
    for info in infos:
        name = info.filename
        if not plain_member_name(name):
            raise WorkbookError(f"zip member name {name!r} is not a plain relative path (possible path traversal); refused")
        key = name.rstrip("/").casefold()
        if key in seen:
            raise WorkbookError(f"zip has two members named {seen[key]!r}{'' if seen[key] == name else f' and {name!r}'}; refused")
        seen[key] = name


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes | None, cap: int, limits: Limits) -> bytes:
    """One member's bytes, at most ``cap`` of them (headers may lie, so the read is capped too)."""
    if info.file_size > cap:
        raise WorkbookError(f"zip member {info.filename} would expand to {info.file_size:,} bytes, past the limit")
    if info.file_size > 2**20 and info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
        raise WorkbookError(f"zip member {info.filename} has a compression ratio above {limits.max_ratio:g} (zip bomb?)")
    try:
        member_data = _inflate(data, info, cap) if data is not None else None
        if member_data is None:
            with zf.open(info) as member:
                member_data = member.read(cap + 1)
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, ValueError, OverflowError, struct.error,
            NotImplementedError, RuntimeError) as exc:  # what zipfile raises for damaged headers (a bad offset: ValueError)
        raise WorkbookError(f"broken or truncated zip member {info.filename}: {exc}") from None
    if len(member_data) > cap:
        raise WorkbookError(f"zip member {info.filename} expands past the size limit")
    return member_data


LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")  # APPNOTE.TXT 4.3.7, 30 bytes
LOCAL_SIG = 0x04034B50


def _inflate(data: bytes, info: zipfile.ZipInfo, cap: int) -> bytes | None:
    """A member inflated straight from the file's bytes (no ZipExtFile), or None to let zipfile do it.

    Only the plain case is handled — stored or deflated, not encrypted, a local header
    (APPNOTE 4.3.7) naming the same file, and a result whose size and CRC-32 match the
    central directory; anything else goes through zipfile, which gives its own error.
    """
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None
    start = info.header_offset
    if start < 0 or start + LOCAL_HEADER.size > len(data):
        return None
    fields = LOCAL_HEADER.unpack_from(data, start)
    name_end = start + LOCAL_HEADER.size + fields[9]
    stored_name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace")
    if fields[0] != LOCAL_SIG or data[start + LOCAL_HEADER.size : name_end] != stored_name:
        return None
    offset = name_end + fields[10]
    raw = memoryview(data)[offset : offset + info.compress_size]
    if len(raw) != info.compress_size:
        return None
    try:
        out = bytes(raw[: cap + 1]) if info.compress_type == zipfile.ZIP_STORED else zlib.decompressobj(-15).decompress(raw, cap + 1)
    except zlib.error:
        return None
    if len(out) > cap:
        return out  # the caller refuses it
    if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
        return None
    return out


class Reinflated(Mapping[str, bytes]):
    """Members inflated again from the file's bytes when asked (CRC checked again), nothing kept.

    A batch keeps this instead of the inflated sheets while a chunk is evaluated: ≈ 30 KB
    of compressed bytes per file in flight rather than ≈ 150 KB of XML.
    """

    def __init__(self, data: bytes, infos: list[zipfile.ZipInfo], names: set[str]):
        self._data = data
        self._infos = {i.filename: i for i in infos if i.filename in names}

    def __getitem__(self, name: str) -> bytes:
        info = self._infos[name]
        out = _inflate(self._data, info, info.file_size)
        if out is None or len(out) != info.file_size:
            raise WorkbookError(f"zip member {name} changed between two reads")
        return normalize_xml(name, out)

    def __iter__(self):
        return iter(self._infos)

    def __len__(self) -> int:
        return len(self._infos)


# --- XML ----------------------------------------------------------------------------------


_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)
_XML_DECL_ENCODING = re.compile(rb"""<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DECL_ENCODING_TEXT = re.compile(r"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*["'])[A-Za-z0-9._-]+""")
XML_SUFFIXES = (".xml", ".rels", ".vml")


def xml_encoding(data: bytes) -> str | None:
    """The encoding of an XML part when it is not UTF-8 (byte-order mark, XML declaration), else None."""
    if data.startswith(codecs.BOM_UTF8):
        return None
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if data.startswith(b"<\0?\0"):  # UTF-16 without a byte-order mark (XML 1.0, appendix F)
        return "utf-16-le"
    if data.startswith(b"\0<\0?"):
        return "utf-16-be"
    m = _XML_DECL_ENCODING.match(data[:256])
    if m and m.group(1).decode("ascii").lower().replace("_", "-") not in ("utf-8", "utf8"):
        return m.group(1).decode("ascii")
    return None


def normalize_xml(name: str, data: bytes) -> bytes:
    """An XML part in UTF-8: a part in UTF-16 (or another declared encoding) is legal XML; it is read as UTF-8.

    The text is decoded, the XML declaration's ``encoding`` set to UTF-8 and the text
    encoded again, so every reader here (and the write-back, which patches this text)
    sees UTF-8. Parts that are not XML, and UTF-8 parts, are returned as they are.
    """
    encoding = xml_encoding(data) if data[:1] in (b"<", b"\xef", b"\xfe", b"\xff", b"\0") else None
    if encoding is None:
        return data
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise WorkbookError(f"XML part {name} is not readable {encoding} text ({type(exc).__name__})") from None
    text = _DECL_ENCODING_TEXT.sub(r"\1UTF-8", text.lstrip("\ufeff"), count=1)
    return text.encode("utf-8")


def looks_like_xml(name: str, data: bytes) -> bool:
    """Whether a part is (or could be parsed as) XML: by its name, or by its first bytes whatever its name."""
    if name.lower().endswith(XML_SUFFIXES):
        return True
    head = data[:64].lstrip()
    return head.startswith((b"<", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def check_no_dtd(name: str, data: bytes) -> None:
    """Entity declarations are how XML bombs expand; OOXML never needs a DTD. The whole part is searched."""
    probe = data
    encoding = xml_encoding(data)
    if encoding is not None:
        try:
            probe = data.decode(encoding, errors="replace").encode("utf-8")
        except LookupError:
            probe = data
    if _DOCTYPE.search(probe):
        raise WorkbookError(f"XML part {name} declares a DTD/entities (possible entity bomb); refused")


def check_parts(parts: dict[str, bytes]) -> None:
    """Every XML-looking part in UTF-8 (:func:`normalize_xml`, in place) and without a DTD, whatever its name."""
    for name, data in parts.items():
        if looks_like_xml(name, data):
            data = parts[name] = normalize_xml(name, data)
            check_no_dtd(name, data)


_COMMENT_RE = re.compile(rb"<!--.*?-->", re.S)


def blank_comments(xml: bytes) -> bytes:
    """The part with each XML comment replaced by as many spaces: what a comment holds (``<!-- <c r="A9">…``)
    is no cell for the regular-expression scanners, and byte offsets stay those of the part."""
    if b"<!--" not in xml:
        return xml
    return _COMMENT_RE.sub(lambda m: b" " * len(m.group()), xml)


def check_well_formed(name: str, data: bytes) -> None:
    """Refuse a part that is not well-formed XML: cut short, an undefined entity, a broken tag.

    The regular-expression scanners would read what they can of such a part and leave
    the rest blank; expat (no DTD, no entities beyond XML's five) says where it breaks.
    """
    parser = expat.ParserCreate()

    def refuse(*args: Any) -> None:
        raise WorkbookError(f"XML part {name} declares a DTD/entities (possible entity bomb); refused")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise WorkbookError(f"XML part {name} is damaged: {expat.ErrorString(exc.code)} at line {exc.lineno}, "
                            f"column {exc.offset} — open and save the file in Excel") from None


def parse_xml(name: str, data: bytes) -> Any:
    check_no_dtd(name, data)
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except Exception as exc:  # noqa: BLE001 - defusedxml and expat raise several types
        raise WorkbookError(f"XML part {name} cannot be read: {type(exc).__name__}: {exc}") from None


def _q(tag: str, ns: str = NS_MAIN) -> str:
    return f"{{{ns}}}{tag}"


def _text_of(si: Any) -> str:
    """Text of a shared/inline string, without phonetic (furigana, rPh) runs."""
    out = []
    for child in si:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "t":
            out.append(child.text or "")
        elif tag == "r":
            out.extend(t.text or "" for t in child if t.tag.rsplit("}", 1)[-1] == "t")
    return "".join(out)


# --- cells --------------------------------------------------------------------------------

# One cell element, with an optional namespace prefix; group 2 is the attributes,
# group 4 the content (None for <c/>).
CELL_RE = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?c)\b([^>]*?)(?:/>|>(.*?)</\1>)", re.S)
ATTR_RE = re.compile(rb'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
F_RE = re.compile(rb"<(?:[\w.-]+:)?f\b([^>]*?)(?:/>|>(.*?)</(?:[\w.-]+:)?f>)", re.S)
V_RE = re.compile(rb"<(?:[\w.-]+:)?v\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?v>)", re.S)
IS_RE = re.compile(rb"<(?:[\w.-]+:)?is\b.*?</(?:[\w.-]+:)?is>", re.S)
REF_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def attrs(raw: bytes) -> dict[str, str]:
    return {m.group(1).decode(): xml_unescape((m.group(2) if m.group(2) is not None else m.group(3)).decode())
            for m in ATTR_RE.finditer(raw)}


def col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


@functools.lru_cache(maxsize=1 << 16)
def split_ref(ref: str) -> tuple[int, int]:
    m = REF_RE.match(ref)
    if not m:
        raise WorkbookError(f"bad cell reference {ref!r}")
    return int(m.group(2)), col_number(m.group(1))


@dataclass
class Cell:
    """One stored cell: its formula (``None`` for a constant) and its cached or constant value."""

    ref: str
    formula: str | None = None  # without the leading "="
    ftype: str | None = None  # "shared", "array", "dataTable" or None
    fref: str | None = None  # the range of a shared/array formula
    si: str | None = None  # shared-formula index
    value: Any = None  # float, str, bool, XlError or None (blank)
    span: tuple[int, int] = (0, 0)  # bytes of the <c> element in the sheet part (the scanner sets it)
    dynamic: bool = False  # cm= on the cell: Excel 365's dynamic array (its block is the last spill)


@dataclass
class Sheet:
    name: str
    part: str
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)


@dataclass
class DefinedName:
    name: str
    text: str  # e.g. "Sheet1!$A$1" or a formula
    sheet_index: int | None  # None: workbook scope


@dataclass
class WorkbookData:
    """What recalculation needs from a package, as plain data."""

    sheets: list[Sheet]
    names: list[DefinedName]
    links: list[str] = field(default_factory=list)  # targets of the external links [1], [2], … (add-ins, books)

    def sheet(self, name: str) -> Sheet | None:
        key = name.upper()
        return next((s for s in self.sheets if s.name.upper() == key), None)

    def workbook_names(self) -> dict[str, DefinedName]:
        return {n.name: n for n in self.names if n.sheet_index is None and not n.name.startswith("_xlnm.")}


def _cell_value(t: str | None, v: bytes | None, inline: bytes | None, shared: list[str]) -> Any:
    if t == "inlineStr":
        if inline is None:
            return None
        try:
            return _text_of(SafeET.fromstring(inline))
        except Exception as exc:  # noqa: BLE001 - defusedxml and expat raise several types
            raise WorkbookError(f"an inline string cannot be read ({type(exc).__name__}: {exc})") from None
    if v is None:
        return None
    try:
        text = xml_unescape(v.decode("utf-8"))
    except UnicodeDecodeError:
        raise WorkbookError("a cell value is not UTF-8 text") from None
    if t == "s":
        return _shared_string(text, shared)
    if t in ("str",):
        return text
    if t == "b":
        return text.strip() in ("1", "true")
    if t == "e":
        return XlError.from_text(text) or XlError.VALUE
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise WorkbookError(f"bad number {text!r} in a cell") from None


def _shared_string(text: str, shared: list[str]) -> str:
    try:
        index = int(text)
    except ValueError:
        raise WorkbookError(f"shared string index {text!r} is not a number") from None
    if not 0 <= index < len(shared):  # (-1 would quietly read the last string)
        raise WorkbookError(f"shared string index {index} out of range (the table has {len(shared)} strings)")
    return shared[index]


_R_ATTR = re.compile(rb'\br\s*=\s*["\']([^"\']*)["\']')
_CM_ATTR = re.compile(rb'\bcm\s*=\s*["\']')
_T_ATTR = re.compile(rb'\bt\s*=\s*["\']([^"\']*)["\']')


def _unescape(raw: bytes) -> str:
    return xml_unescape(raw.decode("utf-8"))


_XML_REFERENCE = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9A-Fa-f]+));")
_XML_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def xml_unescape(text: str) -> str:
    """XML's references resolved as XML does (``&#128;`` is U+0080; HTML's rules would make it "€"). The
    part was checked well-formed, so no other reference can be left."""
    if "&" not in text:
        return text
    return _XML_REFERENCE.sub(lambda m: _XML_NAMED[m.group(1)] if m.group(1)
                              else chr(int(m.group(2)) if m.group(2) else int(m.group(3), 16)), text)


def scan_cells(part: str, xml: bytes, shared: list[str]) -> dict[tuple[int, int], Cell]:
    """Every ``<c>`` of a sheet; each remembers its byte span for write-back.

    The part must be well-formed XML (a sheet cut short would otherwise read as blank
    cells) and name each cell once (Excel refuses two ``<c>`` for one cell; which one
    would count is anybody's guess).
    """
    check_no_dtd(part, xml)
    check_well_formed(part, xml)
    cells: dict[tuple[int, int], Cell] = {}
    scan = blank_comments(xml)
    for m in CELL_RE.finditer(scan):
        raw = m.group(2)
        rm = _R_ATTR.search(raw)
        if rm is None:
            raise WorkbookError(f"{part}: cells without an r= reference are not supported")
        ref = rm.group(1).decode()
        if scan is not xml and b"<!--" in xml[m.start():m.end()]:  # its bytes could not be rewritten safely
            raise WorkbookError(f"{part}, cell {ref}: an XML comment inside a cell is not supported")
        tm = _T_ATTR.search(raw)
        t = tm.group(1).decode() if tm else None
        body = m.group(3) or b""
        cell = Cell(ref=ref, span=m.span(), dynamic=_CM_ATTR.search(raw) is not None)
        if b"f" in body:
            fm = F_RE.search(body)
            if fm:
                fa = attrs(fm.group(1)) if fm.group(1).strip() else {}
                cell.ftype = fa.get("t")
                cell.fref = fa.get("ref")
                cell.si = fa.get("si")
                cell.formula = _unescape(fm.group(2)) if fm.group(2) is not None else ""
        vm = V_RE.search(body) if body else None
        im = IS_RE.search(body) if t == "inlineStr" else None
        try:
            cell.value = _cell_value(t, vm.group(1) if vm else None, im.group(0) if im else None, shared)
        except WorkbookError as exc:
            raise WorkbookError(f"{part}, cell {ref}: {exc}") from None
        rc = split_ref(ref)
        if rc in cells:
            raise WorkbookError(f"{part}: cell {ref} is stored twice (two <c> elements); the file is damaged")
        cells[rc] = cell
    return cells


_SI_RE = re.compile(rb"<(?:[\w.-]+:)?si\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?si>)", re.S)
_RPH_RE = re.compile(rb"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", re.S)
_TEXT_RE = re.compile(rb"<(?:[\w.-]+:)?t\b[^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?t>)", re.S)


_PLAIN_SI_RE = re.compile(rb'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>')
_ANY_SI_RE = re.compile(rb"<(?:[\w.-]+:)?si\b")


def shared_strings(name: str, data: bytes) -> list[str]:
    """The shared-string table; a regex scan is safe here because DTDs (entities) are refused and the part is well-formed."""
    check_no_dtd(name, data)
    check_well_formed(name, data)
    data = blank_comments(data)
    plain = _PLAIN_SI_RE.findall(data)
    if len(plain) == len(_ANY_SI_RE.findall(data)):  # every item one plain <t> (most tables): read them at once
        return [_unescape(t) for t in plain]
    out = []
    for m in _SI_RE.finditer(data):
        body = _RPH_RE.sub(b"", m.group(1) or b"")  # phonetic guides (furigana) are not cell text
        out.append("".join(_unescape(t.group(1) or b"") for t in _TEXT_RE.finditer(body)))
    return out


# --- the workbook -------------------------------------------------------------------------


def _rels(parts: Mapping[str, bytes], owner: str) -> dict[str, str]:
    base = posixpath.dirname(owner)
    rels_name = posixpath.join(base, "_rels", posixpath.basename(owner) + ".rels")
    if rels_name not in parts:
        return {}
    root = parse_xml(rels_name, parts[rels_name])
    out = {}
    for rel in root.iter(_q("Relationship", NS_PKG_REL)):
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        out[rel.get("Id", "")] = path
    return out


def read_workbook(parts: dict[str, bytes]) -> WorkbookData:
    """Sheets (in order), defined names and every stored cell."""
    check_parts(parts)  # no part of the package may carry a DTD, parsed here or not
    root = parse_xml("xl/workbook.xml", parts["xl/workbook.xml"])
    rels = _rels(parts, "xl/workbook.xml")
    shared: list[str] = []
    ss_part = next((p for p in rels.values() if p.endswith("sharedStrings.xml")), None)
    if ss_part and ss_part in parts:
        shared = shared_strings(ss_part, parts[ss_part])
    sheets = []
    for el in root.iter(_q("sheet")):
        rid = el.get(_q("id", NS_REL))
        part = rels.get(rid or "")
        if part is None or part not in parts:
            raise WorkbookError(f"sheet {el.get('name')!r} has no part in the package")
        if "chartsheet" in part or "dialogsheet" in part or "macrosheet" in part:
            sheets.append(Sheet(el.get("name", ""), part))
            continue
        sheets.append(Sheet(el.get("name", ""), part, scan_cells(part, parts[part], shared)))
    names = []
    for el in root.iter(_q("definedName")):
        local = el.get("localSheetId")
        names.append(DefinedName(el.get("name", ""), (el.text or "").strip(), int(local) if local is not None else None))
    return WorkbookData(sheets, names, _external_links(parts, root, rels))


def _external_links(parts: Mapping[str, bytes], root: Any, rels: dict[str, str]) -> list[str]:
    """Where each external link ``[n]`` of a formula points (ECMA-376 Part 1, 18.14): the target of its
    externalBook relationship, e.g. ``file:///C:\\Users\\…\\kpitree.xlam``; "" when it cannot be read."""
    out = []
    for el in root.iter(_q("externalReference")):
        part = rels.get(el.get(_q("id", NS_REL)) or "", "")
        target = ""
        if part in parts:
            book = next(parse_xml(part, parts[part]).iter(_q("externalBook")), None)
            rels_name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
            if book is not None and rels_name in parts:
                rid = book.get(_q("id", NS_REL))
                for rel in parse_xml(rels_name, parts[rels_name]).iter(_q("Relationship", NS_PKG_REL)):
                    if rel.get("Id") == rid:
                        target = rel.get("Target", "")
        out.append(target)
    return out


def load(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> tuple[list[zipfile.ZipInfo], dict[str, bytes], WorkbookData]:
    infos, parts = read_members(path, limits)
    return infos, parts, read_workbook(parts)


__all__ = ["Cell", "DefinedName", "Limits", "Sheet", "WorkbookData", "WorkbookError", "load", "read_members", "read_workbook"]
