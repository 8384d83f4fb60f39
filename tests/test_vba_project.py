"""Checks of the vbaProject.bin writer by readers we did not write: olefile, oletools."""

from __future__ import annotations

import hashlib
import os
import struct

import olefile
import pytest
import xlwings
from hypothesis import given, settings
from hypothesis import strategies as st
from kpitree.addin import cfb, ovba
from kpitree.addin.vba_project import VbaModule, build_vba_project, stored_source
from oletools.olevba import VBA_Parser, decompress_stream, filter_vba

XLWINGS_BAS = os.path.join(os.path.dirname(xlwings.__file__), "xlwings_custom_addin.bas")

CLASS_EXPORT = (
    "VERSION 1.0 CLASS\r\n"
    "BEGIN\r\n"
    "  MultiUse = -1  'True\r\n"
    "END\r\n"
    'Attribute VB_Name = "RibbonState"\r\n'
    "Attribute VB_GlobalNameSpace = False\r\n"
    "Attribute VB_Creatable = False\r\n"
    "Attribute VB_PredeclaredId = False\r\n"
    "Attribute VB_Exposed = False\r\n"
    "Option Explicit\r\n"
    "Public Invalidations As Long\r\n"
    "Public Sub Touch()\r\n"
    "    Invalidations = Invalidations + 1\r\n"
    "End Sub\r\n"
)


def sample_modules() -> list[VbaModule]:
    with open(XLWINGS_BAS, encoding="ascii", newline="") as handle:
        xlwings_source = handle.read()
    return [
        VbaModule(
            "ThisWorkbook",
            'Option Explicit\nPrivate Sub Workbook_Open()\n    Application.StatusBar = "KPI tree " & ChrW(8594)\nEnd Sub\n',
            "document",
        ),
        VbaModule("Sheet1", "", "document"),
        VbaModule("xlwings", xlwings_source, "standard"),
        VbaModule("RibbonState", CLASS_EXPORT, "class"),
        VbaModule(
            "RibbonCallbacks",
            "Option Explicit\r\nPublic Sub OnRecalc(control As IRibbonControl)\r\n    RunPython \"import kpitree\"\r\nEnd Sub",
        ),
    ]


@pytest.fixture(scope="module")
def project_bin() -> bytes:
    return build_vba_project("KpiTree", sample_modules())


# --- [MS-OVBA] 2.4.1 compression -------------------------------------------------


def copy_tokens(container: bytes) -> list[tuple[int, int, int]]:
    """(position in chunk, bit_count, length) of every CopyToken, parsed independently."""
    tokens = []
    pos = 1
    while pos < len(container):
        (header,) = struct.unpack_from("<H", container, pos)
        end = pos + (header & 0x0FFF) + 3
        if header & 0x8000:
            cur, produced = pos + 2, 0
            while cur < end:
                flags = container[cur]
                cur += 1
                for bit in range(8):
                    if cur >= end:
                        break
                    if flags >> bit & 1:
                        (token,) = struct.unpack_from("<H", container, cur)
                        bit_count = max(4, (produced - 1).bit_length())
                        length = (token & (0xFFFF >> bit_count)) + 3
                        tokens.append((produced, bit_count, length))
                        produced += length
                        cur += 2
                    else:
                        produced += 1
                        cur += 1
        pos = end
    return tokens


def assert_round_trip(data: bytes) -> bytes:
    packed = ovba.compress(data)
    assert ovba.decompress(packed) == data
    assert decompress_stream(packed) == data
    return packed


@pytest.mark.parametrize(
    ("difference", "bit_count", "maximum_length"),
    [(1, 4, 4098), (16, 4, 4098), (17, 5, 2050), (32, 5, 2050), (33, 6, 1026), (2048, 11, 34), (2049, 12, 18), (4095, 12, 18)],
)
def test_copy_token_help_matches_spec_table(difference: int, bit_count: int, maximum_length: int) -> None:
    assert ovba.copy_token_help(difference) == (bit_count, maximum_length)
    assert maximum_length == (0xFFFF >> bit_count) + 3


