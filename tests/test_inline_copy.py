"""numbarl.envs.inline_copy: Numba's inliner copies a callee's IR in linear time, and the code
it compiles is the code it compiled before."""

import copy

from numba import njit
from numba.core import inline_closurecall
from numba.core.compiler import run_frontend

import numbarl.envs  # noqa: F401  (installs the shared-memo copy)
from numbarl.envs import inline_copy
from tests.subprocess_probe import run_probe

# A callee of many blocks and variables, inlined twice (and a helper inlined into it), compiled
# in a fresh process with the shared memo on or off. Prints the caller's LLVM IR (process
# addresses masked) and how many variables were deep-copied.
SCRIPT = r"""
import copy, hashlib, json, re, sys
import numpy as np
from numba import njit
from numba.core import inline_closurecall, ir
import numbarl.envs

if sys.argv[1] == "off":
    worker = inline_closurecall.InlineWorker
    inline_closurecall.copy = copy
    worker.inline_ir = worker.inline_ir.__wrapped__
copied = [0]
var_deepcopy = ir.Var.__deepcopy__
def counting(self, memo):
    copied[0] += 1
    return var_deepcopy(self, memo)
ir.Var.__deepcopy__ = counting

@njit(inline="always")
def helper(x, k):
    if k > 0:
        return x * k
    return x - k

@njit(inline="always")
def body(a, rule):
    s = 0.0
    for i in range(a.shape[0]):
        v = a[i]
        if rule == 0:
            s += helper(v, 1)
        elif rule == 1:
            s -= helper(v, 2)
        elif rule == 2:
            s *= 0.5 + helper(v, -1)
        else:
            t = 0.0
            for j in range(i):
                t += a[j] * v
            s += t
        if s > 1e6:
            break
    return s

@njit
def caller(a):
    return body(a, 0) + body(a, 3)

caller.compile("(float64[::1],)")
text = caller.inspect_llvm(caller.signatures[0])
text = re.sub(r"numba\.dynamic\.globals\.[0-9a-f]+|0x[0-9a-f]{8,}|i64 [0-9]{12,}", "ADDR", text)
value = caller(np.linspace(0.0, 1.0, 17))
print(json.dumps({"ir": hashlib.sha1(text.encode()).hexdigest(), "copied": copied[0],
                  "value": value.hex(), "shared": sys.argv[1] == "on"}))
"""


def _compile(mode: str) -> dict:
    return run_probe(SCRIPT, mode)


def test_the_shared_memo_is_installed_once():
    assert isinstance(inline_closurecall.copy, inline_copy._SharedMemoCopy)
    wrapped = inline_closurecall.InlineWorker.inline_ir
    assert not hasattr(wrapped.__wrapped__, "__wrapped__")  # not wrapped twice


def test_same_code_with_far_fewer_copies():
    on, off = _compile("on"), _compile("off")
    assert on["ir"] == off["ir"]  # the caller's LLVM IR, to the instruction
    assert on["value"] == off["value"]
    # each block of an inlined body used to copy the whole scope again: blocks x variables
    assert off["copied"] > 4 * on["copied"], (on["copied"], off["copied"])


def _blocks_of(f) -> dict:
    return run_frontend(f).blocks


def _branchy(x):
    y = 0
    for i in range(x):
        if i % 2:
            y += i
        else:
            y -= 1
    return y


def test_blocks_of_one_ir_share_one_scope_copy_and_a_second_copy_is_independent():
    copier = inline_copy._SharedMemoCopy()
    blocks = _blocks_of(_branchy)
    assert len(blocks) > 3
    copier.active = 1
    first = [copier.deepcopy(b) for b in blocks.values()]
    scopes = {id(b.scope) for b in first}
    assert len(scopes) == 1 and first[0].scope is not next(iter(blocks.values())).scope
    again = [copier.deepcopy(b) for b in blocks.values()]  # the same IR copied a second time
    assert all(a is not b for a, b in zip(first, again, strict=True))
    assert again[0].scope is not first[0].scope
    for a, b in zip(first, again, strict=True):  # equal statements, not shared objects
        assert [str(s) for s in a.body] == [str(s) for s in b.body]
        assert all(s is not t for s, t in zip(a.body, b.body, strict=True))
    copier.active = 0  # outside inline_ir: the plain deepcopy, a fresh memo per call
    plain = [copier.deepcopy(b) for b in blocks.values()]
    assert len({id(b.scope) for b in plain}) == len(plain)
    assert copier.deepcopy is not copy.deepcopy and copier.copy is copy.copy


