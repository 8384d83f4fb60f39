"""A minimal, deterministic [MS-CFB] compound file writer (version 3, 512-byte sectors).

Only what a vbaProject.bin needs: storages and streams given as "/"-separated
paths, written once. Section numbers refer to [MS-CFB] "Compound File Binary
File Format". The output depends only on the input: timestamps are zero and
CLSIDs are zero, so equal inputs give equal bytes.

Layout, in sector order: FAT sectors, directory sectors, MiniFAT sectors, the
mini stream, then each stream of 4096 bytes or more. That keeps every chain
contiguous, which is valid (chains are followed through the FAT, 2.3) and easy
to check by eye in a hex dump.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

SECTOR_SIZE = 512  # 2.2: version 3 uses SectorShift 9
MINI_SECTOR_SIZE = 64  # 2.2: MiniSectorShift 6
MINI_STREAM_CUTOFF = 4096  # 2.2: smaller streams live in the mini stream
_ENTRY_SIZE = 128  # 2.6: a directory entry
_HEADER_DIFAT_SLOTS = 109  # 2.2: FAT sector locations held in the header

# 2.1 sector numbers with a special meaning
_FATSECT = 0xFFFFFFFD
_ENDOFCHAIN = 0xFFFFFFFE
_FREESECT = 0xFFFFFFFF
_NOSTREAM = 0xFFFFFFFF  # 2.6.1: "no sibling/child"

# 2.6.1 object types and colors
_STORAGE, _STREAM, _ROOT = 0x01, 0x02, 0x05
_BLACK = 0x01

_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # 2.2 Header Signature


@dataclass
class _Node:
    name: str
    data: bytes | None  # None for a storage
    children: dict[str, _Node] = field(default_factory=dict)
    index: int = 0
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    start: int = _ENDOFCHAIN
    size: int = 0


def sibling_key(name: str) -> tuple[int, str]:
    """Order of siblings in a storage's red-black tree (2.6.4).

    Shorter names sort first (by the Directory Entry Name Length field, i.e.
    UTF-16 length); equal lengths compare code point by code point after simple
    upper-casing.
    """
    upper = "".join(ch.upper() if len(ch.upper()) == 1 else ch for ch in name)
    return len(name.encode("utf-16-le")), upper


def _stream(node: _Node) -> bytes:
    """A stream node's data (storages have none)."""
    if node.data is None:
        raise ValueError(f"{node.name} is a storage, not a stream")
    return node.data


def _place(nodes: list[_Node], table: list[int], sector_size: int) -> bytearray:
    """Lay ``nodes``' data out in contiguous sectors, chaining each in ``table`` (FAT or MiniFAT)."""
    data = bytearray()
    for node in nodes:
        stream = _stream(node)
        node.start, node.size = len(table), len(stream)
        count = _sectors(node.size, sector_size)
        table += _chain(node.start, count)
        data += stream.ljust(count * sector_size, b"\x00")
    return data


