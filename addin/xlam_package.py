"""Wrap a vbaProject.bin and a ribbon into a macro-enabled Excel add-in (.xlam).

The package follows:

- ECMA-376 Part 2 (Open Packaging Conventions): the content types stream
  `[Content_Types].xml`, relationship parts (`_rels/*.rels`) and the core
  properties part (dc:title, which Excel's Add-ins dialog shows);
- ECMA-376 Part 1 (SpreadsheetML): workbook part with `workbookPr/@codeName`
  (§18.2.28) and `sheets` (§18.2.20), worksheet part with `sheetPr/@codeName`
  (§18.3.1.82), styles part (§18.8), extended properties (§22.2);
- [MS-OFFMACRO] (Office Macro-Enabled File Format): the macro-enabled add-in
  workbook content type `application/vnd.ms-excel.addin.macroEnabled.main+xml`
  and the VBA Project part, which [MS-XLSB] 2.1.7.56 also pins down: content
  type `application/vnd.ms-office.vbaProject`, reached from the workbook part
  by `http://schemas.microsoft.com/office/2006/relationships/vbaProject`;
- [MS-CUSTOMUI2] 2.1 (ribbon and Backstage customizations, the Office 2010+
  dialect of [MS-CUSTOMUI]): `customUI/customUI14.xml`, content type
  `application/xml`, root namespace http://schemas.microsoft.com/office/2009/07/customui,
  target of a package relationship of type
  `http://schemas.microsoft.com/office/2007/relationships/ui/extensibility`.

The VBA document modules are tied to the workbook and sheets by name: the
workbook's and each sheet's codeName must equal the document module names in
the VBA project, which is why both builders take the same names.

The zip is reproducible: fixed member order, fixed timestamps and attributes,
deflate; no creation dates in docProps.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
ADDIN_CONTENT_TYPE = "application/vnd.ms-excel.addin.macroEnabled.main+xml"
VBA_PROJECT_CONTENT_TYPE = "application/vnd.ms-office.vbaProject"
VBA_PROJECT_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
CUSTOM_UI14_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
_OFFICE_DOCUMENT_REL = f"{REL_NS}/officeDocument"
_CORE_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
_APP_REL = f"{REL_NS}/extended-properties"

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def build_xlam(
    vba_project_bin: bytes,
    custom_ui_xml: str | None,
    *,
    title: str,
    document_modules: Sequence[str] = ("ThisWorkbook", "Sheet1"),
) -> bytes:
    """Return the bytes of an .xlam holding the VBA project and the ribbon XML.

    `document_modules` are the VBA document module names: the first is the
    workbook's codeName, each further one becomes a worksheet of that name and
    codeName. `custom_ui_xml` (customUI14 markup) may be None for no ribbon.
    """
    workbook_code_name, *sheet_code_names = document_modules
    if not sheet_code_names:
        raise ValueError("document_modules needs the workbook's module and at least one sheet module")
    parts: list[tuple[str, str | bytes]] = [
        ("[Content_Types].xml", _content_types(len(sheet_code_names))),
        ("_rels/.rels", _package_rels(custom_ui_xml is not None)),
        ("docProps/core.xml", _core_properties(title)),
        ("docProps/app.xml", _app_properties()),
        ("xl/workbook.xml", _workbook(workbook_code_name, sheet_code_names)),
        ("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheet_code_names))),
    ]
    for number, code_name in enumerate(sheet_code_names, start=1):
        parts.append((f"xl/worksheets/sheet{number}.xml", _worksheet(code_name)))
    parts += [("xl/styles.xml", _STYLES), ("xl/vbaProject.bin", vba_project_bin)]
    if custom_ui_xml is not None:
        parts.append(("customUI/customUI14.xml", custom_ui_xml))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, content in parts:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0  # ZipInfo would record the building OS otherwise
            info.external_attr = 0
            package.writestr(info, content.encode("utf-8") if isinstance(content, str) else content)
    return buffer.getvalue()


def _relationships(rels: Sequence[tuple[str, str, str]]) -> str:
    items = "".join(
        f"<Relationship Id={quoteattr(rid)} Type={quoteattr(kind)} Target={quoteattr(target)}/>"
        for rid, kind, target in rels
    )
    return f'{_XML_DECLARATION}<Relationships xmlns="{PKG_REL_NS}">{items}</Relationships>'


def _content_types(sheet_count: int) -> str:
    ct = "application/vnd.openxmlformats-"
    overrides = [
        ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
        ("/docProps/app.xml", f"{ct}officedocument.extended-properties+xml"),
        ("/xl/workbook.xml", ADDIN_CONTENT_TYPE),
        *(
            (f"/xl/worksheets/sheet{n}.xml", f"{ct}officedocument.spreadsheetml.worksheet+xml")
            for n in range(1, sheet_count + 1)
        ),
        ("/xl/styles.xml", f"{ct}officedocument.spreadsheetml.styles+xml"),
        ("/xl/vbaProject.bin", VBA_PROJECT_CONTENT_TYPE),
    ]
    # customUI14.xml is plain application/xml ([MS-CUSTOMUI2] 2.1): the xml default covers it.
    return (
        f'{_XML_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f"<Override PartName={quoteattr(p)} ContentType={quoteattr(t)}/>" for p, t in overrides)
        + "</Types>"
    )


def _package_rels(with_custom_ui: bool) -> str:
    rels = [
        ("rId1", _OFFICE_DOCUMENT_REL, "xl/workbook.xml"),
        ("rId2", _CORE_REL, "docProps/core.xml"),
        ("rId3", _APP_REL, "docProps/app.xml"),
    ]
    if with_custom_ui:
        rels.append(("rId4", CUSTOM_UI14_REL, "customUI/customUI14.xml"))
    return _relationships(rels)


def _core_properties(title: str) -> str:
    # Excel's Add-ins dialog lists an add-in by this title.
    return (
        f"{_XML_DECLARATION}<cp:coreProperties"
        ' xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{escape(title)}</dc:title></cp:coreProperties>"
    )


def _app_properties() -> str:
    return (
        f"{_XML_DECLARATION}<Properties"
        ' xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>Microsoft Excel</Application></Properties>"
    )


def _workbook(code_name: str, sheet_code_names: Sequence[str]) -> str:
    sheets = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{n}" r:id="rId{n}"/>'
        for n, name in enumerate(sheet_code_names, start=1)
    )
    return (
        f'{_XML_DECLARATION}<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f"<workbookPr codeName={quoteattr(code_name)}/>"
        f"<sheets>{sheets}</sheets></workbook>"
    )


def _workbook_rels(sheet_count: int) -> str:
    rels = [(f"rId{n}", f"{REL_NS}/worksheet", f"worksheets/sheet{n}.xml") for n in range(1, sheet_count + 1)]
    rels.append((f"rId{sheet_count + 1}", f"{REL_NS}/styles", "styles.xml"))
    rels.append((f"rId{sheet_count + 2}", VBA_PROJECT_REL, "vbaProject.bin"))
    return _relationships(rels)


def _worksheet(code_name: str) -> str:
    return (
        f'{_XML_DECLARATION}<worksheet xmlns="{MAIN_NS}">'
        f"<sheetPr codeName={quoteattr(code_name)}/><sheetData/></worksheet>"
    )


# The smallest stylesheet Excel accepts without repair: one font, the two
# mandatory fills (none, gray125), one border, one cell format (§18.8).
_STYLES = (
    f'{_XML_DECLARATION}<styleSheet xmlns="{MAIN_NS}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
