"""[MS-OVBA] building blocks: compression, data encryption and the project streams.

Everything here is pure byte assembly; `vba_project.py` decides what goes in and
`cfb.py` stores the streams in a compound file. Section numbers refer to
[MS-OVBA] "Office VBA File Format Structure" (v20240416 and earlier, unchanged
for the parts used here).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

CHUNK_SIZE = 4096  # 2.4.1.1.3: a DecompressedChunk holds at most 4096 bytes
_SIGNATURE = 0x01  # 2.4.1.1.1 CompressedContainer.SignatureByte
_CHUNK_SIGNATURE = 0b011 << 12  # 2.4.1.1.5 CompressedChunkSignature
_CHUNK_COMPRESSED = 0x8000  # 2.4.1.1.5 CompressedChunkFlag
_MIN_MATCH = 3  # 2.4.1.3.19.4: a CopyToken only pays off from 3 bytes on


def copy_token_help(difference: int) -> tuple[int, int]:
    """Return (bit_count, maximum_length) for a CopyToken (2.4.1.3.19.1).

    `difference` is DecompressedCurrent - DecompressedChunkStart (>= 1). The
    offset field gets ceil(log2(difference)) bits, at least 4; the length field
    keeps the rest, so the longest copy is (0xFFFF >> bit_count) + 3.
    """
    bit_count = max((difference - 1).bit_length(), 4)
    return bit_count, (0xFFFF >> bit_count) + _MIN_MATCH


def compress(data: bytes) -> bytes:
    """Compress `data` into a CompressedContainer (2.4.1.3.6)."""
    out = bytearray([_SIGNATURE])
    for start in range(0, len(data), CHUNK_SIZE):
        out += _compress_chunk(data[start : start + CHUNK_SIZE])
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    """Compress one DecompressedChunk (2.4.1.3.7), falling back to a raw chunk.

    Matches are found through an index of 3-byte prefixes instead of the spec's
    exhaustive backwards scan (2.4.1.3.19.4); candidates are still tried from the
    nearest backwards and only a strictly longer match replaces the best one, so
    the choice follows the spec's tie rule while staying fast on 60 kB modules.
    """
    body = bytearray()
    positions: dict[bytes, list[int]] = {}
    end = len(chunk)
    pos = 0
    while pos < end:
        flag_index = len(body)
        body.append(0)  # FlagByte, patched once its 8 tokens are known (2.4.1.1.7)
        flags = 0
        for bit in range(8):
            if pos >= end:
                break
            offset, length, bit_count = _find_match(chunk, pos, positions)
            if length:
                # 2.4.1.3.19.3 Pack CopyToken: offset-1 in the high bit_count bits
                token = ((offset - 1) << (16 - bit_count)) | (length - _MIN_MATCH)
                body += struct.pack("<H", token)
                flags |= 1 << bit
            else:
                body.append(chunk[pos])  # LiteralToken
                length = 1
            for p in range(pos, min(pos + length, end - _MIN_MATCH + 1)):
                positions.setdefault(chunk[p : p + _MIN_MATCH], []).append(p)
            pos += length
        body[flag_index] = flags
    if len(body) > CHUNK_SIZE:
        # 2.4.1.3.10: the tokens did not fit in 4098 bytes, so store the chunk
        # raw, padded to 4096 bytes (only incompressible data gets here; VBA
        # source never does).
        header = (CHUNK_SIZE + 2 - 3) | _CHUNK_SIGNATURE
        return struct.pack("<H", header) + chunk.ljust(CHUNK_SIZE, b"\x00")
    # 2.4.1.3.13: CompressedChunkSize is the chunk's size (header included) - 3
    header = (len(body) + 2 - 3) | _CHUNK_SIGNATURE | _CHUNK_COMPRESSED
    return struct.pack("<H", header) + bytes(body)


def _find_match(chunk: bytes, pos: int, positions: dict[bytes, list[int]]) -> tuple[int, int, int]:
    """Return (offset, length, bit_count); length 0 means "emit a literal"."""
    candidates = positions.get(chunk[pos : pos + _MIN_MATCH])
    if not candidates:
        return 0, 0, 0
    bit_count, maximum_length = copy_token_help(pos)
    limit = min(maximum_length, len(chunk) - pos)
    best_length, best_candidate = 0, 0
    for candidate in reversed(candidates):
        # A candidate can only win if it also matches at the current best length.
        if best_length and chunk[candidate + best_length] != chunk[pos + best_length]:
            continue
        length = _common_prefix(chunk, candidate, pos, limit)
        if length > best_length:
            best_length, best_candidate = length, candidate
            if length == limit:
                break
    if best_length < _MIN_MATCH:
        return 0, 0, 0
    return pos - best_candidate, best_length, bit_count


def _common_prefix(buf: bytes, a: int, b: int, limit: int) -> int:
    """Length of the common prefix of buf[a:] and buf[b:], at most `limit`.

    Overlapping ranges are fine: a CopyToken may copy bytes it is producing
    (2.4.1.3.11 copies byte by byte), which is the same as comparing the input.
    """
    if buf[a : a + limit] == buf[b : b + limit]:
        return limit
    low, high = 0, limit - 1
    while low < high:
        mid = (low + high + 1) // 2
        if buf[a : a + mid] == buf[b : b + mid]:
            low = mid
        else:
            high = mid - 1
    return low


def decompress(container: bytes) -> bytes:
    """Decompress a CompressedContainer (2.4.1.3.1); raise ValueError if malformed."""
    if not container or container[0] != _SIGNATURE:
        raise ValueError("not a CompressedContainer: SignatureByte is not 0x01")
    out = bytearray()
    pos = 1
    while pos < len(container):
        if pos + 2 > len(container):
            raise ValueError(f"truncated CompressedChunkHeader at byte {pos}")
        (header,) = struct.unpack_from("<H", container, pos)
        if header & 0x7000 != _CHUNK_SIGNATURE:
            raise ValueError(f"bad CompressedChunkSignature at byte {pos}")
        chunk_end = pos + (header & 0x0FFF) + 3
        if chunk_end > len(container):
            raise ValueError(f"chunk at byte {pos} runs past the end of the container")
        if header & _CHUNK_COMPRESSED:
            out += _decompress_chunk(container[pos + 2 : chunk_end])
        elif chunk_end - pos != CHUNK_SIZE + 2:
            raise ValueError(f"raw chunk at byte {pos} is not 4096 bytes (2.4.1.3.3)")
        else:
            out += container[pos + 2 : chunk_end]
        pos = chunk_end
    return bytes(out)


def _decompress_chunk(body: bytes) -> bytes:
    """Decompress the TokenSequences of one CompressedChunk (2.4.1.3.2, 2.4.1.3.4)."""
    out = bytearray()
    pos = 0
    while pos < len(body):
        flags = body[pos]
        pos += 1
        for bit in range(8):
            if pos >= len(body):
                break
            if not flags & (1 << bit):
                out.append(body[pos])
                pos += 1
                continue
            if pos + 2 > len(body):
                raise ValueError("truncated CopyToken")
            (token,) = struct.unpack_from("<H", body, pos)
            pos += 2
            if not out:
                raise ValueError("CopyToken before any decompressed byte")
            bit_count, _ = copy_token_help(len(out))  # 2.4.1.3.19.2 Unpack CopyToken
            offset = (token >> (16 - bit_count)) + 1
            length = (token & (0xFFFF >> bit_count)) + _MIN_MATCH
            if offset > len(out):
                raise ValueError("CopyToken points before the start of the chunk")
            source = len(out) - offset
            for i in range(length):  # byte by byte: source and target may overlap
                out.append(out[source + i])
    if len(out) > CHUNK_SIZE:
        raise ValueError("a chunk decompressed to more than 4096 bytes")
    return bytes(out)


# ---------------------------------------------------------------------------
# 2.4.3 Data Encryption (obfuscation of CMG/DPB/GC in the PROJECT stream)


def encrypt(data: bytes, project_id: str, seed: int) -> str:
    """Obfuscate `data` per 2.4.3.2 and return it as upper-case hex (2.4.3.1).

    `seed` is normally random; a fixed seed keeps the output reproducible. The
    IgnoredEnc bytes are "any value": we encrypt zeros.
    """
    version = 2
    project_key = sum(project_id.encode("ascii")) & 0xFF
    version_enc = seed ^ version
    project_key_enc = seed ^ project_key
    out = bytearray([seed, version_enc, project_key_enc])
    unencrypted_1, encrypted_1, encrypted_2 = project_key, project_key_enc, version_enc
    ignored = bytes((seed & 6) // 2)
    for byte in ignored + struct.pack("<I", len(data)) + data:
        byte_enc = byte ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        out.append(byte_enc)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, byte_enc, byte
    return out.hex().upper()


def decrypt(hex_text: str) -> bytes:
    """Reverse `encrypt` (2.4.3.3); used to check PROJECT stream values."""
    raw = bytes.fromhex(hex_text)
    seed, version_enc, project_key_enc = raw[0], raw[1], raw[2]
    if seed ^ version_enc != 2:
        raise ValueError("encrypted data is not version 2")
    unencrypted_1, encrypted_1, encrypted_2 = seed ^ project_key_enc, project_key_enc, version_enc
    plain = bytearray()
    for byte_enc in raw[3:]:
        byte = byte_enc ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        plain.append(byte)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, byte_enc, byte
    ignored = (seed & 6) // 2
    (length,) = struct.unpack_from("<I", plain, ignored)
    data = bytes(plain[ignored + 4 :])
    if len(data) != length:
        raise ValueError(f"DataLength says {length} bytes, found {len(data)}")
    return data


# ---------------------------------------------------------------------------
# Streams


@dataclass(frozen=True)
class ModuleEntry:
    """What the dir and PROJECT streams say about one module.

    `document_or_class` selects MODULETYPE 0x0022 (2.3.4.2.3.2.8), used for
    document, class and designer modules; standard modules get 0x0021.
    """

    name: str
    project_line: str  # the ProjectModule line of 2.3.1.3, e.g. "Class=Ribbon"
    document_or_class: bool


@dataclass(frozen=True)
class Reference:
    """A REFERENCEREGISTERED entry (2.3.4.2.2.5) with its REFERENCENAME."""

    name: str
    libid: str


# The two references Excel writes into every new project: OLE Automation and
# the Office object library (IRibbonControl lives there).
STANDARD_REFERENCES = (
    Reference(
        "stdole",
        "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#"
        "C:\\Windows\\System32\\stdole2.tlb#OLE Automation",
    ),
    Reference(
        "Office",
        "*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#"
        "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL"
        "#Microsoft Office 16.0 Object Library",
    ),
)

# 2.3.4.1: version 0xFFFF tells the host the performance caches are absent, so it
# compiles the project from the module source on open.
VBA_PROJECT_STREAM = struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0000)

_LCID_EN_US = 0x0409  # 2.3.4.2.1.3/2.3.4.2.1.4: MUST be 0x409
_SYSKIND_WIN32 = 0x00000001  # 2.3.4.2.1.1


def _record(record_id: int, payload: bytes) -> bytes:
    """Id (2 bytes), Size (4 bytes), payload: the shape of every dir record."""
    return struct.pack("<HI", record_id, len(payload)) + payload


def _text_records(record_id: int, unicode_id: int, text: str, codepage: str) -> bytes:
    """A record holding MBCS text followed by its UTF-16 twin (e.g. 2.3.4.2.1.7)."""
    return _record(record_id, text.encode(codepage)) + _record(unicode_id, text.encode("utf-16-le"))


def dir_stream(
    project_name: str,
    modules: Sequence[ModuleEntry],
    references: Sequence[Reference],
    codepage: int,
) -> bytes:
    """The decompressed `dir` stream (2.3.4.2); callers store `compress()` of it."""
    codec = python_codec(codepage)
    out = bytearray()
    # 2.3.4.2.1 PROJECTINFORMATION
    out += _record(0x0001, struct.pack("<I", _SYSKIND_WIN32))  # PROJECTSYSKIND
    out += _record(0x0002, struct.pack("<I", _LCID_EN_US))  # PROJECTLCID
    out += _record(0x0014, struct.pack("<I", _LCID_EN_US))  # PROJECTLCIDINVOKE
    out += _record(0x0003, struct.pack("<H", codepage))  # PROJECTCODEPAGE
    out += _record(0x0004, project_name.encode(codec))  # PROJECTNAME
    out += _text_records(0x0005, 0x0040, "", codec)  # PROJECTDOCSTRING
    # PROJECTHELPFILEPATH: HelpFile1 and HelpFile2 are both MBCS and must be equal
    out += _record(0x0006, b"") + _record(0x003D, b"")
    out += _record(0x0007, struct.pack("<I", 0))  # PROJECTHELPCONTEXT
    out += _record(0x0008, struct.pack("<I", 0))  # PROJECTLIBFLAGS
    # PROJECTVERSION: its Reserved field MUST be 4 although 6 bytes follow (2.3.4.2.1.11)
    out += struct.pack("<HIIH", 0x0009, 0x00000004, 1, 0)
    out += _text_records(0x000C, 0x003C, "", codec)  # PROJECTCONSTANTS
    # 2.3.4.2.2 PROJECTREFERENCES
    for reference in references:
        out += _text_records(0x0016, 0x003E, reference.name, codec)  # REFERENCENAME
        libid = reference.libid.encode(codec)
        registered = struct.pack("<I", len(libid)) + libid + struct.pack("<IH", 0, 0)
        out += _record(0x000D, registered)  # REFERENCEREGISTERED
    # 2.3.4.2.3 PROJECTMODULES, with PROJECTCOOKIE (Cookie MUST be 0xFFFF on write)
    out += _record(0x000F, struct.pack("<H", len(modules)))
    out += _record(0x0013, struct.pack("<H", 0xFFFF))
    for module in modules:
        out += _record(0x0019, module.name.encode(codec))  # MODULENAME
        out += _record(0x0047, module.name.encode("utf-16-le"))  # MODULENAMEUNICODE
        out += _text_records(0x001A, 0x0032, module.name, codec)  # MODULESTREAMNAME
        out += _text_records(0x001C, 0x0048, "", codec)  # MODULEDOCSTRING
        out += _record(0x0031, struct.pack("<I", 0))  # MODULEOFFSET: no performance cache
        out += _record(0x001E, struct.pack("<I", 0))  # MODULEHELPCONTEXT
        out += _record(0x002C, struct.pack("<H", 0xFFFF))  # MODULECOOKIE
        out += _record(0x0022 if module.document_or_class else 0x0021, b"")  # MODULETYPE
        out += _record(0x002B, b"")  # MODULE Terminator
    out += _record(0x0010, b"")  # dir stream Terminator (2.3.4.2)
    return bytes(out)


# Seeds for the three obfuscated PROJECT values; any byte is valid (2.4.3.2),
# fixed ones keep builds reproducible.
_SEED_CMG, _SEED_DPB, _SEED_GC = 0xF1, 0x85, 0x2D


def project_stream(project_name: str, project_id: str, modules: Sequence[ModuleEntry], codepage: int) -> bytes:
    """The PROJECT stream (2.3.1): MBCS text, CRLF line ends (NWLN)."""
    lines = [f'ID="{project_id}"']
    lines += [module.project_line for module in modules]  # 2.3.1.3 ProjectModules
    lines += [
        f'Name="{project_name}"',  # 2.3.1.6
        'HelpContextID="0"',  # 2.3.1.9
        'VersionCompatible32="393222000"',  # 2.3.1.10: MUST be this value if present
        # 2.3.1.15 ProjectProtectionState: 4 zero bytes = not protected
        f'CMG="{encrypt(bytes(4), project_id, _SEED_CMG)}"',
        # 2.3.1.16 ProjectPassword: a single 0x00 byte = no password
        f'DPB="{encrypt(bytes(1), project_id, _SEED_DPB)}"',
        # 2.3.1.17 ProjectVisibilityState: 0xFF = visible
        f'GC="{encrypt(bytes([0xFF]), project_id, _SEED_GC)}"',
        "",
        # 2.3.1.18 HostExtenders: the VBE extender every host lists
        "[Host Extender Info]",
        "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
        "",
    ]
    return "\r\n".join(lines).encode(python_codec(codepage))


def project_wm_stream(module_names: Sequence[str], codepage: int) -> bytes:
    """The PROJECTwm stream (2.3.3): MBCS name + NUL, UTF-16 name + NUL, ..., 0x0000."""
    codec = python_codec(codepage)
    out = bytearray()
    for name in module_names:
        out += name.encode(codec) + b"\x00" + name.encode("utf-16-le") + b"\x00\x00"
    out += b"\x00\x00"
    return bytes(out)


def module_stream(source: bytes) -> bytes:
    """A module stream (2.3.4.3): no PerformanceCache, so MODULEOFFSET is 0."""
    return compress(source)


def python_codec(codepage: int) -> str:
    """The Python codec for a Windows code page (PROJECTCODEPAGE, 2.3.4.2.1.5)."""
    return "utf-8" if codepage == 65001 else f"cp{codepage}"
