"""KPI catalogue, formula functions, stage and KPI-tree engines.

The xlwings UDF module that Excel imports is :mod:`kpitree.udfs.excel_functions`.
"""
