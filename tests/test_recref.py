"""numbarl.nn.recref: records reach pointer-called kernels by reference (one pointer argument),
read field by field exactly as the NamedTuple; the callers' code is unchanged."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
from numba import njit, typeof, types
from numba.core.errors import TypingError

from numbarl.nn.kernel import Pointer, call_kernel, pointer_kernel
from numbarl.nn.recref import RecordRef, by_ref


class _Rec(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    k: int
    scale: float
    on: bool


class _Fns(NamedTuple):
    fill: object


def _rec() -> _Rec:
    return _Rec(np.arange(4.0), np.zeros(4), 3, 0.5, True)


@pointer_kernel(cache=True)
def _fill(rec: _Rec, out: np.ndarray) -> float:
    """Writes through the record's arrays and returns a value read from every kind of field."""
    for i in range(rec.x.shape[0]):
        rec.y[i] = rec.scale * rec.x[i]
        out[i] = rec.y[i] + rec.k
    return rec.x.sum() + (1.0 if rec.on else 0.0)


@njit(cache=True)
def _caller(fns: _Fns, rec: _Rec, out: np.ndarray) -> float:
    return fns.fill(rec, out)  # a NamedTuple where the pointer takes its RecordRef


@pointer_kernel(cache=True)
def _unpack(rec: _Rec) -> float:
    x, y, k, scale, on = rec  # unpacking needs the record by value
    return x[0]


def test_a_pointers_signature_takes_records_by_reference() -> None:
    sig = types.float64(typeof(_rec()), typeof(np.zeros(4)))
    ptr = Pointer(_fill, sig)
    assert ptr.signature().args == (RecordRef(typeof(_rec())), typeof(np.zeros(4)))
    assert ptr.signature().return_type == types.float64
    plain = types.float64(types.int64, typeof(np.zeros(4)))
    assert by_ref(plain) is plain  # nothing to change: the same signature


def test_a_record_by_reference_reads_and_writes_as_the_namedtuple() -> None:
    rec, out = _rec(), np.zeros(4)
    assert call_kernel(_fill, rec, out) == 7.0  # from Python: the trampoline passes a reference
    np.testing.assert_array_equal(rec.y, 0.5 * np.arange(4.0))
    np.testing.assert_array_equal(out, 0.5 * np.arange(4.0) + 3)
    rec2, out2 = _rec()._replace(k=-1, on=False), np.zeros(4)
    fns = _Fns(Pointer(_fill, types.float64(typeof(rec2), typeof(out2))))
    assert _caller(fns, rec2, out2) == 6.0  # from compiled code, through the pointer
    np.testing.assert_array_equal(out2, 0.5 * np.arange(4.0) - 1)


def test_a_use_that_needs_the_record_by_value_fails_to_compile() -> None:
    with pytest.raises(TypingError, match="RecordRef"):
        call_kernel(_unpack, _rec())


def test_only_namedtuple_types_have_references() -> None:
    with pytest.raises(TypeError, match="NamedTuple"):
        RecordRef(types.UniTuple(types.float64, 2))


class _Outer(NamedTuple):
    inner: _Rec


@pointer_kernel(cache=True)
def _mixed(rec: _Rec, outer: _Outer) -> float:
    r = rec  # a reference (a pointer's argument)
    if rec.k > 0:
        r = outer.inner  # the record by value: one variable cannot hold both
    return r.x[0]


def test_a_variable_holding_a_record_and_its_reference_is_refused() -> None:
    with pytest.raises(TypingError, match="both"):
        call_kernel(_mixed, _rec(), _Outer(_rec()))
