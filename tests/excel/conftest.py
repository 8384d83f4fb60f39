"""Fixtures for the real-Excel checks: skipped unless Excel on Windows can be dispatched."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def _excel_available() -> str | None:
    if not sys.platform.startswith("win"):
        return "needs Microsoft Excel on Windows"
    try:
        import win32com.client

        app = win32com.client.DispatchEx("Excel.Application")
        app.Quit()
    except Exception as exc:  # noqa: BLE001
        return f"Excel cannot be dispatched: {exc}"
    return None


@pytest.fixture(scope="session")
def excel_app(tmp_path_factory: pytest.TempPathFactory):
    """A hidden Excel with kpitree.xlam built from this environment and installed for real."""
    reason = _excel_available()
    if reason:
        pytest.skip(reason)
    import xlwings as xw
    from kpitree.addin.build import build_addin
    from kpitree.addin.install import apply, plan_install

    xlam = build_addin()
    apply(plan_install("win32", Path.home(), python=sys.executable, xlam=xlam))
    app = xw.App(visible=False, add_book=False)
    app.display_alerts = False
    try:
        addin = tmp_path_factory.mktemp("addin") / "kpitree.xlam"
        addin.write_bytes(xlam)
        app.books.open(str(addin))  # XLSTART loads it at start too; opening it is explicit
        yield app
    finally:
        app.quit()

