"""kpitree: sales-KPI design in Excel, powered by Python.

The work lives in three subpackages installed from their own folders:
``kpitree.udfs`` (catalogue, formulas, engines, the xlwings UDF module),
``kpitree.workbook_templates`` (the template workbooks) and ``kpitree.addin``
(the Excel add-in).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kpitree")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "recalc"]


def __getattr__(name: str):  # PEP 562: keep `import kpitree` fast, load the engine on first use
    if name in ("recalc", "recalc_file"):
        from kpitree.udfs import recalc as _recalc

        return getattr(_recalc, name)
    raise AttributeError(f"module 'kpitree' has no attribute {name!r}")