def build_compound_file(streams: Mapping[str, bytes]) -> bytes:
    """Write a compound file holding `streams`, keyed by path such as "VBA/dir".

    Intermediate storages are created from the paths. Raises ValueError for
    names the format cannot hold (2.6.1: at most 31 UTF-16 code units, no
    '/', '\\', ':' or '!') and for duplicate names differing only in case.
    """
    root = _tree(streams)
    nodes = list(_preorder(root))
    for index, node in enumerate(nodes):
        node.index = index
    for node in nodes:
        if node.children:
            node.child = _link_balanced(sorted(node.children.values(), key=lambda n: sibling_key(n.name)))

    small = [n for n in nodes[1:] if n.data is not None and 0 < len(n.data) < MINI_STREAM_CUTOFF]
    large = [n for n in nodes[1:] if n.data is not None and len(n.data) >= MINI_STREAM_CUTOFF]

    # Mini stream (2.5): 64-byte mini sectors, chained through the MiniFAT.
    mini_fat: list[int] = []
    mini_stream = _place(small, mini_fat, MINI_SECTOR_SIZE)
    root.size = len(mini_stream)

    dir_sectors = _sectors(len(nodes) * _ENTRY_SIZE, SECTOR_SIZE)
    mini_fat_sectors = _sectors(len(mini_fat) * 4, SECTOR_SIZE)
    mini_stream_sectors = _sectors(len(mini_stream), SECTOR_SIZE)
    data_sectors = dir_sectors + mini_fat_sectors + mini_stream_sectors
    data_sectors += sum(_sectors(len(_stream(n)), SECTOR_SIZE) for n in large)
    fat_sectors = 1
    while fat_sectors * SECTOR_SIZE // 4 < fat_sectors + data_sectors:
        fat_sectors += 1
    if fat_sectors > _HEADER_DIFAT_SLOTS:
        raise ValueError("compound file too large for a header-only DIFAT (about 6.8 MB)")

    # FAT (2.3): FAT sectors are marked FATSECT, every other chain is contiguous.
    fat = [_FATSECT] * fat_sectors
    dir_start = len(fat)
    fat += _chain(dir_start, dir_sectors)
    mini_fat_start = len(fat) if mini_fat_sectors else _ENDOFCHAIN
    fat += _chain(len(fat), mini_fat_sectors)
    root.start = len(fat) if mini_stream_sectors else _ENDOFCHAIN
    fat += _chain(len(fat), mini_stream_sectors)
    body = _place(large, fat, SECTOR_SIZE)
    fat += [_FREESECT] * (fat_sectors * SECTOR_SIZE // 4 - len(fat))

    entries_per_sector = SECTOR_SIZE // _ENTRY_SIZE
    free_entries = dir_sectors * entries_per_sector - len(nodes)
    directory = b"".join(_entry(node) for node in nodes) + _FREE_ENTRY * free_entries
    mini_fat += [_FREESECT] * (mini_fat_sectors * SECTOR_SIZE // 4 - len(mini_fat))

    header = _header(fat_sectors, dir_start, mini_fat_start, mini_fat_sectors)
    return b"".join(
        [
            header,
            struct.pack(f"<{len(fat)}I", *fat),
            directory,
            struct.pack(f"<{len(mini_fat)}I", *mini_fat),
            bytes(mini_stream).ljust(mini_stream_sectors * SECTOR_SIZE, b"\x00"),
            bytes(body),
        ]
    )


def _tree(streams: Mapping[str, bytes]) -> _Node:
    root = _Node("Root Entry", None)
    for path, data in streams.items():
        parts = path.split("/")
        node = root
        for depth, part in enumerate(parts):
            _check_name(part, path)
            is_stream = depth == len(parts) - 1
            existing = next((c for c in node.children.values() if sibling_key(c.name) == sibling_key(part)), None)
            if existing is None:
                existing = node.children[part] = _Node(part, bytes(data) if is_stream else None)
            elif is_stream or existing.data is not None or existing.name != part:
                raise ValueError(f"{path!r} clashes with another entry named {existing.name!r}")
            node = existing
    return root


def _check_name(name: str, path: str) -> None:
    if not name or len(name.encode("utf-16-le")) > 62 or any(c in name for c in "/\\:!"):
        raise ValueError(f"invalid compound file entry name {name!r} in {path!r} (MS-CFB 2.6.1)")


def _preorder(node: _Node) -> Iterator[_Node]:
    yield node
    for child in sorted(node.children.values(), key=lambda n: sibling_key(n.name)):
        yield from _preorder(child)


def _link_balanced(siblings: list[_Node]) -> int:
    """Link sorted siblings into a balanced binary search tree; return its root.

    Every node is black. [MS-CFB] 2.6.4 requires only a black root, no two
    consecutive red nodes and the ordering rule, and notes that the simplest
    valid tree marks every node black. Balancing keeps lookups logarithmic.
    """
    if not siblings:
        return _NOSTREAM
    middle = len(siblings) // 2
    node = siblings[middle]
    node.left = _link_balanced(siblings[:middle])
    node.right = _link_balanced(siblings[middle + 1 :])
    return node.index


def _entry(node: _Node) -> bytes:
    """A 128-byte directory entry (2.6.1); CLSID, state bits and times are zero."""
    name = node.name.encode("utf-16-le") + b"\x00\x00"
    if node.index == 0:
        object_type = _ROOT
    elif node.data is None:
        object_type = _STORAGE
    else:
        object_type = _STREAM
    # Storages other than the root hold no data: start sector and size are 0.
    start = node.start if object_type != _STORAGE else 0
    return (
        name.ljust(64, b"\x00")
        + struct.pack("<HBB3I", len(name), object_type, _BLACK, node.left, node.right, node.child)
        + bytes(16 + 4 + 8 + 8)  # CLSID, state bits, creation and modified time
        + struct.pack("<IQ", start, node.size)
    )


# 2.6.3: an unused entry is all zeroes except the three NOSTREAM links.
_FREE_ENTRY = bytes(66) + b"\x00\x00" + struct.pack("<3I", _NOSTREAM, _NOSTREAM, _NOSTREAM) + bytes(48)


def _header(fat_sectors: int, dir_start: int, mini_fat_start: int, mini_fat_sectors: int) -> bytes:
    """The 512-byte header (2.2) with the FAT sector list in its DIFAT array."""
    difat = list(range(fat_sectors)) + [_FREESECT] * (_HEADER_DIFAT_SLOTS - fat_sectors)
    return (
        _SIGNATURE
        + bytes(16)  # Header CLSID: MUST be zero
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)  # minor, major, byte order, shifts
        + bytes(6)  # Reserved
        + struct.pack(
            "<IIIIIIIII",
            0,  # Number of Directory Sectors: MUST be 0 for version 3
            fat_sectors,
            dir_start,
            0,  # Transaction Signature Number
            MINI_STREAM_CUTOFF,
            mini_fat_start,
            mini_fat_sectors,
            _ENDOFCHAIN,  # First DIFAT Sector Location: none needed
            0,  # Number of DIFAT Sectors
        )
        + struct.pack(f"<{_HEADER_DIFAT_SLOTS}I", *difat)
    )


def _sectors(size: int, sector_size: int) -> int:
    return -(-size // sector_size)


def _chain(start: int, count: int) -> list[int]:
    """FAT/MiniFAT entries for `count` contiguous sectors starting at `start`."""
    return [start + i + 1 for i in range(count - 1)] + [_ENDOFCHAIN] * (count > 0)
