"""Numba's reference counts read only the members that hold a reference count.

To increment or decrement the reference counts inside a value, Numba's runtime walks the
value's data model (``NRTContext.get_meminfos``) and reads *every* member on the way: for an
array its meminfo, parent, size, item size, data pointer and each extent and stride, for a
record of arrays every member of every array, each one an LLVM ``extractvalue``. Only the
meminfos are used; the rest is dead code that Numba builds in Python, prints as IR text, and
LLVM parses and deletes. Numba copies and deletes a variable holding a record of arrays at
every assignment and every inlined call that takes one, so in a cold TRPO start 58,000 of the
151,000 lines of IR Numba hands LLVM were such reads (``run_updates``, the training loop:
11,400 of its 18,000).

While this module is imported (``numbarl.envs`` imports it, so every numbarl kernel is covered),
``get_meminfos`` reads a member only if its type holds a meminfo somewhere inside (found by the
same walk over the data model, once per type): the same reference-count calls on the same
meminfos in the same order, without the dead reads. The machine code is the same; the IR Numba
builds, prints and LLVM parses is smaller.
"""

from __future__ import annotations

from typing import Any

from numba.core.runtime import context as _nrt_context

_holds: dict[tuple, bool] = {}  # (data model manager, Numba type) -> holds a meminfo inside


def _holds_meminfo(dmm: Any, ty: Any, builder: Any) -> bool:
    """Whether ``get_meminfos`` finds a meminfo in a value of type ``ty``: the data model of
    ``ty`` has one, or a member it traverses does (walked as ``get_meminfos`` walks it)."""
    key = (dmm, ty)  # the manager itself, not its id: an id is reused once its object is gone
    found = _holds.get(key)
    if found is None:
        _holds[key] = True  # a type met again inside itself: read it, as Numba would
        model = dmm[ty]
        found = model.has_nrt_meminfo() or any(
            _holds_meminfo(dmm, member, builder) for member, _ in model.traverse(builder)
        )
        _holds[key] = found
    return found


def _skipping_plain_members(original: Any) -> Any:
    def get_meminfos(self: Any, builder: Any, ty: Any, val: Any) -> list:
        dmm = self._context.data_model_manager
        datamodel = dmm[ty]
        members = datamodel.traverse(builder)
        meminfos = []
        if datamodel.has_nrt_meminfo():
            meminfos.append((ty, datamodel.get_nrt_meminfo(builder, val)))
        for member, getter in members:
            if _holds_meminfo(dmm, member, builder):
                meminfos.extend(self.get_meminfos(builder, member, getter(val)))
        return meminfos

    get_meminfos.__wrapped__ = original
    get_meminfos.__doc__ = original.__doc__
    return get_meminfos


_nrt = getattr(_nrt_context, "NRTContext", None)
_original = getattr(_nrt, "get_meminfos", None)
if _original is not None and not hasattr(_original, "__wrapped__"):  # once, even if re-imported
    _nrt.get_meminfos = _skipping_plain_members(_original)
