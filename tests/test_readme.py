"""The README's generated blocks are current, and its two commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import readme_blocks

ROOT = Path(__file__).resolve().parent.parent


def test_generated_blocks_are_current():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_blocks.render(text) == text, "run `python tools/readme_blocks.py`"


def test_ci_runs_the_readme_test_command():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.*?)\n```", text, re.S)
    assert len(commands) >= 2
    test_command = commands[1]
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_python_example_runs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["plan"].row("opportunities").quarter == 100
    out = namespace["kpitree"].recalc(namespace["template_path"]("ja"), scenarios=namespace["what_if"])
    assert list(out["required_calls_month"].round(1)) == [1333.3, 1190.5, 1075.3]


def test_functions_page_and_deviation_table_are_current() -> None:
    """docs/functions.md and recalc.md's LibreOffice table are generated from the engine and the test data."""
    import functions_doc

    assert functions_doc.main(["--check"]) == 0, "run: python tools/functions_doc.py"


def test_every_picture_the_docs_show_exists() -> None:
    """README.md and docs/*.md show pictures (``![…](path)`` or ``<img src="path">``) that are in the repository,
    and every picture docs/images holds is shown somewhere (tools/render_sheets.py writes more pages than are used)."""
    root = ROOT.resolve()
    shown = set()
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for ref in re.findall(r'!\[[^\]]*\]\(([^)\s]+)\)|<img\s[^>]*src="([^"]+)"', doc.read_text(encoding="utf-8")):
            target = (doc.parent / (ref[0] or ref[1])).resolve()
            assert target.is_file() and target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{doc.name}: {ref}"
            shown.add(target)
    assert {root / "docs/images/sheet1_ja.png", root / "docs/images/dashboard_ja.png"} <= shown
    assert set((root / "docs" / "images").glob("*.png")) <= shown
