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
from types import FunctionType
from typing import Any

from numba import njit, typeof, types
from numba.core.registry import CPUDispatcher
from numba.core.typing.typeof import typeof_impl

from numbarl.envs.control.core import FunctionPointer
from numbarl.nn.recref import by_ref, by_ref_types


class Pointer(FunctionPointer):
    """A ``FunctionPointer`` whose Numba type is built once. Numba types every argument of a
    compiled function at each call from Python, and typing a pointer builds its
    ``FunctionType`` (the signature's name formatted afresh): ~10 us per pointer per call, paid
    for every pointer inside the arguments of each per-chunk call (the training loops, the
    evaluations, ``call_kernel``).

    Every NamedTuple argument of ``signature`` is taken by reference
    (``numbarl.nn.recref.by_ref``): the kernel receives one pointer per record instead of each
    array's fields, and a caller passing the record converts it implicitly."""

    def __init__(self, dispatcher, signature: types.Signature) -> None:  # noqa: ANN001
        signature = by_ref(signature)
        super().__init__(dispatcher, signature)
        self.numba_type = types.FunctionType(signature)


@typeof_impl.register(Pointer)
def _typeof_pointer(val: Pointer, c) -> types.FunctionType:  # noqa: ANN001
    return val.numba_type


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


def python_kernel(**options: Any) -> Callable[[Callable], CPUDispatcher]:
    """``njit(**options)`` for a function only Python calls (a training loop, an evaluation):
    compiled without the C-callable wrapper that a first-class function pointer would call
    (``no_cfunc_wrapper=True``). Numba builds that wrapper for every njit function; for these,
    which take whole records (``VecEnv``, ``Policy``, a learner's state), it is a large piece
    of code no one runs (``run_updates``: 847 of its ~5,800 lines of optimised IR). A
    ``FunctionPointer`` to such a function is refused when it is made."""
    return njit(**options, no_cfunc_wrapper=True)


def variant_function(body: Callable, name: str, doc: str, **constants: Any) -> FunctionType:
    """A copy of the plain function ``body`` named ``name`` whose global names in ``constants``
    are bound to the given values (the rest: ``body``'s module globals as they are now), for
    ``pointer_variant`` and ``njit_variant``."""
    fn = FunctionType(body.__code__, {**body.__globals__, **constants}, name)
    fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__annotations__ = dict(body.__annotations__)
    fn.__kwdefaults__ = body.__kwdefaults__
    fn.__defaults__ = body.__defaults__
    return fn


def pointer_variant(
    body: Callable, name: str, doc: str, options: dict | None = None, **constants: Any
) -> PointerDispatcher:
    """A ``pointer_kernel(cache=True, **options)`` compiled from ``body``'s code under its own
    ``name``, with the global names in ``constants`` bound to the given values: one source, a
    kernel per variant (e.g. a head's sampling function), each compiling only its own calls.

    Why not an ``inline="always"`` body called from each variant: Numba inlines at its IR
    level, and inlining a body of some hundred lines costs more than compiling it (the rollout
    collector compiled ~0.8 s longer through an inlined body than as its own code, which these
    variants are). Numba reads an njit function's globals as compile-time constants, from the
    function's own ``__globals__``: here the module's globals as they are when this is called
    (so call it after the names the body uses are defined) plus ``constants``. Numba's disk
    cache files a function by its module and qualified name, so each variant has a cache entry
    of its own."""
    fn = variant_function(body, name, doc, **constants)
    return pointer_kernel(cache=True, **(options or {}))(fn)


def njit_variant(
    body: Callable, name: str, doc: str, options: dict | None = None, **constants: Any
) -> CPUDispatcher:
    """``pointer_variant`` as a plain ``njit(cache=True, **options)`` function: a variant that
    other njit code calls (e.g. a network pass whose activation is bound; with
    ``inline="always"`` a body that variants of its callers inline)."""
    options = {"cache": True, **(options or {})}
    return njit(**options)(variant_function(body, name, doc, **constants))


_POINTERS: dict[tuple, Pointer] = {}
# Per kernel, its last call from Python: the arguments, their Numba types and the pointer. A
# caller that passes the same objects again (the Gymnasium path's update, a benchmark) is
# neither typed again in Python (typeof of a record of arrays: ~20-90 us) nor looked up by a
# key that hashes every type in it (~100 us for PPO's records).
_LAST: dict[int, tuple[tuple, tuple, Pointer]] = {}


