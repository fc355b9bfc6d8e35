"""numbarl.precompile: a learner's kernels compiled in forked workers on a cold Numba cache.

Each test that compiles runs a fresh Python process on an empty Numba cache (the parallel path
only runs when the cache lacks the kernels); the rest check the Python-side rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from numba import njit

import numbarl
from numbarl.precompile import compile_calls, compile_workers

KERNELS = """
import numpy as np
from numba import njit


@njit(cache=True)
def square(v):
    return v * v


@njit(cache=True)
def total(x):
    s = 0.0
    for v in x:
        s += v
    return s


@njit(cache=True)
def apply(x, fns):
    s = 0.0
    for v in x:
        s += fns[0](v)
    return s
"""

SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from numba import types
import kernels_mod as km
from numbarl.nn.pointers import Pointer
from numbarl.precompile import compile_calls

NAMES = ("total", "apply", "square")
x = np.arange(5.0)
fns = (Pointer(km.square, types.float64(types.float64)),)
calls = [(km.total, (x,)), (km.apply, (x, fns))]
n = compile_calls(calls, workers=2)
values = [km.total(x), km.apply(x, fns)]
again = compile_calls(calls, workers=2)
report = {
    "compiled": n,
    "again": again,
    "values": values,
    "hits": {k: sum(getattr(km, k).stats.cache_hits.values()) for k in NAMES},
    "misses": {k: sum(getattr(km, k).stats.cache_misses.values()) for k in NAMES},
}
print(json.dumps(report))
"""


def _env(tmp: Path, workers: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NUMBA_CACHE_DIR=str(tmp / "numba"),
        NUMBARL_CACHE_DIR=str(tmp / "numbarl"),
        NUMBARL_COMPILE_WORKERS=str(workers),
    )
    return env


def _run_script(
    tmp: Path, script: str = SCRIPT, arg: Path | None = None, env: dict[str, str] | None = None
) -> str:
    """``script``'s standard output, run by a fresh Python in ``tmp`` with ``arg`` (default:
    ``tmp``, which holds ``kernels_mod.py``) as its argument, on ``tmp``'s empty caches with two
    compile workers (or with ``env``)."""
    out = subprocess.run(
        [sys.executable, "-c", script, str(arg or tmp)],
        env=env or _env(tmp, 2),
        cwd=tmp,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return out.stdout


def test_workers_compile_into_the_cache_and_the_next_process_only_loads(tmp_path: Path) -> None:
    """Two processes compile the three kernels (two calls and the pointer inside one call's
    arguments); the calls then give the right values, a second ``compile_calls`` finds
    everything compiled, and a fresh process loads all three from the disk cache without
    compiling any."""
    (tmp_path / "kernels_mod.py").write_text(KERNELS)
    first = json.loads(_run_script(tmp_path))
    assert first["compiled"] == 3
    assert first["again"] == 0
    assert first["values"] == [10.0, 30.0]
    second = json.loads(_run_script(tmp_path))
    assert second["compiled"] == 0
    assert second["values"] == [10.0, 30.0]
    assert second["hits"] == {"total": 1, "apply": 1, "square": 1}
    assert second["misses"] == {"total": 0, "apply": 0, "square": 0}


def test_cold_start_in_two_workers_gives_the_same_bytes(tmp_path: Path) -> None:
    """A newcomer's first ``numbarl train`` on an empty cache, its kernels compiled by two
    processes, writes the same history as this process's run of the same seed."""
    out = tmp_path / "cold.csv"
    subprocess.run(
        [sys.executable, "-m", "numbarl", "train", "a2c", "CartPole-v1", "--steps", "2000",
         "--seed", "3", "--out", str(out)],
        env=_env(tmp_path, 2),
        capture_output=True,
        check=True,
        timeout=600,
    )  # fmt: skip
    here = tmp_path / "here.csv"
    numbarl.train("a2c", "CartPole-v1", total_steps=2000, seed=3).to_csv(here)
    assert out.read_bytes() == here.read_bytes()


BAD_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from numba.core.errors import TypingError
import kernels_mod as km
from numbarl.precompile import compile_calls

x = np.arange(5.0)
try:
    compile_calls([(km.total, (x,)), (km.broken, (x,))], workers=2)
    km.broken(x)
except TypingError:
    print("TypingError")
print(km.total(x))
"""


BLAS_SCRIPT = (
    """
import os
import numpy as np  # before numbarl: NumPy's OpenBLAS starts its pool of threads
np.ones((64, 64)) @ np.ones((64, 64))
threads = len(os.listdir("/proc/self/task"))
"""
    + SCRIPT
    + "print(threads)\n"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads counted in /proc")
def test_an_openblas_pool_does_not_stop_the_workers(tmp_path: Path) -> None:
    """A script that imports NumPy before numbarl runs NumPy's OpenBLAS pool (2 threads asked
    for here, whatever the cores); OpenBLAS stops it before a fork, so the kernels still
    compile in two processes, and give the right values."""
    (tmp_path / "kernels_mod.py").write_text(KERNELS)
    env = _env(tmp_path, 2)
    env["OPENBLAS_NUM_THREADS"] = "2"
    out = _run_script(tmp_path, BLAS_SCRIPT, env=env).split("\n")
    report, threads = json.loads(out[0]), int(out[1])
    assert threads > 1
    assert report["compiled"] == 3
    assert report["values"] == [10.0, 30.0]


def test_a_kernel_that_does_not_compile_raises_its_typing_error(tmp_path: Path) -> None:
    """Whichever process meets it, a kernel that fails to type raises Numba's TypingError in
    the caller (at ``compile_calls`` or at the call), and the other kernels still work."""
    (tmp_path / "kernels_mod.py").write_text(
        KERNELS + "\n\n@njit(cache=True)\ndef broken(x):\n    return x + 'a'\n"
    )
    assert _run_script(tmp_path, BAD_SCRIPT).split() == ["TypingError", "10.0"]


@njit(cache=True)
def _twice(x: np.ndarray) -> float:
    return 2.0 * x.sum()


def test_nothing_runs_in_parallel_with_one_worker_or_other_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = [(_twice, (np.ones(3),))]
    monkeypatch.setenv("NUMBARL_COMPILE_WORKERS", "1")
    assert compile_workers() == 1
    assert compile_calls(calls) == 0
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert compile_calls(calls, workers=2) == 0
    finally:
        stop.set()
        thread.join()
    assert _twice(np.ones(3)) == 6.0


def test_workers_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBARL_COMPILE_WORKERS", "two")
    with pytest.raises(ValueError, match="NUMBARL_COMPILE_WORKERS"):
        compile_workers()
    monkeypatch.setenv("NUMBARL_COMPILE_WORKERS", "3")
    assert compile_workers() == 3
    monkeypatch.delenv("NUMBARL_COMPILE_WORKERS")
    assert 1 <= compile_workers() <= 4


def test_queue_order_counts_the_arguments_flattened():
    # A unit's guessed compile time: bytecode plus _ARG_WEIGHT per flattened argument scalar,
    # so a small loop over large records is not queued behind every bigger body.
    from numba import types

    from numbarl.precompile import _ARG_WEIGHT, _flat_size, _Unit

    arr = types.Array(types.float64, 2, "C")
    assert _flat_size(arr) == 7
    assert _flat_size(types.Tuple((arr, types.int64, types.UniTuple(arr, 2)))) == 7 + 1 + 14

    @njit
    def loop(record, n):
        return n

    record = types.Tuple(tuple(arr for _ in range(20)))
    small = _Unit(loop, (types.int64, types.int64), pointer=False)
    large = _Unit(loop, (record, types.int64), pointer=False)
    assert large.size() - small.size() == _ARG_WEIGHT * (20 * 7 - 1)


@njit(cache=True)
def _callee(x: float) -> float:
    s = 0.0
    for k in range(10):
        s += x * k - s / (k + 1.0)
    return s


@njit(cache=True, inline="always")
def _inlined(x: float) -> float:
    return 3.0 * x - 1.0


@njit(cache=True)
def _caller(x: float) -> float:
    return _callee(x) + _inlined(x)


def test_queue_order_skips_callees_already_compiled() -> None:
    # A callee compiled before the queue is built (an env's functions, compiled by its check)
    # adds no compile time to its callers; an inlined one is compiled again inside each caller.
    from numba import types

    from numbarl.precompile import _code_size, _Unit

    unit = _Unit(_caller, (types.float64,), pointer=False)
    own = len(_caller.py_func.__code__.co_code)
    callee, inlined = (len(f.py_func.__code__.co_code) for f in (_callee, _inlined))
    assert _code_size(_caller.py_func, set()) == own + callee + inlined
    before = unit.size()
    _callee(1.0)
    _inlined(1.0)
    assert _code_size(_caller.py_func, set()) == own + inlined
    assert unit.size() == before - callee


REINSTALLED = """
import hashlib, json, sys
sys.path.insert(0, sys.argv[1])
from numba.core import event
import numbarl

