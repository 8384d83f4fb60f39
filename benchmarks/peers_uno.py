"""LibreOffice's scenario route for bench_peers.py: one long-lived soffice driven over UNO.

    /usr/bin/python3 benchmarks/peers_uno.py SPEC.json RESULT.json

Run with the system Python that has ``python3-uno`` (Debian's package); it imports nothing of kpitree.
SPEC.json is what ``peers.py scenarios`` reads. Each row: ``setValue`` on the input cells,
``calculate()``, and one ``getDataArray()`` per sheet of the block holding its outputs (one UNO round trip each); rows
to keep are read cell by cell too, to tell booleans and errors apart (LibreOffice has no boolean type:
a boolean is a number with a logical number format, and an error cell reads as nothing in a data array).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.table.CellContentType import FORMULA

LOGICAL = 1024  # com.sun.star.util.NumberFormat.LOGICAL
RESULT_ERROR, RESULT_STRING = 4, 2  # com.sun.star.sheet.FormulaResult


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def start_office(profile: Path, pipe: str):
    proc = subprocess.Popen(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--invisible", "--norestore",
                             "--nologo", "--nodefault", f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HOME": str(profile)})
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(600):
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("soffice did not answer")
    return proc, ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)


def cell_value(doc, cell):
    if cell.getType() == FORMULA and cell.FormulaResultType2 in (RESULT_ERROR, RESULT_STRING):
        return cell.getString()
    v = cell.getValue()
    return bool(v) if doc.NumberFormats.getByKey(cell.NumberFormat).Type & LOGICAL else float(v)


def split(ref):
    sheet, a1 = ref.split("!")
    letters = a1.rstrip("0123456789")
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    return sheet, int(a1[len(letters):]), col


def main():
    spec = json.loads(Path(sys.argv[1]).read_text())
    result_path = Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        proc, desktop = start_office(Path(tmp), f"kpitreebench{os.getpid()}")
        try:
            doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(str(Path(spec["book"]).resolve())), "_blank", 0,
                                               (prop("Hidden", True),))
            doc.calculateAll()
            sheets = doc.Sheets
            ins = [sheets.getByName(split(r)[0]).getCellRangeByName(r.split("!")[1]) for r in spec["inputs"]]
            outs = [sheets.getByName(split(r)[0]).getCellRangeByName(r.split("!")[1]) for r in spec["outputs"]]
            where = [split(r) for r in spec["outputs"]]
            blocks = []  # one block per sheet holding outputs: one round trip each
            for name in sorted({s for s, _, _ in where}):
                rows = [r for s, r, _ in where if s == name]
                cols = [c for s, _, c in where if s == name]
                blocks.append(sheets.getByName(name).getCellRangeByPosition(min(cols) - 1, min(rows) - 1, max(cols) - 1,
                                                                            max(rows) - 1))
            setup = time.perf_counter() - t
            keep = set(spec["keep"])
            kept = {}
            t = time.perf_counter()
            for i, row in enumerate(spec["rows"]):
                for cell, v in zip(ins, row):
                    cell.setValue(float(v))
                doc.calculate()
                for block in blocks:
                    block.getDataArray()
                if i in keep:
                    kept[i] = [cell_value(doc, c) for c in outs]
            seconds = time.perf_counter() - t
            doc.close(True)
        finally:
            try:
                desktop.terminate()
            except Exception:  # noqa: BLE001 - already gone
                pass
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    result_path.write_text(json.dumps({"setup": setup, "seconds": seconds, "kept": kept}))
    print(json.dumps({"setup": setup, "seconds": seconds}))


if __name__ == "__main__":
    main()
