"""Checks of the .xlam package: its OPC structure, oletools on the package, and LibreOffice's VBA import."""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import shutil
import subprocess
import zipfile
from pathlib import Path

import olefile
import pytest
import xlwings
from defusedxml import ElementTree
from kpitree.addin.vba_project import VbaModule, build_vba_project, stored_source
from kpitree.addin.xlam_package import build_xlam
from oletools.olevba import VBA_Parser

XLWINGS_BAS = os.path.join(os.path.dirname(xlwings.__file__), "xlwings_custom_addin.bas")
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"

RIBBON = (
    '<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui" onLoad="OnRibbonLoad">'
    '<ribbon><tabs><tab id="kpiTree" label="KPI Tree"><group id="calc" label="Calculate">'
    '<button id="recalc" label="Recalculate" size="large" imageMso="CalculateNow" onAction="OnRecalc"/>'
    "</group></tab></tabs></ribbon></customUI>"
)


def sample_modules() -> list[VbaModule]:
    with open(XLWINGS_BAS, encoding="ascii", newline="") as handle:
        xlwings_source = handle.read()
    return [
        VbaModule("ThisWorkbook", "Option Explicit\nPrivate Sub Workbook_Open()\n    Debug.Print \"loaded\"\nEnd Sub\n", "document"),
        VbaModule("Sheet1", "", "document"),
        VbaModule("xlwings", xlwings_source),
        VbaModule(
            "RibbonState",
            "VERSION 1.0 CLASS\nBEGIN\n  MultiUse = -1  'True\nEND\n"
            'Attribute VB_Name = "RibbonState"\nOption Explicit\nPublic Ribbon As IRibbonUI\n',
            "class",
        ),
        VbaModule(
            "RibbonCallbacks",
            "Option Explicit\n"
            "Public Sub OnRibbonLoad(ribbon As IRibbonUI)\n    Set State.Ribbon = ribbon\nEnd Sub\n"
            "Public Sub OnRecalc(control As IRibbonControl)\n    RunPython \"import kpitree\"\nEnd Sub\n",
        ),
    ]


def build(custom_ui: str | None = RIBBON) -> bytes:
    return build_xlam(build_vba_project("KpiTree", sample_modules()), custom_ui, title="KPI Tree")


@pytest.fixture(scope="module")
def xlam() -> bytes:
    return build()


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def relationships(xml: bytes) -> dict[str, tuple[str, str]]:
    return {r.get("Id"): (r.get("Type"), r.get("Target")) for r in ElementTree.fromstring(xml).iter(f"{PKG_REL}Relationship")}


def test_zip_is_reproducible(xlam: bytes) -> None:
    assert hashlib.sha256(build()).hexdigest() == hashlib.sha256(xlam).hexdigest()
    with zipfile.ZipFile(io.BytesIO(xlam)) as package:
        infos = package.infolist()
    assert [i.filename for i in infos] == [
        "[Content_Types].xml",
        "_rels/.rels",
        "docProps/core.xml",
        "docProps/app.xml",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/worksheets/sheet1.xml",
        "xl/styles.xml",
        "xl/vbaProject.bin",
        "customUI/customUI14.xml",
    ]
    assert {(i.date_time, i.compress_type) for i in infos} == {((1980, 1, 1, 0, 0, 0), zipfile.ZIP_DEFLATED)}


