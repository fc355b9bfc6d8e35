"""``dual``: a set-up function that runs as plain Python when Python calls it and is compiled
(the same source) when compiled code calls it.

A learner's set-up (the networks' workspaces, optimiser state, parameter counts) runs once in
Python before any compiled loop, but as ``@njit`` functions each call from Python compiled them
first, one after another, before the learner's big kernels could start compiling in parallel
(``numbarl.precompile``): ~0.7 s of every cold start. Under ``dual`` the Python call runs the
NumPy code directly, and a compiled caller gets the same function through a Numba ``overload``
(compiled into the caller, like Numba's own ``np.zeros``). Only for small allocation and
bookkeeping functions whose Python and compiled results are the same arrays.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

from numba.extending import overload

F = TypeVar("F", bound=Callable)


def dual(fn: F) -> F:
    """Register ``fn`` as its own Numba overload and return it unchanged (module docstring)."""

    def typer(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - Numba types the call
        return fn

    typer.__signature__ = inspect.signature(fn)  # Numba checks the two signatures agree
    overload(fn)(typer)
    return fn


__all__ = ["dual"]
