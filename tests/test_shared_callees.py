"""numbarl.envs.shared_callees: a numbarl kernel called from compiled code is emitted once, and a
cached caller finds it again in a new process."""

import os
import pathlib

import pytest
from numba import njit, types
from numba.core import codegen
from numba.core.registry import cpu_target

import numbarl.envs  # noqa: F401  (installs the change)
from numbarl.envs import shared_callees
from numbarl.nn import heads
from tests.subprocess_probe import run_probe

# Writes a module with two cached callers of numbarl.nn.heads.log_softmax (too large to inline)
# into the directory given, imports it and calls both; prints their results, whether each
# caller's machine code holds its own copy of log_softmax, its cache hits, and the callee's
# symbol in this process.
SCRIPT = r"""
import json, os, sys
mode, directory = sys.argv[1], os.environ["PROBE_DIR"]
os.environ["NUMBARL_SHARED_CALLEES"] = "1" if mode == "on" else "0"
sys.path.insert(0, directory)
path = os.path.join(directory, "callers.py")
if not os.path.exists(path):
    with open(path, "w") as f:
        f.write('''
import numpy as np
from numba import njit
from numbarl.nn.heads import log_softmax

@njit(cache=True)
def first(x):
    return log_softmax(x).sum()

@njit(cache=True)
def second(x, k):
    out = log_softmax(x * k)
    return out[0, 0] + out[-1, -1]
''')
import numpy as np
import numbarl.envs
from numbarl.nn import heads
import callers

x = np.linspace(-2.0, 3.0, 12).reshape(3, 4)
values = [callers.first(x).hex(), callers.second(x, 0.5).hex()]
copies, hits = [], []
for f in (callers.first, callers.second):
    cres = f.overloads[f.signatures[0]]
    copies.append(any("log_softmax" in fn.name and not fn.is_declaration
                      for fn in cres.library._final_module.functions))
    hits.append(sum(f.stats.cache_hits.values()))
sym = [c.fndesc.mangled_name for c in heads.log_softmax.overloads.values()]
print(json.dumps({"values": values, "copies": copies, "hits": hits, "symbol": sym}))
"""


def _probe(mode: str, directory: pathlib.Path, cache: pathlib.Path) -> dict:
    directory.mkdir(exist_ok=True)
    os.environ["PROBE_DIR"] = str(directory)
    old = os.environ.get("NUMBA_CACHE_DIR")
    os.environ["NUMBA_CACHE_DIR"] = str(cache)
    try:
        return run_probe(SCRIPT, mode)
    finally:
        os.environ.pop("PROBE_DIR")
        if old is None:
            os.environ.pop("NUMBA_CACHE_DIR")
        else:
            os.environ["NUMBA_CACHE_DIR"] = old


def test_installed_once():
    assert shared_callees.INSTALLED
    library = codegen.CPUCodeLibrary
    assert hasattr(library._optimize_final_module, "__wrapped__")
    assert not hasattr(library._optimize_final_module.__wrapped__, "__wrapped__")


def test_only_named_numbarl_kernels_are_shared():
    assert shared_callees._module_name(heads.log_softmax) == ("numbarl.nn.heads", "log_softmax")

    @njit(cache=False)
    def local(x):
        return x + 1

    assert shared_callees._module_name(local) is None  # not in a numbarl module


def test_callers_call_one_copy_and_compute_the_same(tmp_path):
    off = _probe("off", tmp_path / "off", tmp_path / "cache_off")
    on = _probe("on", tmp_path / "on", tmp_path / "cache_on")
    assert on["values"] == off["values"]
    assert off["copies"] == [True, True]  # each caller emits its own log_softmax
    assert on["copies"] == [False, False]  # both call the callee's own machine code
    assert on["hits"] == [0, 0]


@pytest.fixture()
def _dirs(tmp_path):
    (tmp_path / "src").mkdir()
    return tmp_path / "src", tmp_path / "cache"


def test_cached_caller_loads_its_callee_in_a_new_process(_dirs):
    src, cache = _dirs
    cold = _probe("on", src, cache)
    warm = _probe("on", src, cache)
    assert warm["values"] == cold["values"]
    assert warm["hits"] == [1, 1]  # loaded, not compiled again
    assert warm["symbol"] == cold["symbol"]


def test_cached_caller_maps_a_callee_compiled_again_under_another_name(_dirs):
    src, cache = _dirs
    cold = _probe("on", src, cache)
    for f in cache.rglob("*log_softmax*"):  # the callee must now compile afresh
        f.unlink()
    warm = _probe("on", src, cache)
    assert warm["values"] == cold["values"]
    assert warm["hits"] == [1, 1]  # the callers still load from the cache
    assert warm["symbol"] != cold["symbol"]  # under a version number of this process


def test_a_callee_that_is_gone_or_changed_is_a_cache_miss():
    engine = cpu_target.target_context.codegen()._engine
    wrong = types.float64(types.float32[:, ::1])  # log_softmax returns an array
    with pytest.raises(shared_callees.MissingCallee):
        shared_callees.load_callee(
            engine, "_ZN7numbarl_nothing", "numbarl.nn.heads", "log_softmax", wrong
        )
    with pytest.raises(shared_callees.MissingCallee):
        sig = types.float64(types.float64)
        shared_callees.load_callee(engine, "_ZN7numbarl_nothing", "numbarl.nn.gone", "f", sig)