def call_kernel(kernel: CPUDispatcher, *args: Any) -> Any:
    """Call the njit ``kernel`` with ``args`` from Python through its pointer (compiled, or
    loaded from Numba's cache, for the arguments' types) and return what it returns."""
    last = _LAST.get(id(kernel))
    if last is not None and len(last[0]) == len(args) and last[2].dispatcher is kernel:
        seen, seen_types, ptr = last
        arg_types = tuple(
            t if a is b else typeof(a) for a, b, t in zip(args, seen, seen_types, strict=True)
        )
        if arg_types != seen_types:  # equal types are the same objects but for new arguments
            ptr = _pointer(kernel, arg_types)
    else:
        arg_types = tuple(typeof(a) for a in args)
        ptr = _pointer(kernel, arg_types)
    _LAST[id(kernel)] = (args, arg_types, ptr)
    return _trampoline(ptr, *args)


def _pointer(kernel: CPUDispatcher, arg_types: tuple) -> Pointer:
    key = (id(kernel), arg_types)
    ptr = _POINTERS.get(key)
    if ptr is None or ptr.dispatcher is not kernel:
        ref_types = by_ref_types(arg_types)
        kernel.compile(ref_types)
        ptr = Pointer(kernel, kernel.overloads[ref_types].signature)
        _POINTERS[key] = ptr
    return ptr


# The trampolines, one per number of arguments: each argument typed on its own by Numba's
# dispatcher, as in a direct call (a tuple of them, or ``*args``, is typed as one tuple type
# built and hashed afresh at every call: ~140 us for PPO's records).


@njit(cache=True)
def _call0(kernel):  # noqa: ANN001, ANN202
    return kernel()


@njit(cache=True)
def _call1(kernel, a0):  # noqa: ANN001, ANN202
    return kernel(a0)


@njit(cache=True)
def _call2(kernel, a0, a1):  # noqa: ANN001, ANN202
    return kernel(a0, a1)


@njit(cache=True)
def _call3(kernel, a0, a1, a2):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2)


@njit(cache=True)
def _call4(kernel, a0, a1, a2, a3):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2, a3)


@njit(cache=True)
def _call5(kernel, a0, a1, a2, a3, a4):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2, a3, a4)


@njit(cache=True)
def _call6(kernel, a0, a1, a2, a3, a4, a5):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2, a3, a4, a5)


@njit(cache=True)
def _call7(kernel, a0, a1, a2, a3, a4, a5, a6):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2, a3, a4, a5, a6)


@njit(cache=True)
def _call8(kernel, a0, a1, a2, a3, a4, a5, a6, a7):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2, a3, a4, a5, a6, a7)


@njit(cache=True)
def _call9(kernel, a0, a1, a2, a3, a4, a5, a6, a7, a8):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2, a3, a4, a5, a6, a7, a8)


@njit(cache=True)
def _call10(kernel, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9)


@njit(cache=True)
def _call11(kernel, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10)


@njit(cache=True)
def _call12(kernel, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11)


@njit(cache=True)
def _call13(kernel, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12)


@njit(cache=True)
def _call14(kernel, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13):  # noqa: ANN001, ANN202
    return kernel(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13)


_TRAMPOLINES = (
    _call0,
    _call1,
    _call2,
    _call3,
    _call4,
    _call5,
    _call6,
    _call7,
    _call8,
    _call9,
    _call10,
    _call11,
    _call12,
    _call13,
    _call14,
)


@njit(cache=True)
def _call_tuple(kernel, args):  # noqa: ANN001, ANN202
    return kernel(*args)


def _trampoline(ptr: Pointer, *args: Any) -> Any:
    if len(args) < len(_TRAMPOLINES):
        return _TRAMPOLINES[len(args)](ptr, *args)
    return _call_tuple(ptr, args)


__all__ = [
    "Pointer",
    "PointerDispatcher",
    "call_kernel",
    "njit_variant",
    "pointer_kernel",
    "pointer_variant",
    "python_kernel",
    "variant_function",
]
