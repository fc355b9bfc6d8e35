"""numbarl.envs.nrt_meminfos: Numba's reference counts find the same meminfos in the same order
without reading the members that hold none, and Numba compiles the same code."""

from typing import NamedTuple

import numpy as np
from llvmlite import ir as llir
from numba import typeof, types
from numba.core.registry import cpu_target
from numba.core.runtime import context as nrt_context

import numbarl.envs  # noqa: F401  (installs the shorter walk)
from numbarl.envs import nrt_meminfos
from tests.experiment_helpers import common
from tests.subprocess_probe import run_probe


class _Inner(NamedTuple):
    weights: np.ndarray
    scale: float
    shape: tuple


class _Record(NamedTuple):
    obs: np.ndarray
    count: int
    inner: _Inner
    masks: np.ndarray
    pair: tuple


def _record_type() -> types.Type:
    inner = _Inner(np.zeros((2, 3), np.float32), 1.0, (4, 5))
    record = _Record(np.zeros(3), 2, inner, np.zeros((2, 2, 2), np.bool_), (np.zeros(1), 3.0))
    return typeof(record)


def _walk(ty: types.Type, original: bool = False) -> tuple[list, str]:
    """The meminfos ``get_meminfos`` (Numba's own walk if ``original``) finds in an argument of
    type ``ty`` of a new function (their types and LLVM values), and the function's IR after."""
    # a copy, as Numba compiles with: the base context caches its ``nrt`` (disabled there), and
    # every copy made after would inherit that cached, disabled runtime
    ctx = cpu_target.target_context.subtarget(enable_nrt=True)
    module = llir.Module()
    fnty = llir.FunctionType(llir.VoidType(), [ctx.get_value_type(ty)])
    fn = llir.Function(module, fnty, "walked")
    builder = llir.IRBuilder(fn.append_basic_block())
    installed = nrt_context.NRTContext.get_meminfos
    if original:  # the whole walk: it calls itself for each member
        nrt_context.NRTContext.get_meminfos = nrt_meminfos._original
    try:
        found = ctx.nrt.get_meminfos(builder, ty, fn.args[0])
    finally:
        nrt_context.NRTContext.get_meminfos = installed
    builder.ret_void()
    return [(str(t), str(v)) for t, v in found], str(module)


def test_installed_once():
    walk = nrt_context.NRTContext.get_meminfos
    assert walk.__wrapped__ is nrt_meminfos._original
    assert not hasattr(walk.__wrapped__, "__wrapped__")


def test_same_meminfos_in_the_same_order_with_fewer_reads():
    ty = _record_type()
    found, text = _walk(ty)
    found_before, text_before = _walk(ty, original=True)
    assert [t for t, _ in found] == [t for t, _ in found_before]
    assert len(found) == 4  # obs, inner.weights, masks, pair[0]
    # each meminfo is the first member of its array, reached through the same members
    assert all("meminfo" in v for _, v in found)
    reads, reads_before = text.count("extractvalue"), text_before.count("extractvalue")
    assert reads < reads_before / 3, (reads, reads_before)


def test_types_without_meminfo_and_plain_arrays():
    plain = types.UniTuple(types.float64, 3)
    assert _walk(plain)[0] == []
    assert "extractvalue" not in _walk(plain)[1]
    array = types.Array(types.float64, 2, "C")
    found, _ = _walk(array)
    found_before, _ = _walk(array, original=True)
    assert found == found_before and found[0][0] == "memory-managed *float64"


# Records of arrays copied through inlined helpers (each copy a reference count on every array),
# compiled in a fresh process with the shorter walk on or off; prints the optimised LLVM IR's
# hash (value names masked: fewer dead reads renumber them), the size of the IR Numba handed
# LLVM and the result.
SCRIPT = r"""
import hashlib, json, re, sys
from typing import NamedTuple
import numpy as np
from numba import njit
from numba.core.runtime import context
import numbarl.envs
from numbarl.envs import nrt_meminfos

if sys.argv[1] == "off":
    context.NRTContext.get_meminfos = nrt_meminfos._original

class Rec(NamedTuple):
    a: np.ndarray
    b: np.ndarray
    n: int
    c: np.ndarray

{raw_ir_counter}

@njit(inline="always")
def total(r):
    return r.a.sum() + r.b.sum() * r.n

@njit
def caller(r, k):
    s = 0.0
    for i in range(k):
        q = r
        s += total(q) + total(r) + q.c[i % q.c.shape[0]]
    return s

r = Rec(np.arange(4.0), np.ones(3), 2, np.linspace(0.0, 1.0, 5))
value = caller(r, 7)
text = caller.inspect_llvm(caller.signatures[0])
text = re.sub(r"numba\.dynamic\.globals\.[0-9a-f]+|0x[0-9a-f]{8,}|i64 [0-9]{12,}", "ADDR", text)
text = re.sub(r'%"[^"]*"|%[-\w.$]+', "%v", text)
text = re.sub(r'(?m)^[^\s;]+:.*$', "LABEL:", text)
print(json.dumps({"ir": hashlib.sha1(text.encode()).hexdigest(), "raw": raw[0],
                  "value": float(value).hex()}))
""".replace("{raw_ir_counter}", common.RAW_IR_COUNTER)


def test_same_code_compiled_from_less_ir():
    on, off = run_probe(SCRIPT, "on"), run_probe(SCRIPT, "off")
    assert on["ir"] == off["ir"]  # the optimised code, instruction for instruction
    assert on["value"] == off["value"]
    assert on["raw"] < 0.9 * off["raw"], (on["raw"], off["raw"])
