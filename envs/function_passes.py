"""Numba's per-function LLVM passes: one pass manager per module, at LLVM's -O1.

Before a compiled function's LLVM module joins its library, Numba runs LLVM's function
simplification pipeline over each function in it (``CPUCodeLibrary._optimize_functions``): a
pre-pass that shrinks Numba's raw IR (its allocas promoted to registers, instructions combined,
branches and reference counts pruned) before the library links its callees and runs the full
-O3 module pipeline over everything, each function included. Numba runs that pre-pass at -O3
and builds a new pass builder and function pass manager for every function of the module, the
declarations included (on which it does nothing): about 1,400 pass managers in a cold TRPO
start, and 2.2 of its ~19 s of compile work.

While this module is imported (``numbarl.envs`` imports it, so every numbarl kernel is covered),
one pass manager per module runs over the functions that have a body, with LLVM's -O1
simplification pipeline (``OPT_LEVEL``), which does what the pre-pass is for: about 40% less
time in it, and the -O3 module pipeline after it is unchanged. The optimised IR differs in a
few lines per learner (TRPO: 15 of ~55,000); the results do not (34 golden training runs of
the eleven deep learners, and tests/test_function_passes.py: a PPO run to the same bytes), nor
the step times (tests/benchmarks: the MLP's Adam step, the rollout, PPO's time to solve).
"""

from __future__ import annotations

from typing import Any

from numba.core import codegen

# LLVM's -O1 function simplification pipeline: what this pre-pass is for (promoting Numba's
# allocas to registers, combining instructions, pruning its branches and reference counts); the
# -O3 module pipeline runs over every function after linking, as before
OPT_LEVEL = 1


def _one_pass_manager(original: Any) -> Any:
    def _optimize_functions(self: Any, ll_module: Any) -> None:
        ll_module.data_layout = self._codegen._data_layout
        fpm = pb = None
        for func in ll_module.functions:
            if func.is_declaration:
                continue
            if fpm is None:
                fpm, pb = self._codegen._function_pass_manager(opt=OPT_LEVEL)
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
