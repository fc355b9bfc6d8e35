"""Records passed to pointer-called kernels by reference: ``RecordRef``.

numbarl's learners hand their state to compiled kernels as records: NamedTuples of arrays
(``Policy``, ``Rollout``, ``VecEnv``, the optimisers, a learner's work arrays). Numba passes a
NamedTuple by value: at every call each array's seven-plus fields (meminfo, parent, sizes, data
pointer, shape, strides) are taken apart into separate arguments and put back together in the
callee, and the callee's prologue stores and reference-counts all of them. For a kernel that
takes three records of a dozen arrays that is some hundreds of instructions per call site and
per callee, which Numba lowers and LLVM optimises and emits at every cold compile, while the
kernel reads a handful of fields. (What passing them by reference saves, measured on the
learners: docs/cold_compile.md, "Records by reference".)

A ``RecordRef(record type)`` is a pointer to the caller's copy of the record: the callee
receives one argument and reads a field where the code says ``rec.field`` (one load of that
field). Nothing else changes: ``rec.field`` types and behaves as on the NamedTuple, and a
NamedTuple converts to its ``RecordRef`` implicitly where a function pointer's signature asks
for one (the caller stores its record in a stack slot and passes the slot's address), so the
callers' code is unchanged. ``numbarl.nn.kernel.Pointer`` gives every NamedTuple argument of a
pointer's signature by reference (``by_ref``).

The reference is valid while the call it was made for runs: a callee must not keep it (return
it, or store it in something that outlives the call). Kernels read fields and pass the
reference on to their own callees, which is all this allows: a ``RecordRef`` has no other
operations (no indexing, unpacking or ``_replace``), so a use that would need the record by
value fails to compile rather than misbehave.

The slot is written only by that conversion, just before a call through a function pointer,
and read only by code running inside that call (the callee and what it calls directly): while a
callee runs, its records' fields (the arrays' descriptors, the numbers, the pointers) do not
change; the arrays' elements may, as before. The field loads say so to LLVM (``invariant.load``), so
that reads of a record inside a loop are hoisted and merged as reads of a by-value argument
were. A variable that would be a record on one path and a reference on another (where Numba
would convert, and write a slot that the same function reads) is refused at compile time
(``RecordRef.unify``).
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.core.datamodel import models
from numba.core.errors import TypingError
from numba.core.extending import register_model
from numba.core.imputils import impl_ret_borrowed, lower_cast, lower_getattr_generic
from numba.core.typing.templates import AttributeTemplate, infer_getattr


class RecordRef(types.Type):
    """A reference to a record of Numba type ``record`` (a NamedTuple type): see the module
    docstring."""

    def __init__(self, record: types.BaseNamedTuple) -> None:
        if not isinstance(record, types.BaseNamedTuple):
            raise TypeError(f"RecordRef takes a NamedTuple type, not {record}")
        self.record = record
        super().__init__(name=f"RecordRef({record})")

    @property
    def key(self) -> types.BaseNamedTuple:
        return self.record

    def unify(self, typingctx, other):  # noqa: ANN001, ANN201
        if other == self.record:
            raise TypingError(
                f"a variable holds both {self.record} and a reference to it: read the fields "
                "it needs instead (numbarl.nn.recref)"
            )
        return None

    def can_convert_from(self, typingctx, other):  # noqa: ANN001, ANN201
        if other == self.record:
            return types.Conversion.safe
        return None


@register_model(RecordRef)
class RecordRefModel(models.PrimitiveModel):
    """A pointer to the record's value (the LLVM struct Numba passes by value)."""

    def __init__(self, dmm, fe_type: RecordRef) -> None:  # noqa: ANN001
        be_type = dmm.lookup(fe_type.record).get_value_type().as_pointer()
        super().__init__(dmm, fe_type, be_type)


@infer_getattr
class RecordRefAttributes(AttributeTemplate):
    key = RecordRef

    def generic_resolve(self, typ: RecordRef, attr: str):  # noqa: ANN201
        record = typ.record
        if attr in record.fields:
            return record.types[record.fields.index(attr)]
        return None


@lower_getattr_generic(RecordRef)
def _record_ref_getattr(context, builder, typ: RecordRef, value, attr: str):  # noqa: ANN001, ANN202
    index = typ.record.fields.index(attr)
    field_type = typ.record.types[index]
    zero = ir.Constant(ir.IntType(32), 0)
    slot = builder.gep(value, [zero, ir.Constant(ir.IntType(32), index)], inbounds=True)
    field = builder.load(slot)
    # the record's slot is written by the caller before the call and not again while the callee
    # runs: its loads may be hoisted out of loops and merged (as reads of an argument would be)
    field.set_metadata("invariant.load", builder.module.add_metadata([]))
    return impl_ret_borrowed(context, builder, field_type, field)


@lower_cast(types.BaseNamedTuple, RecordRef)
def _record_to_ref(context, builder, fromty, toty: RecordRef, value):  # noqa: ANN001, ANN202
    slot = cgutils.alloca_once(builder, value.type)
    builder.store(value, slot)
    return slot


def by_ref_types(arg_types: tuple) -> tuple:
    """``arg_types`` with every NamedTuple type replaced by its ``RecordRef``."""
    return tuple(RecordRef(a) if isinstance(a, types.BaseNamedTuple) else a for a in arg_types)


def by_ref(signature: types.Signature) -> types.Signature:
    """``signature`` with every NamedTuple argument taken by reference (``RecordRef``); the
    return type unchanged."""
    args = by_ref_types(signature.args)
    if args == signature.args:
        return signature
    return signature.replace(args=args)


__all__ = ["RecordRef", "by_ref", "by_ref_types"]