def test_content_types_cover_every_part(xlam: bytes) -> None:
    members = parts(xlam)
    types = ElementTree.fromstring(members["[Content_Types].xml"])
    defaults = {d.get("Extension"): d.get("ContentType") for d in types.iter(f"{CT}Default")}
    overrides = {o.get("PartName"): o.get("ContentType") for o in types.iter(f"{CT}Override")}
    assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.addin.macroEnabled.main+xml"
    assert overrides["/xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"
    for name in members:
        if name != "[Content_Types].xml":
            assert f"/{name}" in overrides or name.rsplit(".", 1)[-1] in defaults, name
    for part_name in overrides:
        assert part_name[1:] in members


def test_relationships_resolve(xlam: bytes) -> None:
    members = parts(xlam)
    package_rels = relationships(members["_rels/.rels"])
    assert (
        "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
        "customUI/customUI14.xml",
    ) in package_rels.values()
    assert (
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
        "xl/workbook.xml",
    ) in package_rels.values()
    workbook_rels = relationships(members["xl/_rels/workbook.xml.rels"])
    assert ("http://schemas.microsoft.com/office/2006/relationships/vbaProject", "vbaProject.bin") in workbook_rels.values()
    for _, target in package_rels.values():
        assert target in members
    for _, target in workbook_rels.values():
        assert posixpath.join("xl", target) in members
    sheets = ElementTree.fromstring(members["xl/workbook.xml"]).iter(f"{MAIN}sheet")
    assert [workbook_rels[s.get(R_ID)][1] for s in sheets] == ["worksheets/sheet1.xml"]
    assert members["customUI/customUI14.xml"].decode("utf-8") == RIBBON
    title = ElementTree.fromstring(members["docProps/core.xml"]).find("{http://purl.org/dc/elements/1.1/}title")
    assert title is not None and title.text == "KPI Tree"


def test_code_names_match_document_modules(xlam: bytes) -> None:
    members = parts(xlam)
    workbook_pr = ElementTree.fromstring(members["xl/workbook.xml"]).find(f"{MAIN}workbookPr")
    sheet_pr = ElementTree.fromstring(members["xl/worksheets/sheet1.xml"]).find(f"{MAIN}sheetPr")
    assert workbook_pr is not None and sheet_pr is not None
    code_names = [workbook_pr.get("codeName"), sheet_pr.get("codeName")]
    ole = olefile.OleFileIO(members["xl/vbaProject.bin"], raise_defects=olefile.DEFECT_INCORRECT)
    project = ole.openstream("PROJECT").read().decode("cp1252").split("\r\n")
    documents = [line[len("Document=") :].split("/")[0] for line in project if line.startswith("Document=")]
    assert code_names == documents == ["ThisWorkbook", "Sheet1"]


def test_without_ribbon_and_bad_arguments() -> None:
    members = parts(build(custom_ui=None))
    assert "customUI/customUI14.xml" not in members
    assert "customUI" not in members["_rels/.rels"].decode()
    with pytest.raises(ValueError):
        build_xlam(b"", None, title="x", document_modules=("ThisWorkbook",))


def test_olevba_reads_every_module_from_the_package(xlam: bytes) -> None:
    modules = {m.name: m for m in sample_modules()}
    parser = VBA_Parser("KpiTree.xlam", data=xlam, relaxed=False)
    assert parser.type == "OpenXML"
    extracted = {stream.split("/")[-1]: code for _, stream, _, code in parser.extract_macros()}
    assert extracted == {name: stored_source(module) for name, module in modules.items()}


# --- LibreOffice ---------------------------------------------------------------

# Tools > Options > Load/Save > VBA Properties: load Basic code, keep it
# non-executable (LibreOffice then wraps it in comments and never runs it).
_VBA_IMPORT_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
<item oor:path="/org.openoffice.Office.Calc/Filter/Import/VBA"><prop oor:name="Load" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Filter/Import/VBA"><prop oor:name="Executable" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""
_SCRIPT = "{http://openoffice.org/2000/script}"


def libreoffice_basic(xlam: bytes, workdir: Path) -> dict[str, tuple[str, str]]:
    """Import the .xlam with LibreOffice's VBA-aware filter and return its Basic modules.

    LibreOffice converts the document to ODS, which stores every Basic module of
    the document (the imported VBA project becomes a library named after it) as
    Basic/<library>/<module>.xml: no UNO bridge is needed to read them.
    """
    profile = workdir / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_VBA_IMPORT_SETTINGS, encoding="utf-8")
    source = workdir / "KpiTree.xlam"
    source.write_bytes(xlam)
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            "--infilter=Calc MS Excel 2007 VBA XML",
            "--convert-to",
            "ods",
            "--outdir",
            str(workdir / "out"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    modules = {}
    with zipfile.ZipFile(workdir / "out" / "KpiTree.ods") as ods:
        for name in ods.namelist():
            if name.startswith("Basic/") and name.count("/") == 2 and not name.endswith(("script-lb.xml", "dialog-lb.xml")):
                module = ElementTree.fromstring(ods.read(name))
                modules[module.get(f"{_SCRIPT}name")] = (module.get(f"{_SCRIPT}moduleType"), module.text or "")
    return modules


def libreoffice_view(module: VbaModule) -> str:
    """What LibreOffice 7.x makes of a module imported as non-executable VBA.

    oox/source/ole/vbamodule.cxx: a `Rem Attribute VBA_ModuleType=...` line, a
    `Sub <name>` wrapper, every source line except `Attribute ...` ones behind
    `Rem `, `End Sub`. Its line reader also returns one empty line after the
    final CRLF, hence the trailing `Rem `.
    """
    kind = {"standard": "VBAModule", "class": "VBAClassModule", "document": "VBADocumentModule"}[module.kind]
    lines = [line for line in stored_source(module).split("\r\n")[:-1] if not line.startswith("Attribute ")]
    return f"Rem Attribute VBA_ModuleType={kind}\nSub {module.name}\n" + "".join(f"Rem {line}\n" for line in [*lines, ""]) + "End Sub\n"


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_imports_the_same_modules_and_source(xlam: bytes, tmp_path: Path) -> None:
    imported = libreoffice_basic(xlam, tmp_path)
    expected_types = {"standard": "normal", "class": "class", "document": "document"}
    assert imported == {
        module.name: (expected_types[module.kind], libreoffice_view(module)) for module in sample_modules()
    }
