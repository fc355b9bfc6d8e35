"""Numba's ``inline="always"`` copies a callee's IR in time linear in its size, not quadratic.

Before Numba inlines a function at a call site it copies the callee's IR, twice
(``InlineWorker.inline_ir``: a copy to mutate and a copy kept unmutated), and it copies it
block by block, each block with ``copy.deepcopy`` and a fresh memo. Every block refers to the
function's one ``Scope``, which holds every variable of the function, so each block's copy
copies the whole scope again: copying a callee of B blocks and V variables costs B x V, and an
inlined body grows with what was inlined into it. numbarl's tabular drivers inline a whole
episode loop (specialised on the update rule), and a cold ``numbarl train q_learning`` spent
about nine tenths of its 34 s of compile in those copies (measured with cProfile: 28.7 M
``deepcopy`` calls, 9.2 M of them ``Var``); in a deep learner's cold start the copies took
0.35-1.8 s of one core's work, 0.24-0.67 s with this module.

While this module is imported (``numbarl.envs`` imports it, so every numbarl kernel is covered),
the blocks of one IR copied inside ``inline_ir`` share one memo, as one ``copy.deepcopy`` of the
whole IR would: the scope is copied once and the copies share it, as the originals do. The
copies hold the same statements and variable names, so Numba hands LLVM the same IR
(tests/test_inline_copy.py compares it with and without this module). A block met a second
time starts a fresh memo, so copying the same IR twice still gives two independent copies,
and a memo lives only for one ``inline_ir`` call. Numba compiles under one global lock, so
calls never interleave.
Upstream: numba/numba#8989 ("Spurious deep copies in inlining") describes the cost.

Before copying, Numba also rebuilds the callee's IR from its bytecode at every call site
(``InlineWorker.inline_function`` runs the untyped pipeline on the function each time): a helper
inlined at four sites is interpreted and put through the untyped passes four times (a cold TRPO
start inlines 41 functions at 77 sites). With this module, the IR of a function is built once per
inlining setup (the function, the typing and target contexts, the caller's pipeline class, its
``locals`` and flags) and every site copies it, as Numba copies a freshly built IR before
mutating it (``inline_ir``), so the cached IR is never changed. The globals the function reads
are resolved when its IR is first built, as Numba resolves a compiled function's globals once
(a module global rebound later is not seen by later inlines in this process). The IR is the same
statements; the variables of the second and later copies in one caller are renamed by the
caller's scope (``x.1``) rather than carrying a fresh function id, so the compiled code is the
same (tests/test_inline_copy.py compares the caller's result and instructions).
"""

from __future__ import annotations

import copy as _copy
from typing import Any

from numba.core import inline_closurecall, ir


class _SharedMemoCopy:
    """Stands in for the ``copy`` module inside ``numba.core.inline_closurecall`` (whose only
    use of it is ``copy.deepcopy`` of each block in ``inline_ir``)."""

    def __init__(self) -> None:
        self.active = 0  # > 0 while an inline_ir call runs
        self.scope: Any = None  # the scope of the blocks copied with `memo`
        self.memo: dict = {}

    def reset(self) -> None:
        self.scope, self.memo = None, {}

    def deepcopy(self, x: Any, memo: dict | None = None) -> Any:
        if memo is None and self.active and type(x) is ir.Block:
            if x.scope is not self.scope or id(x) in self.memo:  # another IR, or a second copy
                self.scope, self.memo = x.scope, {}
            return _copy.deepcopy(x, self.memo)
        return _copy.deepcopy(x, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(_copy, name)


def _sharing_memos(original: Any, copier: _SharedMemoCopy) -> Any:
    def inline_ir(self: Any, *args: Any, **kwargs: Any) -> Any:
        copier.active += 1
        copier.reset()
        try:
            return original(self, *args, **kwargs)
        finally:
            copier.active -= 1
            copier.reset()  # drop the copies' memo: nothing outlives the call

    inline_ir.__wrapped__ = original
    inline_ir.__doc__ = original.__doc__
    return inline_ir


_worker = getattr(inline_closurecall, "InlineWorker", None)
if (
    _worker is not None
    and hasattr(_worker, "inline_ir")
    and not hasattr(_worker.inline_ir, "__wrapped__")  # once, even if re-imported
    and getattr(inline_closurecall, "copy", None) is _copy
):
    _copier = _SharedMemoCopy()
    inline_closurecall.copy = _copier
    _worker.inline_ir = _sharing_memos(_worker.inline_ir, _copier)


class _UntypedIRCache:
    """The untyped IR of functions inlined with ``inline="always"``, built once per inlining setup
    and copied at each call site by ``inline_ir`` (module docstring)."""

    def __init__(self) -> None:
        self.entries: dict[tuple, list[tuple[Any, Any]]] = {}  # key -> [(flags, IR), ...]
        self.built = 0  # IRs built (for the tests)

    def key(self, worker: Any, function: Any) -> tuple | None:
        """The setup the untyped passes read besides the function's code and the flags (None
        when the caller's ``locals`` cannot be part of a key: not cached)."""
        try:
            local_types = tuple(sorted(worker.locals.items())) if worker.locals else ()
            hash(local_types)
        except TypeError:
            return None
        # Numba compiles each function with a copy of its target context (its flags' subtarget,
        # which the flags in the entry already tell apart): the copies share one code generator
        return (
            function,
            worker.typingctx,
            type(worker.targetctx),
            worker.targetctx.codegen(),
            type(worker.pipeline),
            local_types,
        )

    def ir_for(self, worker: Any, function: Any) -> Any:
        worker.flags.enable_ssa = False  # as ``run_untyped_passes`` sets it, cached or not
        key = self.key(worker, function)
        if key is None:
            return worker.run_untyped_passes(function)
        entries = self.entries.setdefault(key, [])
        for flags, callee_ir in entries:
            if flags == worker.flags:
                return callee_ir
        callee_ir = worker.run_untyped_passes(function)
        self.built += 1
        entries.append((worker.flags.copy(), callee_ir))
        return callee_ir


def _reusing_untyped_ir(original: Any, cache: _UntypedIRCache) -> Any:
    def inline_function(
        self: Any, caller_ir: Any, block: Any, i: int, function: Any, arg_typs: Any = None
    ) -> Any:
        callee_ir = cache.ir_for(self, function)
        freevars = function.__code__.co_freevars
        return self.inline_ir(caller_ir, block, i, callee_ir, freevars, arg_typs=arg_typs)

    inline_function.__wrapped__ = original
    inline_function.__doc__ = original.__doc__
    return inline_function


untyped_irs = _UntypedIRCache()
if (
    _worker is not None
    and hasattr(_worker, "inline_function")
    and hasattr(_worker, "run_untyped_passes")
    and not hasattr(_worker.inline_function, "__wrapped__")  # once, even if re-imported
):
    _worker.inline_function = _reusing_untyped_ir(_worker.inline_function, untyped_irs)
