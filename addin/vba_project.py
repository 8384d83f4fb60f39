"""Build an Excel vbaProject.bin from VBA source text, without Excel.

The project is written source-only: `_VBA_PROJECT` has version 0xFFFF and the
module streams hold no performance cache ([MS-OVBA] 2.3.4.1, 2.3.4.3), so Excel
compiles the modules from their source the first time it opens the file.

Module text is stored the way the VBA editor stores it after importing a
.bas/.cls file: the `VERSION 1.0 CLASS` / `BEGIN ... END` block of a .cls export
is dropped, the module-level `Attribute VB_...` block comes first (with the
full block Excel writes for class and document modules) and lines end in CRLF.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from . import cfb, ovba

ModuleKind = Literal["standard", "class", "document"]

# Any fixed GUID works; it keys the obfuscation of the PROJECT stream (2.4.3.2)
# and staying fixed keeps builds byte-reproducible.
DEFAULT_PROJECT_ID = "{6B1C5E0A-3D2F-4A8B-9C7E-1F0A2B3C4D5E}"
WORKBOOK_CODE_NAME = "ThisWorkbook"

# VB_Base values Excel writes: the VBA class for class modules, and the Excel
# Workbook / Worksheet coclasses for document modules.
_CLASS_BASE = '"0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"'
_WORKBOOK_BASE = '"0{00020819-0000-0000-C000-000000000046}"'
_WORKSHEET_BASE = '"0{00020820-0000-0000-C000-000000000046}"'

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}\Z")  # VBA names: <= 31 chars
_GUID = re.compile(r"\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}\Z")
_ATTRIBUTE = re.compile(r"Attribute\s+(VB_\w+)\s*=\s*(.*?)\s*\Z", re.IGNORECASE)
_NEWLINE = re.compile(r"\r\n|\r|\n")
_RESERVED_STREAMS = {"dir"}  # the only VBA-storage stream name that is also a VBA identifier


@dataclass(frozen=True)
class VbaModule:
    """One VBA module: its name, its source text and what kind of module it is.

    `source` may or may not start with the `Attribute VB_Name` header (as in a
    file exported by the VBA editor); a .cls export's VERSION/BEGIN/END header
    is accepted too. Document modules (ThisWorkbook, Sheet1, ...) must be named
    like the workbook's and sheets' codeName.
    """

    name: str
    source: str
    kind: ModuleKind = "standard"

    def __post_init__(self) -> None:
        if self.kind not in ("standard", "class", "document"):
            raise ValueError(f"module {self.name!r}: kind must be standard, class or document, not {self.kind!r}")
        if not _IDENTIFIER.match(self.name):
            raise ValueError(f"module name {self.name!r} is not a VBA identifier of at most 31 characters")


def build_vba_project(
    project_name: str,
    modules: Sequence[VbaModule],
    *,
    codepage: int = 1252,
    project_id: str = DEFAULT_PROJECT_ID,
) -> bytes:
    """Return the bytes of a vbaProject.bin holding `modules`.

    Same inputs give byte-identical output. Raises ValueError for invalid or
    duplicate names and for source characters the code page cannot encode.
    """
    if not _IDENTIFIER.match(project_name):
        raise ValueError(f"project name {project_name!r} is not a VBA identifier of at most 31 characters")
    if not _GUID.match(project_id):
        raise ValueError(f"project_id {project_id!r} is not an upper-case GUID in braces")
    _check_names(modules)
    codec = ovba.python_codec(codepage)
    entries = [_module_entry(module) for module in modules]
    streams = {
        "PROJECT": ovba.project_stream(project_name, project_id, entries, codepage),
        "PROJECTwm": ovba.project_wm_stream([m.name for m in modules], codepage),
        "VBA/_VBA_PROJECT": ovba.VBA_PROJECT_STREAM,
        "VBA/dir": ovba.compress(ovba.dir_stream(project_name, entries, ovba.STANDARD_REFERENCES, codepage)),
    }
    for module in modules:
        streams[f"VBA/{module.name}"] = ovba.module_stream(_encode(module, codec))
    return cfb.build_compound_file(streams)


def stored_source(module: VbaModule) -> str:
    """The module text as stored in its module stream (before encoding).

    This is what olevba and Excel's "Export File" give back: attribute block
    first, then the code, every line ending in CRLF.
    """
    lines = _NEWLINE.split(module.source)
    if lines and lines[-1] == "":
        lines.pop()  # the source's final line break, not an extra empty line
    lines = _strip_class_header(lines)
    attributes: list[tuple[str, str]] = []
    while lines and (match := _ATTRIBUTE.match(lines[0])):
        attributes.append((match.group(1), match.group(2)))
        lines.pop(0)
    header = [f"Attribute {key} = {value}" for key, value in _attribute_block(module, attributes)]
    return "".join(line + "\r\n" for line in header + lines)


def _strip_class_header(lines: list[str]) -> list[str]:
    """Drop a .cls export's `VERSION 1.0 CLASS` line and BEGIN ... END block."""
    if not lines or not re.match(r"VERSION\s+\d+\.\d+\s+CLASS\s*\Z", lines[0], re.IGNORECASE):
        return lines
    rest = lines[1:]
    if not rest or rest[0].strip().upper() != "BEGIN":
        return rest
    depth = 0
    for index, line in enumerate(rest):
        word = line.strip().upper()
        if word.startswith("BEGIN"):
            depth += 1
        elif word == "END":
            depth -= 1
            if depth == 0:
                return rest[index + 1 :]
    raise ValueError("class header: BEGIN without matching END")


