"""A struct Numba builds from a value is read with ``extractvalue``, stored only if written.

Numba's code generation reads a compiled value that is a struct (an array, a record, an
iterator's state) through a proxy (``cgutils._StructProxy``, ``make_array``'s ``ArrayStruct``):
``make_array(ty)(context, builder, value)`` allocates a stack slot, fills it with zeros, stores
the value in it, and each field read (``ary.data``, ``ary.strides``, the shape element by
element) is a load from that slot. For the common case, a proxy built from a value that is only
read, that is four instructions where one would do, and they make up much of what Numba hands
LLVM: one element write ``b[t, i] = v`` of a 2-D array is ~50 lines of raw IR, and LLVM must
promote every slot back to registers before it can optimise anything.

While this module is imported (``numbarl.envs`` imports it), a proxy built from a value (and no
reference) starts lazy: a field read is ``extractvalue`` of the value, and an array's shape one
``extractvalue`` (no slot, no zero fill, no loads). The first use that needs memory (a field
write, ``_setvalue``, a pointer to the struct or a field, the whole value) makes the slot
exactly as Numba did: its zero fill at the function's entry, the store of the value placed where
the proxy was built, and from then on every access goes through the slot. The reads served
before that are rewritten to read the slot too (each ``extractvalue`` then takes its struct
from a load of the slot placed just before it), so every read sees what it would have seen in
Numba's own code even where a loop runs a read after a later-emitted write. What LLVM gets for a
proxy that is never written differs only in the slot's absence; what it computes does not.

Measured on a cold ``numbarl train trpo CartPole-v1`` (one compile worker): 1,362 proxies built
from values, 4,324 field reads served without the slot, 89 proxies that later needed it (157
reads rewritten); Numba's raw IR 12% smaller (TRPO 106,186 -> 93,016 lines, REINFORCE 96,341 ->
84,866, ``experiments/compiled_ir.py``) and the optimised IR the same size; the compile work
4.3% less, counted in instructions by valgrind's callgrind
(``experiments/compile_instructions.py``: 78.04 -> 74.68 G, cold minus warm; CPython's share
4.0% less, LLVM's 3.9%); the same bytes of results (tests/test_struct_reads.py, and 13 training
runs of every deep learner and Q-learning hashed with and without it).

The one case left as it was: a proxy whose value is not the struct type it reads (an
array-like type converted by ``__array__``) keeps Numba's code unchanged.
"""

from __future__ import annotations

from typing import Any

from numba.core import cgutils, datamodel

_Proxy = getattr(cgutils, "_StructProxy", None)


class _Lazy:
    """What a lazy proxy was built from: the value, where it was built (block and the
    instruction before that point, None at the block's start), and the reads it served."""

    __slots__ = ("value", "block", "before", "reads")

    def __init__(self, value: Any, block: Any, before: Any) -> None:
        self.value = value
        self.block = block
        self.before = before
        self.reads: list = []


def _position(builder: Any) -> tuple[Any, Any]:
    """The builder's block and the instruction just before its insertion point (or None)."""
    block = builder.block
    anchor = builder._anchor
    return block, (block.instructions[anchor - 1] if anchor > 0 else None)


def _restore(builder: Any, block: Any, following: Any) -> None:
    if following is None:
        builder.position_at_end(block)
    else:
        builder.position_before(following)


def _materialize(proxy: Any) -> None:
    """Give a lazy proxy its slot, as Numba's ``__init__`` would have made it (module
    docstring)."""
    lazy = proxy.__dict__.get("_lazy")
    if lazy is None:
        return
    proxy.__dict__["_lazy"] = None
    builder = proxy._builder
    cur_block = builder.block
    anchor = builder._anchor
    following = cur_block.instructions[anchor] if anchor < len(cur_block.instructions) else None
    # the slot, zero-filled at the function's entry (alloca_once), then the value stored where
    # the proxy was built: what Numba's __init__ emits, but for the use-site zero fill, which
    # the store overwrites whole
    slot = cgutils.alloca_once(builder, proxy._be_type)
    if lazy.before is None:  # built at the block's start: after its phi nodes
        first = next((i for i in lazy.block.instructions if i.opname != "phi"), None)
        _restore(builder, lazy.block, first)
    else:
        builder.position_after(lazy.before)
    builder.store(lazy.value, slot)
    for read in lazy.reads:  # each earlier read now takes its struct from the slot
        builder.position_before(read)
        whole = builder.load(slot)
        read.replace_usage(lazy.value, whole)  # its operands (and its text's cache)
        read.aggregate = whole  # what llvmlite prints it from
    _restore(builder, cur_block, following)
    proxy.__dict__["_ref_value"] = slot
    proxy.__dict__["_ref_outer"] = slot


