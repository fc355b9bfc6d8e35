"""numbarl.envs.flags_values: Numba's compile flags give the same ``values()``, hash and equality
as before, computed without a property read per option, and Numba compiles the same code."""

from numba.core import targetconfig
from numba.core.compiler import Flags
from numba.core.targetconfig import Option, TargetConfig

import numbarl.envs  # noqa: F401  (installs the faster values and hash)
from numbarl.envs import flags_values
from tests.subprocess_probe import run_probe

ORIGINAL_VALUES = flags_values._original_values
ORIGINAL_HASH = flags_values._original_hash

# A function typing many overloaded calls (each a template lookup keyed by the flags), compiled
# in a fresh process with the faster values/hash on or off; prints its LLVM IR's hash and its
# result.
SCRIPT = r"""
import hashlib, json, re, sys
import numpy as np
from numba import njit
from numba.core import targetconfig
import numbarl.envs
from numbarl.envs import flags_values

if sys.argv[1] == "off":
    targetconfig.TargetConfig.values = flags_values._original_values
    targetconfig.TargetConfig.__hash__ = flags_values._original_hash

@njit(error_model="numpy")
def caller(a, n):
    out = np.zeros(n)
    tmp = np.empty((n, 2))
    for i in range(n):
        tmp[i, 0] = max(a[i % a.shape[0]], 0.0)
        tmp[i, 1] = min(a[i % a.shape[0]], 1.0)
        out[i] = np.sqrt(abs(tmp[i, 0] - tmp[i, 1])) + np.sum(tmp[i])
    return out.mean() + np.dot(a, a)

value = caller(np.linspace(-1.0, 2.0, 7), 11)
text = caller.inspect_llvm(caller.signatures[0])
text = re.sub(r"numba\.dynamic\.globals\.[0-9a-f]+|0x[0-9a-f]{8,}|i64 [0-9]{12,}", "ADDR", text)
print(json.dumps({"ir": hashlib.sha1(text.encode()).hexdigest(), "value": value.hex()}))
"""


def _compile(mode: str) -> dict:
    return run_probe(SCRIPT, mode)


def test_installed_once():
    assert targetconfig.TargetConfig.values is flags_values.values
    assert targetconfig.TargetConfig.__hash__ is flags_values.config_hash
    assert not hasattr(ORIGINAL_VALUES, "__wrapped__")
    assert not hasattr(ORIGINAL_HASH, "__wrapped__")


def _flags_examples() -> list[Flags]:
    plain = Flags()
    some = Flags()
    some.no_cpython_wrapper = True
    some.error_model = "numpy"
    some.boundscheck = True
    copied = Flags(copy_from=some)
    copied.fastmath = {"nnan"}  # a set option: stored converted by its Option type
    return [plain, some, copied]


def test_values_and_hash_are_the_originals():
    for f in _flags_examples():
        assert f.values() == ORIGINAL_VALUES(f)
        assert list(f.values()) == list(ORIGINAL_VALUES(f))  # the same order too
        assert hash(f) == ORIGINAL_HASH(f)
    plain, some, copied = _flags_examples()
    assert plain == Flags() and plain != some and some != copied
    assert Flags(copy_from=some) == some
    # the dict returned is the caller's own: changing it changes no flags
    v = plain.values()
    v["boundscheck"] = "changed"
    assert plain.values() == ORIGINAL_VALUES(plain)


class _Small(TargetConfig):
    a = Option(type=int, default=1, doc="")
    b = Option(type=str, default="x", doc="")


class _Wider(_Small):
    c = Option(type=int, default=3, doc="")


class _Overridden(TargetConfig):
    a = Option(type=int, default=1, doc="")


_Overridden.a = property(lambda self: 42)  # not the option's own getter


def test_unusual_configs_use_the_original():
    wide = _Wider()
    wide.c = 7
    narrow = _Small(copy_from=wide)  # holds 'c', not an option of _Small
    assert narrow.values() == ORIGINAL_VALUES(narrow) == {"a": 1, "b": "x"}
    odd = _Overridden()
    assert odd.values() == ORIGINAL_VALUES(odd) == {"a": 42}
    assert hash(narrow) == ORIGINAL_HASH(narrow) and hash(odd) == ORIGINAL_HASH(odd)


def test_same_code_compiled():
    on, off = _compile("on"), _compile("off")
    assert on["ir"] == off["ir"]
    assert on["value"] == off["value"]
