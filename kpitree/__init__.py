"""kpitree: sales-KPI design in Excel, powered by Python.

The work lives in subpackages installed from their own folders (docs/architecture.md):
``kpitree.udfs`` (catalogue, KPI formulas, function registry, stage and tree engines, the
xlwings UDF module), ``kpitree.recalculation`` (batch recalculation without Excel),
``kpitree.workbook_templates`` (the template workbooks, dashboard, workbook contract) and
``kpitree.addin`` (the Excel add-in).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kpitree")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "recalc"]


def __getattr__(name: str):  # PEP 562: keep `import kpitree` fast, load the engine on first use
    if name in ("recalc", "recalc_file"):
        from kpitree import recalculation as _recalc

        return getattr(_recalc, name)
    raise AttributeError(f"module 'kpitree' has no attribute {name!r}")