def test_copy_tokens_reach_but_never_exceed_maximum_length() -> None:
    # 600 distinct-ish bytes, then the same bytes repeated: every copy from
    # position 600 on could run far past the token's maximum length, so each
    # must be cut at exactly (0xFFFF >> bit_count) + 3. ms-ovba 0.0.1 got this
    # limit wrong and corrupted long modules.
    prefix = bytes((i * 7 + i // 256 * 3) % 256 for i in range(600))
    data = prefix * 6
    packed = assert_round_trip(data)
    tokens = copy_tokens(packed)
    assert tokens
    for _position, bit_count, length in tokens:
        assert length <= (0xFFFF >> bit_count) + 3
    at_maximum = [t for t in tokens if t[2] == (0xFFFF >> t[1]) + 3]
    assert len(at_maximum) >= 10
    assert {bit_count for _, bit_count, _ in at_maximum} >= {10, 11, 12}


@pytest.mark.parametrize("size", [1, 2, 3, 4, 17, 4095, 4096, 4097, 8192, 70_000])
def test_long_runs_round_trip(size: int) -> None:
    packed = assert_round_trip(b"a" * size)
    assert len(packed) < 16 + size // 100 * 2


def test_spec_examples() -> None:
    # [MS-OVBA] 3.2.1: no repeats, literal tokens only
    assert ovba.compress(b"abcdefghijklmnopqrstuv.") == bytes.fromhex(
        "0119B000616263646566676800696A6B6C6D6E6F70007172737475762E"
    )
    # a single run is one literal plus one maximal CopyToken
    assert ovba.compress(b"a" * 73) == bytes.fromhex("0103B002614500")
    # [MS-OVBA] 3.2.2 shows Office's own (different but valid) token choice
    office = bytes.fromhex(
        "012FB00023616161626364658266007061676869"
        "6A013808616B6C00306D6E6F70067102700410727374757610"
        "7778797A003C"
    )
    text = b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
    assert ovba.decompress(office) == text
    assert_round_trip(text)


def test_sixty_kilobyte_module_round_trips() -> None:
    lines = [f"    total = total + Worksheets(\"Data\").Cells({i}, {i % 7 + 1}).Value ' row {i}" for i in range(900)]
    source = ("Public Function Total() As Double\r\n" + "\r\n".join(lines) + "\r\nEnd Function\r\n").encode("ascii")
    assert len(source) > 60_000
    packed = assert_round_trip(source)
    assert len(packed) < len(source) // 2


def test_xlwings_module_round_trips() -> None:
    with open(XLWINGS_BAS, "rb") as handle:
        assert_round_trip(handle.read())


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab Dim x = 1\r\n'_().\"")), max_size=12_000))
def test_text_round_trips(text: str) -> None:
    assert_round_trip(text.encode("ascii"))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=10_000))
def test_binary_round_trips_with_raw_chunk_padding(data: bytes) -> None:
    packed = ovba.compress(data)
    unpacked = ovba.decompress(packed)
    assert decompress_stream(packed) == unpacked
    assert unpacked[: len(data)] == data
    if len(unpacked) != len(data):
        # 2.4.1.3.10: only a final raw (uncompressed) chunk is padded to 4096 bytes
        assert unpacked[len(data) :] == bytes(len(unpacked) - len(data))
        last_header = struct.unpack_from("<H", packed, len(packed) - 4098)[0]
        assert last_header == 0x3FFF


def test_decompress_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        ovba.decompress(b"\x02\x00")
    with pytest.raises(ValueError):
        ovba.decompress(b"\x01\x05\x00")


# --- [MS-OVBA] 2.4.3 data encryption ---------------------------------------------


def test_encryption_reproduces_an_office_value() -> None:
    # CMG of a project written by Office (quoted in oletools' olevba source)
    project_id = "{5312AC8A-349D-4950-BDD0-49BE3C4DD0F0}"
    assert ovba.encrypt(bytes(4), project_id, 0xF1) == "F1F301E705E705E705E705"
    assert ovba.decrypt("8F8D7FE3831F2020202020") == b"\x00"  # DPB: no password
    assert ovba.decrypt("2D2FDD81E51EE61EE6E1") == b"\xff"  # GC: visible


