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

@njit(cache=True)
def third(a):
    return _dot(a, a + 1.0)
'''.replace("import log_softmax", "import log_softmax\nfrom numbarl.deep.trpo import _dot"))
import numpy as np
import numbarl.envs
from numbarl.nn import heads
import callers

x = np.linspace(-2.0, 3.0, 12).reshape(3, 4)
values = [callers.first(x).hex(), callers.second(x, 0.5).hex(), callers.third(x[0]).hex()]
copies, hits, nrt = [], [], []
for f in (callers.first, callers.second, callers.third):
    cres = f.overloads[f.signatures[0]]
    copies.append(any("log_softmax" in fn.name and not fn.is_declaration
                      for fn in cres.library._final_module.functions))
    hits.append(sum(f.stats.cache_hits.values()))
    nrt.append(any(fn.name in ("NRT_incref", "NRT_decref") and not fn.is_declaration
                   and fn.linkage.name != "available_externally"
                   for fn in cres.library._final_module.functions))
sym = [c.fndesc.mangled_name for c in heads.log_softmax.overloads.values()]
from numbarl.envs import shared_callees as sc
aliases = sorted(sc._aliases)
third = callers.third.overloads[callers.third.signatures[0]].library._final_module
dot = [fn.name for fn in third.functions if "_dot" in fn.name]  # none where it was inlined
declared = None
if mode == "on" and not hits[0]:
    from numbarl.envs import shared_callees
    library = heads.log_softmax.overloads[heads.log_softmax.signatures[0]].library
    module = library._get_module_for_linking()
    decl = shared_callees.declaration(library, module)
    fn, dfn = module.get_function(sym[0]), decl.get_function(sym[0])
    declared = {"declaration": dfn.is_declaration,
                "attributes": sorted(fn.attributes) == sorted(dfn.attributes),
                "arguments": [sorted(a.attributes) for a in fn.arguments]
                == [sorted(a.attributes) for a in dfn.arguments]}
print(json.dumps({"values": values, "copies": copies, "hits": hits, "symbol": sym, "dot": dot,
                  "declared": declared, "nrt": nrt, "aliases": aliases}))
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
    assert hasattr(codegen.CPUCodeLibrary._unserialize, "__wrapped__")
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
    assert off["copies"] == [True, True, False]  # each caller emits its own log_softmax
    assert on["copies"] == [False, False, False]  # both call the callee's own machine code
    assert on["hits"] == [0, 0, 0]
    assert on["dot"] == off["dot"] == []  # a small shared callee is still inlined
    assert off["nrt"][:2] == [True, True]  # each caller's own reference-count functions
    assert on["nrt"] == [False, False, False]  # Numba's runtime library's
    # log_softmax (over DECLARE_ABOVE lines) is linked as a declaration with its attributes
    assert on["declared"] == {"declaration": True, "attributes": True, "arguments": True}


@pytest.fixture()
def _dirs(tmp_path):
    (tmp_path / "src").mkdir()
    return tmp_path / "src", tmp_path / "cache"


def test_cached_caller_loads_its_callee_in_a_new_process(_dirs):
    src, cache = _dirs
    cold = _probe("on", src, cache)
    warm = _probe("on", src, cache)
    assert warm["values"] == cold["values"]
    assert warm["hits"] == [1, 1, 1]  # loaded, not compiled again
    assert warm["symbol"] == cold["symbol"]


def test_a_cache_written_with_sharing_loads_with_it_off(_dirs):
    src, cache = _dirs
    cold = _probe("on", src, cache)
    warm = _probe("off", src, cache)  # NUMBARL_SHARED_CALLEES=0: the reader is still installed
    assert warm["values"] == cold["values"]
    assert warm["hits"] == [1, 1, 1]


def test_cached_caller_maps_a_callee_compiled_again_under_another_name(_dirs):
    src, cache = _dirs
    cold = _probe("on", src, cache)
    for f in cache.rglob("*log_softmax*"):  # the callee must now compile afresh
        f.unlink()
    warm = _probe("on", src, cache)
    assert warm["values"] == cold["values"]
    assert warm["hits"] == [1, 1, 1]  # the callers still load from the cache
    assert warm["symbol"] != cold["symbol"]  # under a version number of this process
    assert warm["aliases"] == cold["symbol"]  # mapped once, for both callers


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


# Imports each numbarl module that defines compiled kernels, alone (the numbarl modules imported
# before it forgotten), and names those after which the cache reader is not installed.
IMPORTS = r"""
import importlib, json, pkgutil, sys
import numbarl
from numba.core.dispatcher import Dispatcher

names = [m.name for m in pkgutil.walk_packages(numbarl.__path__, "numbarl.")
         if not m.name.endswith("__main__")]  # that one runs the command line
missing, kernels = [], 0
for name in names:
    for loaded in [m for m in sys.modules if m == "numbarl" or m.startswith("numbarl.")]:
        del sys.modules[loaded]
    module = importlib.import_module(name)
    if any(isinstance(v, Dispatcher) for v in vars(module).values()):
        kernels += 1
        if "numbarl.envs.shared_callees" not in sys.modules:
            missing.append(name)
print(json.dumps({"missing": missing, "kernels": kernels}))
"""


def test_every_kernel_module_installs_the_cache_reader():
    out = run_probe(IMPORTS, "on")
    assert out["kernels"] > 30
    assert out["missing"] == []
