"""numbarl.envs.overload_cfunc: ``@overload`` implementations compile without the C-callable
wrapper nothing calls, and their callers compile to the same code."""

import numpy as np
from numba import njit
from numba.core.typing import templates
from numba.extending import overload

import numbarl.envs  # noqa: F401  (installs the change)
from numbarl.envs import overload_cfunc
from tests.subprocess_probe import run_probe

# Overloads of numpy, builtins and one of this script's own, called from a function compiled in
# a fresh process with the change on or off; prints the caller's LLVM IR hash, its result and
# how many C wrappers Numba generated.
SCRIPT = r"""
import hashlib, json, re, sys
import numpy as np
from numba import njit
from numba.core import cpu
from numba.core.typing import templates
from numba.extending import overload
import numbarl.envs

if sys.argv[1] == "off":
    t = templates._OverloadFunctionTemplate
    t._build_impl = t._build_impl.__wrapped__
wrappers = [0]
create = cpu.CPUContext.create_cfunc_wrapper
def counting(self, *args, **kwargs):
    wrappers[0] += 1
    return create(self, *args, **kwargs)
cpu.CPUContext.create_cfunc_wrapper = counting

def clipped(x, lo):
    pass

@overload(clipped)
def _clipped(x, lo):
    def impl(x, lo):
        return x if x > lo else lo
    return impl

@njit
def caller(a, n, rng):
    out = np.zeros(n)
    for i in range(n):
        out[i] = clipped(max(a[i % a.shape[0]], -0.5), 0.25) + np.sum(a)
    return out.mean() + np.dot(a, a) + rng.random()

value = caller(np.linspace(-1.0, 2.0, 7), 11, np.random.default_rng(3))
text = caller.inspect_llvm(caller.signatures[0])
text = re.sub(r"numba\.dynamic\.globals\.[0-9a-f]+|0x[0-9a-f]{8,}|i64 [0-9]{12,}", "ADDR", text)
# The mangled names carry the compile flags as an ABI tag ("B<length><tag>"), which names the
# C-wrapper option; mask those tags, and compare the module's declarations as a set (their
# order follows the order the libraries were linked in), its function bodies as they are.
def unflag(t):
    out, i = [], 0
    for m in re.finditer(r"B([0-9]+)c8tJTIeFIjx", t):
        if m.start() < i:
            continue
        out.append(t[i:m.start()])
        out.append("B<flags>")
        i = m.start() + 1 + len(m.group(1)) + int(m.group(1))
    out.append(t[i:])
    return "".join(out)
text = unflag(text)
head, _, body = text.partition("\ndefine ")
text = "\n".join(sorted(head.splitlines())) + "\ndefine " + body
print(json.dumps({"ir": hashlib.sha1(text.encode()).hexdigest(), "value": value.hex(),
                  "wrappers": wrappers[0]}))
"""


def _compile(mode: str) -> dict:
    return run_probe(SCRIPT, mode)


def test_installed_once():
    build = templates._OverloadFunctionTemplate._build_impl
    assert build.__code__ is overload_cfunc._without_cfunc(lambda *a: None).__code__
    assert not hasattr(build.__wrapped__, "__wrapped__")


def _impl_library(template_key, args: tuple):
    """The compiled library of the implementation a caller's typing chose for ``args``."""
    for tmpl in templates._OverloadFunctionTemplate.__subclasses__():
        if getattr(tmpl, "_overload_func", None) is template_key:
            for disp, _ in tmpl._impl_cache.values():
                if disp is None:
                    continue
                for sig, cres in disp.overloads.items():
                    if sig == args:
                        return cres
    raise AssertionError("implementation not found")


def _twice(x):
    pass


@overload(_twice)
def _twice_overload(x):
    return lambda x: 2 * x


def _thrice(x):
    pass


@overload(_thrice, jit_options={"no_cfunc_wrapper": False})  # asks for the C wrapper
def _thrice_overload(x):
    return lambda x: 3 * x


def test_implementations_lose_only_the_c_wrapper_nothing_calls():
    @njit
    def use(x):
        return _twice(x) + _thrice(x)

    assert use(2.0) == 10.0
    from numba import types

    plain = _impl_library(_twice_overload, (types.float64,))
    kept = _impl_library(_thrice_overload, (types.float64,))
    assert plain.fndesc.llvm_cfunc_wrapper_name not in plain.library.get_llvm_str()
    assert kept.fndesc.llvm_cfunc_wrapper_name in kept.library.get_llvm_str()
    # Numba's own default: no CPython wrapper for either
    assert plain.fndesc.llvm_cpython_wrapper_name not in plain.library.get_llvm_str()


def test_same_code_fewer_wrappers():
    on, off = _compile("on"), _compile("off")
    assert on["ir"] == off["ir"]  # the caller's optimised LLVM IR, to the instruction
    assert on["value"] == off["value"]
    assert on["wrappers"] < off["wrappers"] - 3, (on["wrappers"], off["wrappers"])


def test_a_python_call_of_an_njit_function_still_has_its_wrappers():
    @njit
    def f(a):
        return np.sum(a) * 2.0

    assert f(np.ones(3)) == 6.0
    cres = f.overloads[f.signatures[0]]
    text = cres.library.get_llvm_str()
    assert cres.fndesc.llvm_cfunc_wrapper_name in text  # a plain njit keeps both wrappers
    assert cres.fndesc.llvm_cpython_wrapper_name in text
