"""Numba's ``@overload`` implementations compile without a C-callable wrapper nothing calls.

Numba compiles every implementation of an ``@overload``-ed function (``np.empty``, ``max``,
``np.dot``, ``rng.random``, ... and numbarl's own overloads) as a function of its own, once per
argument signature, and with each a C-callable wrapper (``cfunc`` wrapper: the entry point a
first-class function pointer calls). Only compiled code calls those implementations, directly,
and Numba already leaves out their CPython wrapper (``no_cpython_wrapper``, the default of
``numba.extending.overload``), so the C wrapper is generated, optimised and emitted as machine
code for nothing: a third of the C wrappers in a deep learner's cold start (about 65 of 105
compiled functions in TRPO's, 2,500 lines of optimised LLVM IR of about 73,000).

While this module is imported (``numbarl.envs`` imports it, so every numbarl kernel is covered),
an overload implementation compiled without a CPython wrapper is also compiled without the C
wrapper (``no_cfunc_wrapper``), as Numba's own ``compile_subroutine`` does for its internal
helpers; an overload that sets ``no_cfunc_wrapper`` itself in ``jit_options`` keeps its choice,
and one that asks for a CPython wrapper keeps both. The implementation's own code, and every
caller's, is unchanged (tests/test_overload_cfunc.py).
"""

from __future__ import annotations

from typing import Any

from numba.core.typing import templates

_Template = getattr(templates, "_OverloadFunctionTemplate", None)


def _without_cfunc(original: Any) -> Any:
    def _build_impl(self: Any, cache_key: Any, args: Any, kws: Any) -> Any:
        opts = self._jit_options
        if opts.get("no_cpython_wrapper") and "no_cfunc_wrapper" not in opts:
            self._jit_options = {**opts, "no_cfunc_wrapper": True}
        return original(self, cache_key, args, kws)

    _build_impl.__wrapped__ = original
    _build_impl.__doc__ = original.__doc__
    return _build_impl


if (
    _Template is not None
    and hasattr(_Template, "_build_impl")
    and not hasattr(_Template._build_impl, "__wrapped__")  # once, even if re-imported
    and isinstance(getattr(_Template, "_jit_options", None), dict | type(None))
):
    _Template._build_impl = _without_cfunc(_Template._build_impl)