assert numbarl.__file__.startswith(sys.argv[1]), numbarl.__file__
compiled = []


class _Compiles(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)

    def on_end(self, ev):
        pass


with event.install_listener("numba:compile", _Compiles()):
    result = numbarl.train("ppo", "CartPole-v1", seed=0, total_steps=2048)
digest = hashlib.sha256(result.history.to_csv(index=False).encode())
for name in sorted(result.arrays):
    digest.update(result.arrays[name].tobytes())
print(json.dumps({"compiled": compiled, "digest": digest.hexdigest()}))
"""


def test_a_kept_cache_serves_numbarl_installed_afresh(tmp_path: Path) -> None:
    """CI that keeps ``NUMBA_CACHE_DIR`` (and numbarl's generated env modules under it) between
    runs installs numbarl afresh each time: new files at the same path, new modification times.
    Numba files a kernel's cache entries by its source file's path and a hash of its content, so
    the second process, on the same cache and a fresh copy of the package, compiles nothing
    (the learner's kernels, the env's generated module and the compile workers' output all
    load) and trains to the same bytes (README, "Regression checks": keeping the cache in CI)."""
    site = tmp_path / "site"
    env = {k: v for k, v in _env(tmp_path, 2).items() if k != "NUMBARL_CACHE_DIR"}

    def install_and_train() -> dict:
        shutil.rmtree(site, ignore_errors=True)
        shutil.copytree(
            Path(numbarl.__file__).parent,
            site / "numbarl",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        out = _run_script(tmp_path, REINSTALLED, arg=site, env=env)
        return json.loads(out.strip().splitlines()[-1])

    first = install_and_train()
    assert first["compiled"]  # a cold start (the env's check compiles here, the rest in workers)
    second = install_and_train()
    assert second["compiled"] == []
    assert second["digest"] == first["digest"]
