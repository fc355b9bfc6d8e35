"""Numba compiles with the garbage collector's full collections paused.

Numba's compiler allocates millions of short-lived objects (IR, types, LLVM wrappers), and
CPython's default thresholds ``(700, 10, 10)`` then run a full collection over the whole heap
every few hundred thousand of them: ~2.5 s of a 22 s cold compile of TRPO's kernels (one core),
2.1 s of it in 20 full collections. While Numba compiles (from the start of the outermost
``numba:compile`` event to its end), the thresholds are ``COMPILE_GC_THRESHOLDS``: young
collections still run and free the compiler's short-lived cycles, older generations wait; the
caller's thresholds come back when the compile ends. Measured on that start
(``experiments/cold_compile.py --learners trpo --workers 1``, with and without
``--no-gc-pause``): 2 full collections and 0.8 s in the collector instead of 20 and 2.2 s, the
whole run 19.5-19.7 s instead of 21.0-21.3 s, ~10 MB more peak memory. Compiled code and its
results are unchanged.

Registered when this module is imported. It lives in ``numbarl.envs``, the bottom of numbarl's
import graph, whose package imports it: every numbarl module that compiles imports an env
module first, so every numbarl kernel compiles this way. It applies to every Numba compile in
the process; ``pause_full_gc_while_compiling(False)`` turns it off.
"""

from __future__ import annotations

import gc

from numba.core import event

# gc.set_threshold while Numba compiles: a young collection every 50,000 net allocations (it
# frees the compiler's short-lived cycles), older generations practically never. Held through a
# whole cold TRPO start on one core: 2.6 s in the collector with CPython's (700, 10, 10), 0.4 s
# with these, +90 MB peak memory; (700, 10, 1000), full collections only blocked: 0.5 s but
# +155 MB (what survives the middle generation piles up).
COMPILE_GC_THRESHOLDS = (50_000, 1_000, 1_000)


class _CompileGC(event.Listener):
    """Raises the collector's thresholds from the outermost ``numba:compile`` event's start to
    its end (Numba compiles under one global lock, so the events nest and never interleave)."""

    def __init__(self) -> None:
        self.depth = 0
        self.saved: tuple[int, ...] | None = None
        self.enabled = True

    def on_start(self, evt: event.Event) -> None:  # noqa: ARG002 - every compile alike
        self.depth += 1
        if self.depth == 1 and self.enabled:
            saved = gc.get_threshold()
            if saved[0] > 0:  # a threshold of 0 turns collection off: leave it off
                self.saved = saved
                gc.set_threshold(*COMPILE_GC_THRESHOLDS)

    def on_end(self, evt: event.Event) -> None:  # noqa: ARG002
        self.depth = max(0, self.depth - 1)
        if self.depth == 0 and self.saved is not None:
            gc.set_threshold(*self.saved)
            self.saved = None


_COMPILE_GC = _CompileGC()
event.register("numba:compile", _COMPILE_GC)


def pause_full_gc_while_compiling(enabled: bool = True) -> None:
    """Whether Numba compiles (numbarl's and any other) run with ``COMPILE_GC_THRESHOLDS``
    instead of the collector's own thresholds (on by default; see the module docstring)."""
    _COMPILE_GC.enabled = bool(enabled)


__all__ = ["COMPILE_GC_THRESHOLDS", "pause_full_gc_while_compiling"]