def _attribute_block(module: VbaModule, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Merge the source's module attributes into the block Excel writes."""
    given = {key.lower(): (key, value) for key, value in found}
    name = given.pop("vb_name", (None, f'"{module.name}"'))[1]
    if name.strip('"').lower() != module.name.lower():
        raise ValueError(f"module {module.name!r}: its source says Attribute VB_Name = {name}")
    block = [("VB_Name", f'"{module.name}"')]
    if module.kind != "standard":
        document = module.kind == "document"
        is_workbook = module.name.lower() == WORKBOOK_CODE_NAME.lower()
        defaults = [
            ("VB_Base", _CLASS_BASE if not document else _WORKBOOK_BASE if is_workbook else _WORKSHEET_BASE),
            ("VB_GlobalNameSpace", "False"),
            ("VB_Creatable", "False"),
            ("VB_PredeclaredId", "True" if document else "False"),
            ("VB_Exposed", "True" if document else "False"),
            ("VB_TemplateDerived", "False"),
            ("VB_Customizable", "True" if document else "False"),
        ]
        block += [(key, given.pop(key.lower(), (key, value))[1]) for key, value in defaults]
    return block + list(given.values())


def _encode(module: VbaModule, codec: str) -> bytes:
    """Encode the stored text, naming the source line of any unencodable character."""
    for number, line in enumerate(_NEWLINE.split(module.source), start=1):
        try:
            line.encode(codec)
        except UnicodeEncodeError as error:
            char = line[error.start]
            raise ValueError(
                f"module {module.name!r}, line {number}: character {char!r} (U+{ord(char):04X}) "
                f"cannot be encoded in code page {codec}; keep VBA source ASCII and build it with ChrW({ord(char)})"
            ) from None
    return stored_source(module).encode(codec)


def _module_entry(module: VbaModule) -> ovba.ModuleEntry:
    project_line = {
        "standard": f"Module={module.name}",
        "class": f"Class={module.name}",
        "document": f"Document={module.name}/&H00000000",  # 2.3.1.4 ProjectDocModule
    }[module.kind]
    return ovba.ModuleEntry(module.name, project_line, document_or_class=module.kind != "standard")


def _check_names(modules: Sequence[VbaModule]) -> None:
    seen: set[str] = set()
    for module in modules:
        key = module.name.lower()
        if key in seen:
            raise ValueError(f"duplicate module name {module.name!r} (VBA names ignore case)")
        if key in _RESERVED_STREAMS:
            raise ValueError(f"module name {module.name!r} collides with a stream of the VBA storage")
        seen.add(key)
