"""numbarl.envs.struct_reads: a struct built from a value is read with ``extractvalue`` until
something writes it; every read sees what Numba's own code would have read, and results are the
same bytes."""

import numpy as np
import pytest
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.registry import cpu_target
from numba.extending import intrinsic

import numbarl.envs  # noqa: F401  (installs the change)
from numbarl.envs import struct_reads
from tests.subprocess_probe import assert_trains_to_the_same_bytes, run_on_and_off


def test_installed_once():
    init = cgutils._StructProxy.__init__
    assert hasattr(init, "__wrapped__")
    assert not hasattr(init.__wrapped__, "__wrapped__")
    assert set(struct_reads.ORIGINAL) >= {"__init__", "__getitem__", "_getpointer"}


@intrinsic
def _read_then_write_in_a_loop(typingctx, ary, n):  # noqa: ANN001, ANN201
    """sum over n turns of (the array's ``nitems`` field, read), each turn then writing the
    field plus one: in Numba's code the read of turn k sees the write of turn k - 1. The proxy
    is built from the array's value and read before its first write, so it starts lazy."""
    sig = types.intp(ary, n)

    def codegen(context, builder, signature, args):  # noqa: ANN001, ANN202
        proxy = context.make_array(signature.args[0])(context, builder, args[0])
        lazy = proxy.__dict__.get("_lazy") is not None
        total = cgutils.alloca_once_value(builder, context.get_constant(types.intp, 0))
        one = context.get_constant(types.intp, 1)
        with cgutils.for_range(builder, args[1]):
            seen = proxy.nitems  # emitted before the write below, run after it from turn 2 on
            builder.store(builder.add(builder.load(total), seen), total)
            proxy.nitems = builder.add(seen, one)
        assert lazy  # the case under test: reads served before the slot existed
        return builder.load(total)

    return sig, codegen


@njit
def _read_then_write(a, n):  # noqa: ANN001, ANN201
    return _read_then_write_in_a_loop(a, n)


def test_a_read_before_a_write_in_a_loop_sees_the_write():
    """The read emitted before the proxy's first write is rewritten to read the slot: turn k
    reads 5 + k (a read of the value the proxy was built from would give 5 every turn)."""
    a = np.zeros(5)
    n = 4
    assert _read_then_write(a, n) == sum(5 + k for k in range(n))  # 26, not 20
    assert a.size == 5  # the writes went to the kernel's own copy of the array's struct


def test_a_lazy_proxy_never_written_reads_the_value():
    """Field reads of a proxy built from a value and never written: ``extractvalue`` of that
    value, no stack slot."""
    module = ir.Module()
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), []), "f")
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    aryty = types.Array(types.float64, 2, "C")
    ctx = cpu_target.target_context
    value = ir.Constant(ctx.get_value_type(aryty), None)
    proxy = ctx.make_array(aryty)(ctx, builder, value)
    shape = proxy.shape
    data = proxy.data
    builder.ret_void()
    assert isinstance(shape, ir.instructions.ExtractValue)
    assert isinstance(data, ir.instructions.ExtractValue)
    assert not any(isinstance(i, ir.instructions.AllocaInstr) for i in fn.blocks[0].instructions)


# A kernel of array reads, writes, shapes and slices compiled in a fresh process with the
# change on or off: its result, the raw IR Numba handed LLVM (lines) and a hash of the
# optimised IR with its local names left out.
SCRIPT = r"""
import hashlib, json, re, sys
import numpy as np
from numba import njit
from numba.core import codegen
import numbarl.envs
from numbarl.envs import struct_reads

if sys.argv[1] == "off":
    struct_reads.uninstall()
raw = [0]
add = codegen.CPUCodeLibrary.add_ir_module
def counting(self, module):
    raw[0] += str(module).count("\n")
    return add(self, module)
codegen.CPUCodeLibrary.add_ir_module = counting

@njit
def kernel(x, w):
    n, m = x.shape
    out = np.empty((n, w.shape[1]))
    for i in range(n):
        for j in range(w.shape[1]):
            s = 0.0
            for k in range(m):
                s += x[i, k] * w[k, j]
            out[i, j] = np.tanh(s)
    rows = out[1:, :]
    total = 0.0
    for i in range(rows.shape[0]):
        total += rows[i].sum() + rows[i, -1]
    return out, total

x = np.linspace(-1.0, 2.0, 24).reshape(4, 6)
w = np.linspace(0.5, -0.5, 18).reshape(6, 3)
out, total = kernel(x, w)
text = kernel.inspect_llvm(kernel.signatures[0])
text = re.sub(r"numba\.dynamic\.globals\.[0-9a-f]+|0x[0-9a-f]{8,}|i64 [0-9]{12,}", "ADDR", text)
# the names LLVM gives values, blocks and metadata follow Numba's numbering, which the change shifts
text = re.sub(r"![0-9]+", "!m", text)
text = re.sub(r'%["\w.$]+', "%v", text)
text = re.sub(r'^["\w.$]+:', "L:", text, flags=re.M)
print(json.dumps({"ir": hashlib.sha1(text.encode()).hexdigest(), "raw": raw[0],
                  "value": hashlib.sha1(out.tobytes()).hexdigest() + total.hex()}))
"""


def test_less_raw_ir_the_same_optimised_code(tmp_path, monkeypatch):
    on, off = run_on_and_off(SCRIPT, tmp_path, monkeypatch)  # each compiles everything
    assert on["value"] == off["value"]
    assert on["ir"] == off["ir"]
    assert on["raw"] < 0.95 * off["raw"]


# Turns the change off in a probe whose argument is "off"
OFF = """
from numbarl.envs import struct_reads

if sys.argv[1] == "off":
    struct_reads.uninstall()
"""


@pytest.mark.slow
def test_a_learner_trains_to_the_same_bytes(tmp_path, monkeypatch):
    assert_trains_to_the_same_bytes(OFF, "trpo", tmp_path, monkeypatch)


def test_a_slot_made_later_is_filled_after_the_phi_nodes_of_the_block_it_was_built_at():
    """A proxy built at the start of a block that later gets phi nodes: when a write makes its
    slot, the value's store goes after them (a store before a phi is invalid IR), and the read
    served before it reads the slot."""
    fn = ir.Function(ir.Module(), ir.FunctionType(ir.VoidType(), [ir.IntType(1)]), "f")
    entry, body = fn.append_basic_block("entry"), fn.append_basic_block("body")
    builder = ir.IRBuilder(entry)
    builder.branch(body)
    builder.position_at_end(body)  # nothing in the block yet: the proxy is built at its start
    aryty = types.Array(types.float64, 1, "C")
    ctx = cpu_target.target_context
    value = ir.Constant(ctx.get_value_type(aryty), None)
    proxy = ctx.make_array(aryty)(ctx, builder, value)
    read = proxy.nitems
    builder.position_at_start(body)
    phi = builder.phi(ir.IntType(64))
    phi.add_incoming(ir.Constant(ir.IntType(64), 0), entry)
    builder.position_at_end(body)
    proxy.nitems = builder.add(read, ir.Constant(ir.IntType(64), 1))  # makes the slot
    builder.ret_void()
    ops = [i.opname for i in body.instructions]
    assert ops[0] == "phi"
    assert ops[1] == "store"  # the value, stored where the proxy was built, after the phi
    assert read.aggregate is not value  # the earlier read now takes its struct from the slot
    assert read.aggregate.opname == "load"