def _lazy_read(proxy: Any, index: int) -> Any:
    lazy = proxy.__dict__["_lazy"]
    read = proxy._builder.extract_value(lazy.value, index)
    lazy.reads.append(read)
    return read


# Numba's methods that need the struct in memory: each first makes a lazy proxy's slot
_NEED_SLOT = ("__setitem__", "_get_ptr_by_index", "_getpointer", "_getvalue", "_setvalue")
# The methods replaced, by name: ``uninstall`` puts them back (for comparisons in tests)
ORIGINAL: dict[str, Any] = {}
_ADDED = ("_value", "_outer_ref", "__init_subclass__")


def _needing_slot(original: Any) -> Any:
    def method(self: Any, *args: Any) -> Any:
        _materialize(self)
        return original(self, *args)

    method.__name__ = original.__name__
    method.__doc__ = original.__doc__
    return method


def _slot_ref(key: str) -> property:
    """A proxy's ``_value`` or ``_outer_ref`` (Numba sets them in ``__init__``): the slot,
    made first if the proxy is lazy."""

    def get(self: Any) -> Any:
        _materialize(self)
        return self.__dict__[key]

    def set_(self: Any, ref: Any) -> None:
        self.__dict__[key] = ref

    return property(get, set_)


def _patch(proxy_class: type) -> None:
    for name in ("__init__", "__getitem__", *_NEED_SLOT):
        ORIGINAL[name] = getattr(proxy_class, name)
    init, getitem = ORIGINAL["__init__"], ORIGINAL["__getitem__"]

    def __init__(self: Any, context: Any, builder: Any, value: Any = None, ref: Any = None) -> None:
        d = self.__dict__
        d["_lazy"] = None
        if value is not None and ref is None:
            model = context.data_model_manager[self._fe_type]
            if isinstance(model, datamodel.StructModel):
                be_type = self._get_be_type(model)
                if value.type == be_type:
                    d["_context"] = context
                    d["_datamodel"] = model
                    d["_builder"] = builder
                    d["_be_type"] = be_type
                    d["_lazy"] = _Lazy(value, *_position(builder))
                    return
        init(self, context, builder, value, ref)

    def __getitem__(self: Any, index: int) -> Any:
        if self.__dict__.get("_lazy") is None:
            return getitem(self, index)
        return self._cast_member_to_value(index, _lazy_read(self, index))

    def __init_subclass__(cls: type, **kwargs: Any) -> None:
        super(proxy_class, cls).__init_subclass__(**kwargs)
        shape = cls.__dict__.get("shape")
        if isinstance(shape, property) and cls.__qualname__.endswith(
            "make_array.<locals>.ArrayStruct"
        ):
            cls.shape = property(_lazy_shape(shape.fget), doc=shape.__doc__)

    __init__.__wrapped__ = init
    proxy_class.__init__ = __init__
    proxy_class.__getitem__ = __getitem__
    for name in _NEED_SLOT:
        setattr(proxy_class, name, _needing_slot(ORIGINAL[name]))
    proxy_class._value = _slot_ref("_ref_value")
    proxy_class._outer_ref = _slot_ref("_ref_outer")
    proxy_class.__init_subclass__ = classmethod(__init_subclass__)


def _lazy_shape(getter: Any) -> Any:
    """``ArrayStruct.shape`` (a load per dimension, packed into an array value) as one
    ``extractvalue`` while the proxy is lazy."""

    def shape(self: Any) -> Any:
        if self.__dict__.get("_lazy") is None or self._fe_type.ndim == 0:
            return getter(self)
        return _lazy_read(self, self._datamodel.get_field_position("shape"))

    shape.__doc__ = getter.__doc__
    return shape


if (
    _Proxy is not None
    and not hasattr(_Proxy.__init__, "__wrapped__")  # once, even if re-imported
    and all(hasattr(_Proxy, name) for name in ("_get_be_type", *_NEED_SLOT))
    and hasattr(cgutils, "alloca_once")
):
    _patch(_Proxy)


def uninstall() -> None:
    """Numba's own proxies again, for proxies made from now on (a comparison: the module
    docstring's claims are tested with this module on and off)."""
    if _Proxy is None or not ORIGINAL:
        return
    for name, method in ORIGINAL.items():
        setattr(_Proxy, name, method)
    for name in _ADDED:
        if name in _Proxy.__dict__:
            delattr(_Proxy, name)
    ORIGINAL.clear()
