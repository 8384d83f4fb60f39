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

__all__ = ["__version__"]
