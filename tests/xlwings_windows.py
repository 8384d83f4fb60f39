"""Load xlwings' Windows UDF code (``xlwings.udfs``) on any OS, for real.

The stand-in logic lives in :mod:`kpitree.addin.xlwings_wrappers`, because the
add-in build runs xlwings' own ``generate_vba_wrapper`` the same way; tests import
it from here so older test modules keep working.
"""

from kpitree.addin.xlwings_wrappers import vba_wrapper_for, windows_udf_decorators

__all__ = ["vba_wrapper_for", "windows_udf_decorators"]
