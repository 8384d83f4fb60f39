"""kpitree: sales-KPI design in Excel, powered by Python.

The work lives in subpackages installed from their own folders (docs/architecture.md):
``kpitree.udfs`` (catalogue, KPI formulas, function registry, stage and tree engines, the
xlwings UDF module), ``kpitree.recalculation`` (batch recalculation without Excel),
``kpitree.workbook_templates`` (the template workbooks, dashboard, workbook contract) and
``kpitree.addin`` (the Excel add-in).
"""

__all__ = ["__version__", "recalc"]


def __getattr__(name: str):  # PEP 562: keep `import kpitree` fast, load the engine on first use
    if name == "__version__":  # importlib.metadata costs ≈ 40 ms, half of `kpitree --help`
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("kpitree")
        except PackageNotFoundError:  # running from a source tree that was never installed
            found = "0+unknown"
        globals()["__version__"] = found
        return found
    if name in ("recalc", "recalc_file"):
        from kpitree import recalculation as _recalc

        return getattr(_recalc, name)
    raise AttributeError(f"module 'kpitree' has no attribute {name!r}")
