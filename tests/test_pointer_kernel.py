"""numbarl.nn.kernel: kernels compiled without a CPython wrapper stay callable from Python
(through their pointer) and from compiled code, with the same results; drivers compiled without
a C wrapper are refused as pointers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from numbarl.deep.ppo import ppo_update
from numbarl.envs.control.core import FunctionPointer
from numbarl.nn.kernel import (
    PointerDispatcher,
    call_kernel,
    pointer_kernel,
    pointer_variant,
    python_kernel,
)


@pointer_kernel(cache=True, error_model="numpy")
def _accumulate(a: np.ndarray, k: int, scale: float) -> tuple[float, float]:
    a[0] += k
    return scale * 2.0, a.sum()


@njit(cache=True)
def _from_compiled(a: np.ndarray) -> tuple[float, float]:
    return _accumulate(a, 1, 2.0)


def test_a_pointer_kernel_runs_from_python_and_from_compiled_code() -> None:
    a = np.ones(3)
    assert _accumulate(a, 5, 1.5) == (3.0, 8.0)  # through the pointer, in place
    assert a.tolist() == [6.0, 1.0, 1.0]
    assert call_kernel(_accumulate, a, 5, 1.5) == (3.0, 13.0)
    assert _from_compiled(a) == (4.0, 14.0)  # a direct call inside compiled code
    assert a.tolist() == [12.0, 1.0, 1.0]
    compiled = _accumulate.overloads[next(iter(_accumulate.overloads))]
    assert compiled.fndesc.llvm_cpython_wrapper_name not in compiled.library.get_llvm_str()


def test_keyword_arguments_are_refused_before_compiled_code() -> None:
    with pytest.raises(TypeError, match="positional"):
        _accumulate(np.ones(3), k=1, scale=2.0)


def test_the_learners_updates_are_pointer_kernels() -> None:
    assert isinstance(ppo_update, PointerDispatcher)


@pointer_kernel(cache=True)
def _sum15(a, b, c, d, e, f, g, h, i, j, k, m, n, o, p):  # noqa: ANN001, ANN202
    return a[0] + b + c + d + e + f + g + h + i + j + k + m + n + o + p


def test_new_argument_types_after_a_call_and_many_arguments() -> None:
    """A call with other argument types after one with the same objects compiles and calls
    the kernel for the new types; a kernel of more arguments than the trampolines cover is
    called through the tuple trampoline."""
    a = np.ones(3)
    assert _accumulate(a, 1, 1.0) == (2.0, 4.0)
    assert _accumulate(a, 1, 1.0) == (2.0, 5.0)  # the same objects again
    b = np.ones(3, dtype=np.float32)
    assert _accumulate(b, 2, 0.5) == (1.0, 5.0)
    assert b.dtype == np.float32 and b[0] == 3.0
    assert _sum15(np.ones(1), *range(14)) == 1.0 + sum(range(14))


@njit(cache=True, inline="always")
def _plus_one(x: float) -> float:
    return x + 1.0


@njit(cache=True, inline="always")
def _times_ten(x: float) -> float:
    return x * 10.0


def _variant_body(a: np.ndarray) -> None:
    for i in range(a.shape[0]):
        a[i] = _plus_one(a[i])


_add = pointer_variant(_variant_body, "_add", "adds one", _plus_one=_plus_one)
_scale = pointer_variant(_variant_body, "_scale", "scales by ten", _plus_one=_times_ten)


def test_pointer_variants_compile_one_body_with_their_own_globals() -> None:
    a = np.ones(2)
    _add(a)
    assert a.tolist() == [2.0, 2.0]
    _scale(a)
    assert a.tolist() == [20.0, 20.0]
    assert isinstance(_scale, PointerDispatcher)
    assert (_add.__name__, _scale.__qualname__, _scale.__doc__) == (
        "_add",
        "_scale",
        "scales by ten",
    )


_CACHED_VARIANT = """
import numpy as np
from tests.test_pointer_kernel import _add, _scale
a = np.ones(1)
(_add if "{which}" == "add" else _scale)(a)
print(a[0], len((_add if "{which}" == "add" else _scale).stats.cache_hits))
"""


def test_pointer_variants_have_disk_cache_entries_of_their_own(tmp_path: Path) -> None:
    """One variant compiled and saved to an empty cache; a new process running the other
    variant gets its own code, not the first one's entry (same code object, same line)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    root = Path(__file__).resolve().parent.parent

    def run(which: str) -> list[str]:
        code = _CACHED_VARIANT.replace("{which}", which)
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
            check=True,
        )  # fmt: skip
        return out.stdout.split()

    assert run("add") == ["2.0", "0"]  # compiled and saved
    assert run("scale") == ["10.0", "0"]  # its own compile, not _add's entry
    assert run("scale") == ["10.0", "1"]  # now from the cache


@python_kernel()  # not cached: the test reads the IR of a fresh compile (a cached one has none)
def _driver(a: np.ndarray, n: int) -> float:
    total = 0.0
    for _ in range(n):
        total += _from_compiled(a)[1]
    return total


def test_a_python_kernel_has_no_c_wrapper_and_is_refused_as_a_pointer() -> None:
    a = np.ones(2)
    assert _driver(a, 2) == 3.0 + 4.0  # the sums after a[0] += 1, twice
    assert a.tolist() == [3.0, 1.0]
    compiled = _driver.overloads[_driver.signatures[0]]
    text = compiled.library.get_llvm_str()
    assert compiled.fndesc.llvm_cfunc_wrapper_name not in text
    assert compiled.fndesc.llvm_cpython_wrapper_name in text
    with pytest.raises(ValueError, match="no_cfunc_wrapper"):
        FunctionPointer(_driver, compiled.signature)


def test_the_training_loops_and_evaluations_are_python_kernels() -> None:
    from numbarl.deep import ddpg, dqn, exploration, loop, rollout, sac, td3

    drivers = (
        loop.run_updates, rollout.evaluate_greedy_net, dqn.dqn_run_control, dqn.greedy_returns,
        exploration.evaluate_actor, ddpg.run_ddpg, td3.run_td3, sac.run_sac,
    )  # fmt: skip
    for d in drivers:
        assert d.targetoptions.get("no_cfunc_wrapper") is True, d.py_func.__qualname__
