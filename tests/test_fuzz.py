"""A mutation fuzzer over the template: flipped, cut, doubled bytes and XML fragments (issue 10).

Each case is the shipped template with one or two mutations — inside a member (the zip
stays valid, so the XML readers are what is tested) or in the raw zip — written as a
file and recalculated alone, so each gets its own time bound. Invariants, whatever the
mutation: exactly one summary row, an ``error`` of one line without a traceback, the
source byte-identical, an output (when written) that is a whole zip with plain member
names and no DTD, at most :data:`TIME_BOUND` seconds; and the layout reader (the batch
fast path) agrees with the full scan — both refuse, or both read the same cells.

Cases: :data:`CASES` from a fixed seed plus as many from a seed that changes every run
(printed on failure). ``KPITREE_FUZZ_CASES`` and ``KPITREE_FUZZ_SEED`` set both; ``pytest
--deep`` runs twenty times as many.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import time
import zipfile
from pathlib import Path

import pytest
from hostile_corpus import assert_clean_output
from kpitree.recalculation.files import process_files
from kpitree.recalculation.io import layout
from kpitree.recalculation.io.package import WorkbookError, read_package, read_workbook
from kpitree.workbook_templates import template_path

CASES = int(os.environ.get("KPITREE_FUZZ_CASES", "150"))  # per seed: 150 fixed + 150 rotating per CI run
FIXED_SEED = 20260401
TIME_BOUND = 10.0  # seconds per file; the template takes ≈ 0.02

TEMPLATE = template_path("ja")
FRAGMENTS = [
    b'<c r="A1"><v>1</v></c>', b'<c r="B2" t="s"><v>-1</v></c>', b'<!DOCTYPE x [<!ENTITY a "b">]>', b"&nbsp;", b"&a;",
    b"<v>-1</v>", b' t="s"', b' t="e"', b' t="inlineStr"', b"</row>", b"<row>", b"</sheetData>", b"<![CDATA[x]]>",
    b'"', b"<", b">", b"&", b"\x00", b"\xff\xfe", b"<f>1/0</f>", b"<f>A1</f>", b"<f>" + b"-(" * 300 + b"1" + b")" * 300 + b"</f>",
    b'<f t="shared" ref="A1:A3" si="0">A1+1</f>', b"<v>1E+999</v>", b"<v>nan</v>", b"<is><t>x</t></is>", b"\xe3\x81",
    "テキスト".encode(), b'<?xml version="1.0" encoding="UTF-16"?>', b'<definedName name="x">Missing!$A$1</definedName>',
]


def template_members() -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(TEMPLATE) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """One mutation of a byte string: flip, cut, double, delete, insert a fragment, or change a value."""
    if not data:
        return rng.choice(FRAGMENTS)
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.randrange(1, 400))
    kind = rng.randrange(7)
    if kind == 0:
        return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]
    if kind == 1:
        return data[:i]
    if kind == 2:
        return data[:j] + data[i:j] + data[j:]
    if kind == 3:
        return data[:i] + data[j:]
    if kind == 4:
        return data[:i] + rng.choice(FRAGMENTS) + data[i:]
    if kind == 5:  # a cached value replaced
        values = list(re.finditer(rb"<v>([^<]*)</v>", data))
        if values:
            m = rng.choice(values)
            new = rng.choice([b"-1", b"99999", b"1e308", b"abc", b"&lt;", b"&bogus;", b"", b"\x01", b"1" * 400, b"#DIV/0!"])
            return data[: m.start(1)] + new + data[m.end(1) :]
        return data[:i]
    text = data.decode("utf-8", "replace").replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)  # legal re-encoding
    return text.encode("utf-16")


def make_case(rng: random.Random, members: list[tuple[str, bytes]], path: Path) -> str:
    """Write one mutated workbook to ``path``; what was done, for the failure message."""
    if rng.random() < 0.15:  # the zip itself
        data = TEMPLATE.read_bytes()
        for _ in range(rng.randint(1, 3)):
            data = mutate_bytes(rng, data)
        path.write_bytes(data)
        return "raw zip"
    weights = [6 if n.startswith("xl/worksheets/sheet") else 4 if n in ("xl/sharedStrings.xml", "xl/workbook.xml")
               else 2 if n.endswith(".rels") else 1 for n, _ in members]
    items = list(members)
    done = []
    for _ in range(rng.randint(1, 2)):
        k = rng.choices(range(len(items)), weights)[0]
        name, data = items[k]
        items[k] = (name, mutate_bytes(rng, data))
        done.append(name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            z.writestr(name, data)
    return "members " + ", ".join(done)


def readers_agree(path: Path) -> None:
    """The layout reader refuses or reads exactly what the full scan does."""
    try:
        _, parts, _ = read_package(path)
    except WorkbookError:
        return
    try:
        full = read_workbook(dict(parts))
    except WorkbookError:
        full = None
    try:
        view = layout.read_via_layout(parts)
    except WorkbookError:
        view = None
    if view is None:
        return
    assert full is not None, "the layout reader accepted a file the full scan refuses"
    mat = view.materialize()
    for a, b in zip(mat.sheets, full.sheets, strict=True):
        assert a.cells == b.cells, f"the readers disagree on sheet {a.name}"


@pytest.mark.parametrize("which", ["fixed", "rotating"])
def test_mutations_keep_every_invariant(which: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    seed = FIXED_SEED if which == "fixed" else int(os.environ.get("KPITREE_FUZZ_SEED", time.time_ns() % 2**31))
    n = CASES * (20 if request.config.getoption("--deep") else 1)
    rng = random.Random(seed)
    members = template_members()
    layout.clear()
    process_files([str(TEMPLATE)] * 2, None)  # the template's layout is remembered: mutants meet the fast path too
    for i in range(n):
        src = tmp_path / f"case_{i:05d}.xlsx"
        what = make_case(rng, members, src)
        tag = f"seed {seed}, case {i} ({what}); reproduce with KPITREE_FUZZ_SEED={seed}"
        before = hashlib.sha256(src.read_bytes()).digest()
        out = tmp_path / "out" / src.name
        started = time.monotonic()
        rows = process_files([str(src)], None, dests=[str(out)])
        elapsed = time.monotonic() - started
        assert len(rows) == 1, tag
        error = rows[0]["error"]
        assert isinstance(error, str) and "\n" not in error and "Traceback" not in error, f"{tag}: {error!r}"
        assert elapsed < TIME_BOUND, f"{tag}: {elapsed:.1f} s"
        assert hashlib.sha256(src.read_bytes()).digest() == before, f"{tag}: the source changed"
        if out.exists():
            assert rows[0]["path"], tag
            assert_clean_output(out)
            out.unlink()
        readers_agree(src)
        src.unlink()
    left = [p.name for p in (tmp_path / "out").iterdir()] if (tmp_path / "out").exists() else []
    assert not left, f"seed {seed}: files left behind: {left}"
