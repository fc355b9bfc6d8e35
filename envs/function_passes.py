"""Numba's per-function LLVM passes build their pass manager once per module, not per function.

Before a compiled function's LLVM module joins its library, Numba runs LLVM's function
simplification pipeline over each function in it (``CPUCodeLibrary._optimize_functions``), and
builds a new pass builder and function pass manager for every function of the module, the
declarations included (on which the pipeline does nothing): about 1,400 pass managers in a
cold TRPO start, each set up and torn down through llvmlite.

While this module is imported (``numbarl.envs`` imports it, so every numbarl kernel is covered),
one pass manager per module runs over the functions that have a body, with the same pipeline
and the same options: the optimised code is the same (tests/test_function_passes.py).
"""

from __future__ import annotations

from typing import Any

from numba.core import codegen


def _one_pass_manager(original: Any) -> Any:
    def _optimize_functions(self: Any, ll_module: Any) -> None:
        ll_module.data_layout = self._codegen._data_layout
        fpm = pb = None
        for func in ll_module.functions:
            if func.is_declaration:
                continue
            if fpm is None:
                fpm, pb = self._codegen._function_pass_manager()
            with self._recorded_timings.record(f"Function passes on {func.name!r}", pb):
                fpm.run(func, pb)

    _optimize_functions.__wrapped__ = original
    _optimize_functions.__doc__ = original.__doc__
    return _optimize_functions


_library = getattr(codegen, "CPUCodeLibrary", None)
_optimize = getattr(_library, "_optimize_functions", None)
if (
    _optimize is not None
    and not hasattr(_optimize, "__wrapped__")  # once, even if re-imported
    and hasattr(getattr(codegen, "CPUCodegen", None), "_function_pass_manager")
):
    _library._optimize_functions = _one_pass_manager(_optimize)