def test_the_memo_does_not_outlive_an_inline(monkeypatch):
    copier = inline_closurecall.copy
    seen = []
    original = inline_copy._copy.deepcopy

    def watching(x, memo=None):
        if memo is copier.memo and copier.active:
            seen.append(len(memo))
        return original(x, memo)

    monkeypatch.setattr(inline_copy._copy, "deepcopy", watching)

    inner = njit(inline="always")(_branchy)

    @njit
    def outer(x):
        return inner(x) * 2

    assert outer(3) == 2 * _branchy(3)  # compiled now: `inner` inlined through the shared memo
    assert seen  # the blocks were copied with the shared memo
    assert copier.active == 0 and copier.memo == {} and copier.scope is None


# A helper inlined at three sites of one caller and at one of another: its untyped IR built once
# or (cache off) at every site; prints the callers' LLVM IR (value names and labels masked: the
# inlined variables are named by the caller's scope instead of a fresh function id) and results.
CACHE_SCRIPT = r"""
import hashlib, json, re, sys
import numpy as np
from numba import njit
from numba.core import inline_closurecall
import numbarl.envs
from numbarl.envs import inline_copy

worker = inline_closurecall.InlineWorker
if sys.argv[1] == "off":
    worker.inline_function = worker.inline_function.__wrapped__
built = [0]
run = worker.run_untyped_passes
def counting(self, func, enable_ssa=False):
    built[0] += func.__name__ == "scaled"
    return run(self, func, enable_ssa)
worker.run_untyped_passes = counting

@njit(inline="always")
def scaled(x, k):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * k if x[i] > 0 else -x[i]
    return s

@njit
def first(a):
    return scaled(a, 1.0) + scaled(a, 2.0) * scaled(a[1:], 0.5)

@njit
def second(a):
    return scaled(a, 3.0)

a = np.linspace(-1.0, 2.0, 9)
values = [first(a), second(a)]
texts = []
for f in (first, second):
    t = f.inspect_llvm(f.signatures[0])
    t = re.sub(r"numba\.dynamic\.globals\.[0-9a-f]+|0x[0-9a-f]{8,}|i64 [0-9]{12,}", "ADDR", t)
    t = re.sub(r'%"[^"]*"|%[-\w.$]+', "%v", t)
    t = re.sub(r"B\d+v\d+B", "BvB", t)  # compile ids: one function id fewer per cached site
    texts.append(re.sub(r'(?m)^[^\s;]+:.*$', "LABEL:", t))
print(json.dumps({"ir": hashlib.sha1("".join(texts).encode()).hexdigest(), "built": built[0],
                  "values": [float(v).hex() for v in values]}))
"""


def test_an_inlined_function_is_built_once_and_compiles_the_same():
    on, off = run_probe(CACHE_SCRIPT, "on"), run_probe(CACHE_SCRIPT, "off")
    assert off["built"] == 4 and on["built"] == 1  # four call sites in two callers
    assert on["ir"] == off["ir"]
    assert on["values"] == off["values"]


def test_the_cached_ir_is_not_changed_by_inlining():
    @njit(inline="always")
    def inner(x):
        y = x + 1
        return y * 2 if y > 0 else -y

    @njit
    def twice(x):
        return inner(x) + inner(x - 3)

    assert twice(2) == inner.py_func(2) + inner.py_func(-1)
    entries = [e for k, e in inline_copy.untyped_irs.entries.items() if k[0] is inner.py_func]
    assert len(entries) == 1 and len(entries[0]) == 1
    cached = entries[0][0][1]
    before = cached.dump_to_string()

    @njit
    def thrice(x):
        return inner(x) + inner(x) + inner(-x)

    assert thrice(1) == 2 * inner.py_func(1) + inner.py_func(-1)
    assert cached.dump_to_string() == before  # copied at each site, never changed
    assert [e for k, e in inline_copy.untyped_irs.entries.items() if k[0] is inner.py_func] == [
        entries[0]
    ]


def test_installed_once_with_its_original():
    inline_function = inline_closurecall.InlineWorker.inline_function
    assert not hasattr(inline_function.__wrapped__, "__wrapped__")
