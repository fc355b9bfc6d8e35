"""njit functions that compiled code calls through first-class function pointers, compiled
without a CPython wrapper.

Numba compiles, with every njit function, a CPython wrapper that unboxes its arguments from
Python objects: for a learner's update or rollout collector, which take records of a dozen
arrays or more, that wrapper is a large piece of code (~0.1-0.4 s of a cold compile each), and
the training loops never run it: they call those kernels through pointers (``FunctionPointer``,
which needs only the C-callable wrapper). ``pointer_kernel`` compiles a function without the
CPython wrapper (``no_cpython_wrapper=True``) and keeps it callable from Python: a call from
Python (the Gymnasium path, the tests) goes through ``call_kernel``, which calls the kernel's
pointer from a small compiled trampoline (whose CPython wrapper is compiled only there). The
arithmetic is the same either way: one compiled kernel.

As in every pointer call, an exception raised inside such a kernel is printed, not raised: the
kernels declared this way raise none (their callers pass shapes that are right by
construction).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit, typeof
from numba.core.registry import CPUDispatcher

from numbarl.envs.control.core import FunctionPointer


class PointerDispatcher(CPUDispatcher):
    """A dispatcher compiled without a CPython wrapper; a call from Python goes through
    ``call_kernel`` (a direct call of such a compiled function from Python would crash)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(f"{self.py_func.__qualname__} takes positional arguments only")
        return call_kernel(self, *args)


def pointer_kernel(**options: Any) -> Callable[[Callable], PointerDispatcher]:
    """``njit(**options)`` for a function that compiled code calls through pointers: compiled
    without a CPython wrapper, called from Python through ``call_kernel`` (module docstring).
    ``cache=True`` caches it on disk as ``njit`` does."""
    cache = bool(options.pop("cache", False))
    targetoptions = dict(options, nopython=True, boundscheck=None, no_cpython_wrapper=True)

    def wrap(func: Callable) -> PointerDispatcher:
        disp = PointerDispatcher(py_func=func, locals={}, targetoptions=targetoptions)
        if cache:
            disp.enable_caching()
        return disp

    return wrap


_POINTERS: dict[tuple, FunctionPointer] = {}


def call_kernel(kernel: CPUDispatcher, *args: Any) -> Any:
    """Call the njit ``kernel`` with ``args`` from Python through its pointer (compiled, or
    loaded from Numba's cache, for the arguments' types) and return what it returns."""
    arg_types = tuple(typeof(a) for a in args)
    key = (id(kernel), arg_types)
    ptr = _POINTERS.get(key)
    if ptr is None or ptr.dispatcher is not kernel:
        kernel.compile(arg_types)
        ptr = FunctionPointer(kernel, kernel.overloads[arg_types].signature)
        _POINTERS[key] = ptr
    return _trampoline(ptr, args)


@njit(cache=True)
def _trampoline(kernel, args):  # noqa: ANN001, ANN202
    return kernel(*args)


__all__ = ["PointerDispatcher", "call_kernel", "pointer_kernel"]
