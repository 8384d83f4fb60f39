"""What an openpyxl rewrite of a workbook would lose, found by comparing the two packages.

``kpitree dashboard``, ``kpitree new --template``, ``kpitree import`` and ``kpitree review``
load the user's workbook with openpyxl, change it and save it. openpyxl keeps cells,
styles, names, charts, tables, notes, pictures (with Pillow) and (with ``keep_vba``) macros,
but a package can hold more than openpyxl models: shapes and text boxes, embedded objects,
form controls, slicers, threaded comments, sparklines and other sheet extensions, Power
Query and SharePoint data. Rather than trust a list of
what openpyxl supports (it changes between versions), the saved file is compared with the
source, part by part: :func:`lost_content` says what the source has more of, and the
caller refuses to write (nothing replaced, the user told what would be lost) instead of
silently dropping a manager's work.

What is left out of the comparison on purpose: the parts every rewrite regenerates
(worksheets, drawings' XML files themselves, charts, styles, shared strings, calcChain,
themes, document properties) and ``printerSettings*.bin`` (a printer driver's private
settings; the page setup itself — orientation, paper, margins, fit — is in the sheet and
kept).
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable

# (kind, member-name prefixes): a kind of content, counted by its parts; the kind is its label's text key
PART_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("workbook.lost_macros", ("xl/vbaProject.bin",)),
    ("workbook.lost_embedded", ("xl/embeddings/",)),
    ("workbook.lost_controls", ("xl/ctrlProps/", "xl/activeX/")),
    ("workbook.lost_slicers", ("xl/slicers/", "xl/slicerCaches/", "xl/timelines/", "xl/timelineCaches/")),
    ("workbook.lost_threaded_comments", ("xl/threadedComments/",)),
    ("workbook.lost_connections", ("xl/connections.xml", "xl/queryTables/", "customXml/")),
)
# Not counted: what openpyxl carries (pictures — Pillow is a dependency —, notes, tables, pivot tables,
# charts): kpitree's own plans may remove some on purpose (a note in a block it rewrites, a team sheet
# `new --template` drops), and a count cannot tell that from a loss.

# shapes, connectors and groups drawn on a sheet: elements of the drawing parts, not parts of their own
SHAPES = "workbook.lost_shapes"
_SHAPE = re.compile(rb"<(?:\w+:)?(?:sp|cxnSp|grpSp)[\s>]")
# a worksheet's extensions (sparklines, Excel 2010 validations and conditional formats): openpyxl drops
# a sheet's extLst whole
EXTENSIONS = "workbook.lost_extensions"
_EXTENSION = re.compile(rb"<(?:\w+:)?(?:sparklineGroup|dataValidation|conditionalFormatting)[\s>]")


def content_counts(names: Iterable[str], drawings: Iterable[bytes], sheets: Iterable[bytes] = ()) -> dict[str, int]:
    """How much of each kind a package holds: parts per kind of :data:`PART_KINDS`, shapes, sheet extensions."""
    names = [n for n in names if "/_rels/" not in n and not n.endswith("/")]
    counts = {kind: sum(1 for n in names if n.startswith(prefixes)) for kind, prefixes in PART_KINDS}
    counts[SHAPES] = sum(len(_SHAPE.findall(xml)) for xml in drawings)
    counts[EXTENSIONS] = sum(len(_EXTENSION.findall(xml[xml.find(b"<extLst"):])) for xml in sheets if b"<extLst" in xml)
    return counts


def package_counts(path: str | os.PathLike[str]) -> dict[str, int]:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        drawings = [z.read(n) for n in names if re.fullmatch(r"xl/drawings/drawing\d+\.xml", n)]
        sheets = [z.read(n) for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
    return content_counts(names, drawings, sheets)


def lost_kinds(source: dict[str, int], result: dict[str, int]) -> list[str]:
    """The kinds ``source`` holds more of than ``result``, in :data:`PART_KINDS` order, then shapes and extensions."""
    return [kind for kind in (*(k for k, _ in PART_KINDS), SHAPES, EXTENSIONS) if result.get(kind, 0) < source.get(kind, 0)]


def lost_content(source: str | os.PathLike[str], result: str | os.PathLike[str]) -> list[str]:
    """What ``result`` (a rewrite of ``source``) lost: the kinds, which are their labels' text keys."""
    return lost_kinds(package_counts(source), package_counts(result))
