"""numbarl.envs.function_passes: one function pass manager per module, at LLVM's -O1; the same
results."""

import pytest
from numba.core import codegen

import numbarl.envs  # noqa: F401  (installs the change)
from tests.subprocess_probe import assert_trains_to_the_same_bytes, run_on_and_off

# Compiles a numbarl kernel and a function of its own in a fresh process with the change on or
# off; prints a hash of the caller's optimised LLVM IR, its result and how many function pass
# managers Numba built.
SCRIPT = r"""
import hashlib, json, re, sys
import numpy as np
from numba import njit
from numba.core import codegen
import numbarl.envs
from numbarl.nn import heads, mlp

library = codegen.CPUCodeLibrary
if sys.argv[1] == "off":
    library._optimize_functions = library._optimize_functions.__wrapped__
built = [0]
make = codegen.CPUCodegen._function_pass_manager
def counting(self, **kwargs):
    built[0] += 1
    return make(self, **kwargs)
codegen.CPUCodegen._function_pass_manager = counting

@njit
def caller(x, k):
    out = heads.log_softmax(x * k)
    total = 0.0
    for i in range(out.shape[0]):
        total += np.tanh(out[i, 0]) + max(out[i, -1], -3.0)
    return total + np.sum(np.exp(x))

x = np.linspace(-2.0, 3.0, 12).reshape(3, 4)
value = caller(x, 0.5)
text = caller.inspect_llvm(caller.signatures[0])
text = re.sub(r"numba\.dynamic\.globals\.[0-9a-f]+|0x[0-9a-f]{8,}|i64 [0-9]{12,}", "ADDR", text)
print(json.dumps({"ir": hashlib.sha1(text.encode()).hexdigest(), "value": value.hex(),
                  "built": built[0]}))
"""


def test_installed_once():
    optimize = codegen.CPUCodeLibrary._optimize_functions
    assert hasattr(optimize, "__wrapped__")
    assert not hasattr(optimize.__wrapped__, "__wrapped__")


def test_same_result_with_fewer_pass_managers(tmp_path, monkeypatch):
    on, off = run_on_and_off(SCRIPT, tmp_path, monkeypatch)  # each compiles everything
    assert on["value"] == off["value"]
    assert 0 < on["built"] < off["built"]


# Turns the change off in a probe whose argument is "off"
OFF = """
from numba.core import codegen
import numbarl.envs

library = codegen.CPUCodeLibrary
if sys.argv[1] == "off":
    library._optimize_functions = library._optimize_functions.__wrapped__
"""


@pytest.mark.slow
def test_a_learner_trains_to_the_same_bytes(tmp_path, monkeypatch):
    assert_trains_to_the_same_bytes(OFF, "ppo", tmp_path, monkeypatch)