# --- [MS-CFB] container ------------------------------------------------------------


def test_olefile_strict_lists_the_streams(project_bin: bytes) -> None:
    ole = olefile.OleFileIO(project_bin, raise_defects=olefile.DEFECT_INCORRECT)
    streams = {"/".join(path) for path in ole.listdir()}
    assert streams == {
        "PROJECT",
        "PROJECTwm",
        "VBA/_VBA_PROJECT",
        "VBA/dir",
        "VBA/ThisWorkbook",
        "VBA/Sheet1",
        "VBA/xlwings",
        "VBA/RibbonState",
        "VBA/RibbonCallbacks",
    }
    assert ole.get_type("VBA") == olefile.STGTY_STORAGE
    assert ole.openstream("VBA/_VBA_PROJECT").read() == bytes.fromhex("CC61FFFF000000")


def test_directory_trees_are_black_and_ordered(project_bin: bytes) -> None:
    ole = olefile.OleFileIO(project_bin, raise_defects=olefile.DEFECT_INCORRECT)

    def in_order(sid: int) -> list[olefile.olefile.OleDirectoryEntry]:
        if sid == olefile.NOSTREAM:
            return []
        entry = ole.direntries[sid]
        return [*in_order(entry.sid_left), entry, *in_order(entry.sid_right)]

    storages = [e for e in ole.direntries if e is not None and e.entry_type in (olefile.STGTY_ROOT, olefile.STGTY_STORAGE)]
    for storage in storages:
        siblings = in_order(storage.sid_child)
        names = [e.name for e in siblings]
        assert names == sorted(names, key=cfb.sibling_key), names
        assert all(e.color == 1 for e in siblings)  # 0x01 = black (MS-CFB 2.6.1)
    assert cfb.sibling_key("b") < cfb.sibling_key("AA") < cfb.sibling_key("ab") < cfb.sibling_key("AC")


def test_large_and_small_streams_and_reproducibility() -> None:
    streams = {"small": b"x" * 100, "S/big": os.urandom(70_000), "S/edge": b"y" * 4096, "empty": b""}
    data = cfb.build_compound_file(streams)
    assert data == cfb.build_compound_file(streams)
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_INCORRECT)
    for path, content in streams.items():
        assert ole.openstream(path).read() == content
    with pytest.raises(ValueError):
        cfb.build_compound_file({"a/B": b"1", "A/b": b"2"})


# --- VBA project content -------------------------------------------------------------


def test_olevba_extracts_exact_module_text(project_bin: bytes) -> None:
    modules = {m.name: m for m in sample_modules()}
    parser = VBA_Parser("vbaProject.bin", data=project_bin, relaxed=False)
    extracted = {stream.split("/")[-1]: code for _, stream, _, code in parser.extract_macros()}
    assert extracted.keys() == modules.keys()
    for name, code in extracted.items():
        # olevba returns the stored text verbatim: attribute block, CRLF endings
        assert code == stored_source(modules[name])
    with open(XLWINGS_BAS, encoding="ascii", newline="") as handle:
        assert extracted["xlwings"] == handle.read()
    # and with the module attributes hidden, as its reports show it
    assert filter_vba(extracted["RibbonState"]) == "\n".join(CLASS_EXPORT.split("\r\n")[9:-1])
    assert filter_vba(extracted["ThisWorkbook"]).split("\n") == modules["ThisWorkbook"].source.split("\n")[:-1]


def test_stored_text_headers() -> None:
    modules = {m.name: m for m in sample_modules()}
    class_text = stored_source(modules["RibbonState"])
    assert class_text.startswith(
        'Attribute VB_Name = "RibbonState"\r\n'
        'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"\r\n'
        "Attribute VB_GlobalNameSpace = False\r\n"
        "Attribute VB_Creatable = False\r\n"
        "Attribute VB_PredeclaredId = False\r\n"
        "Attribute VB_Exposed = False\r\n"
        "Attribute VB_TemplateDerived = False\r\n"
        "Attribute VB_Customizable = False\r\n"
        "Option Explicit\r\n"
    )
    assert "VERSION" not in class_text and "MultiUse" not in class_text
    workbook_text = stored_source(modules["ThisWorkbook"])
    assert 'Attribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"\r\n' in workbook_text
    assert "Attribute VB_PredeclaredId = True\r\nAttribute VB_Exposed = True\r\n" in workbook_text
    assert 'Attribute VB_Base = "0{00020820-0000-0000-C000-000000000046}"' in stored_source(modules["Sheet1"])
    callbacks = stored_source(modules["RibbonCallbacks"])
    assert callbacks.startswith('Attribute VB_Name = "RibbonCallbacks"\r\nOption Explicit\r\n')
    assert callbacks.endswith("End Sub\r\n") and "\n" not in callbacks.replace("\r\n", "")
    predeclared = VbaModule("Cache", "Attribute VB_PredeclaredId = True\nDim x\n", "class")
    assert "Attribute VB_PredeclaredId = True\r\n" in stored_source(predeclared)


def test_project_dir_and_wm_streams(project_bin: bytes) -> None:
    ole = olefile.OleFileIO(project_bin, raise_defects=olefile.DEFECT_INCORRECT)
    project = ole.openstream("PROJECT").read().decode("cp1252").split("\r\n")
    assert project[:6] == [
        'ID="{6B1C5E0A-3D2F-4A8B-9C7E-1F0A2B3C4D5E}"',
        "Document=ThisWorkbook/&H00000000",
        "Document=Sheet1/&H00000000",
        "Module=xlwings",
        "Class=RibbonState",
        "Module=RibbonCallbacks",
    ]
    assert 'Name="KpiTree"' in project and "[Host Extender Info]" in project
    values = dict(line.split("=", 1) for line in project if line[:4] in ("CMG=", "DPB=", "GC=\""))
    assert ovba.decrypt(values["CMG"].strip('"')) == bytes(4)
    assert ovba.decrypt(values["DPB"].strip('"')) == b"\x00"
    assert ovba.decrypt(values["GC"].strip('"')) == b"\xff"

    directory = ovba.decompress(ole.openstream("VBA/dir").read())
    assert (
        b"*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\\Windows\\System32\\stdole2.tlb#OLE Automation"
        in directory
    )
    assert b"*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#" in directory
    assert directory.count(struct.pack("<HII", 0x0031, 4, 0)) == 5  # MODULEOFFSET = 0 each
    for module in sample_modules():
        stream = ole.openstream(f"VBA/{module.name}").read()
        assert stream[0] == 0x01  # source container at offset 0: no performance cache
        assert ovba.decompress(stream) == stored_source(module).encode("cp1252")

    wm = ole.openstream("PROJECTwm").read()
    assert wm.startswith(b"ThisWorkbook\x00" + "ThisWorkbook".encode("utf-16-le") + b"\x00\x00")
    assert wm.endswith("RibbonCallbacks".encode("utf-16-le") + b"\x00\x00\x00\x00")


def test_build_is_reproducible(project_bin: bytes) -> None:
    again = build_vba_project("KpiTree", sample_modules())
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(project_bin).hexdigest()


def test_unencodable_character_names_module_and_line() -> None:
    module = VbaModule("Labels", "Option Explicit\nConst Arrow = \"\u2192\"\n")
    with pytest.raises(ValueError, match=r"'Labels', line 2.*U\+2192.*ChrW\(8594\)"):
        build_vba_project("KpiTree", [module])
    # the same text is fine in a code page that has the character
    assert build_vba_project("KpiTree", [VbaModule("Labels", "Const E = \"\u00e9\"\n")])


def test_invalid_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        build_vba_project("P", [VbaModule("A", ""), VbaModule("a", "")])
    with pytest.raises(ValueError, match="collides"):
        build_vba_project("P", [VbaModule("dir", "")])
    with pytest.raises(ValueError, match="VB_Name"):
        build_vba_project("P", [VbaModule("A", 'Attribute VB_Name = "B"\n')])
    with pytest.raises(ValueError):
        VbaModule("1bad", "")
    with pytest.raises(ValueError):
        VbaModule("Ok", "", "form")  # type: ignore[arg-type]
