"""experiments/compile_pairs.py (two variants of a cold start side by side, at the same pace) and
experiments/compile_profile.py (a cold start's samples sorted into LLVM's and Numba's phases),
the probes of docs/cold_compile.md's last round."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.experiment_helpers import common

# py-spy's frames: ``function (file:line)``, outermost first
_LLVM = "_lib_fn_wrapper.__call__ (llvmlite/binding/ffi.py:197)"
_LOWER = "BaseNativeLowering.run_pass (numba/core/typed_passes.py:455)"
_TYPE = "BaseTypeInference.run_pass (numba/core/typed_passes.py:110)"
_MAIN = "<module> (numbarl/__main__.py:3)"


def test_a_sample_counts_for_the_innermost_phase_it_is_in() -> None:
    profile = common.load("compile_profile")
    emit = "ExecutionEngine.finalize_object (llvmlite/binding/executionengine.py:70)"
    module = "CPUCodeLibrary._optimize_final_module (numba/core/codegen.py:691)"
    pre = "_one_pass_manager.<locals>._optimize_functions (envs/function_passes.py:43)"
    text = "Module.__repr__ (llvmlite/ir/module.py:250)"
    assert profile.classify([_MAIN, _LOWER, emit, _LLVM]) == "llvm: machine code"
    assert profile.classify([_MAIN, _LOWER, module, _LLVM]) == "llvm: module passes"
    assert profile.classify([_MAIN, _LOWER, pre, _LLVM]) == "llvm: function pre-pass"
    assert profile.classify([_MAIN, _LOWER, _LLVM]) == "llvm: other"
    assert profile.classify([_MAIN, _LOWER, text]) == "numba: IR printed as text"
    # a caller's type inference compiles its callees: the innermost pass is the one working
    assert profile.classify([_MAIN, _TYPE, _LOWER]) == "numba: BaseNativeLowering"
    assert profile.classify([_MAIN, _TYPE]) == "numba: BaseTypeInference"
    assert profile.classify(["_find_and_load (<frozen importlib._bootstrap>:1176)"]) == "imports"
    assert profile.classify([_MAIN]) == "other"


def test_the_phases_add_up_to_the_samples() -> None:
    profile = common.load("compile_profile")
    raw = [f"{_MAIN};{_LOWER} 30\n", f"{_MAIN};{_LOWER};{_LLVM} 50\n", f"{_MAIN} 20\n", "\n"]
    table = profile.phases(raw, rate=100.0).set_index("phase")
    assert table.loc["llvm: other", "seconds"] == 0.5
    assert table.loc["numba: BaseNativeLowering", "seconds"] == 0.3
    assert table.loc["other", "share"] == 0.2
    assert table["share"].sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no samples"):
        profile.phases([], rate=100.0)


def test_the_profile_asks_for_py_spy_when_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    profile = common.load("compile_profile")
    monkeypatch.setattr(profile, "find_py_spy", lambda: None)
    with pytest.raises(RuntimeError, match="pip install py-spy"):
        profile.profile("td_lambda", 100)


def test_variants_are_parsed_or_refused_before_a_child_runs(tmp_path: Path) -> None:
    pairs = common.load("compile_pairs")
    assert pairs.parse_variant("base").python == sys.executable
    variant = pairs.parse_variant("env=NUMBA_OPT=1,NUMBA_LOOP_VECTORIZE=0")
    assert variant.env == {"NUMBA_OPT": "1", "NUMBA_LOOP_VECTORIZE": "0"}
    assert pairs.parse_variant(f"python={sys.executable}").python == sys.executable
    for bad, message in [
        ("fast", "expected base"),
        ("env=NUMBA_OPT", "NAME=VALUE"),
        (f"python={tmp_path / 'nope'}", "no interpreter"),
        (f"pythonpath={tmp_path}", "no numbarl"),
    ]:
        with pytest.raises(ValueError, match=message):
            pairs.parse_variant(bad)
    with pytest.raises(ValueError, match="pairs"):
        pairs.main(["--b", "base", "--pairs", "0", "--out", str(tmp_path)])


def test_the_ratio_is_per_pair_b_over_a() -> None:
    pairs = common.load("compile_pairs")
    table = pd.DataFrame(
        {
            "pair": [0, 0, 1, 1],
            "variant": ["a", "b", "b", "a"],
            "compile_cpu_s": [10.0, 9.0, 12.0, 10.0],
        }
    )
    assert pairs.ratios(table).tolist() == [0.9, 1.2]


def test_two_variants_run_side_by_side_cold_then_warm(tmp_path: Path) -> None:
    pairs = common.load("compile_pairs")
    table = pairs.main(
        ["--b", "env=NUMBA_OPT=3", "--learner", "td_lambda", "--pairs", "1"]
        + ["--label", "probe", "--out", str(tmp_path)]
    )
    assert sorted(table["variant"]) == ["a", "b"]
    # each cold child compiled (an empty cache of its own); its warm twin only loaded
    assert (table["compile_cpu_s"] > 0).all()
    assert (table["cold_cpu_s"] > table["warm_cpu_s"]).all()
    assert (tmp_path / "compile_pairs.csv").exists()


# callgrind's summary line and callgrind_annotate's per-function lines, as they print them
_CALLGRIND_END = (
    "==4614== Collected : 83003295753\n==4614== \n==4614== I   refs:      83,003,295,753\n"
)
_ANNOTATED = """--------------------------------------------------------------------------------
83,003,295,753 (100.0%)  PROGRAM TOTALS
--------------------------------------------------------------------------------
Ir                       file:function
--------------------------------------------------------------------------------
11,267,168,283 (13.57%)  Python/ceval.c:_PyEval_EvalFrameDefault'2 [/x/lib/libpython3.11.so.1.0]
   888,712,826 ( 1.07%)  ???:llvm::IDFCalculatorBase::calculate() [/x/binding/libllvmlite.so]
   911,323,811 ( 1.10%)  ./string/memset-vec-unaligned-erms.S:__memset_avx2 [/usr/lib/libc.so.6]
   191,573,820 ( 0.23%)  ???:sgemm_kernel_HASWELL [/x/scipy.libs/libscipy_openblas.so]
"""


def test_callgrind_totals_and_objects_are_read() -> None:
    counter = common.load("compile_instructions")
    assert counter.total_instructions(_CALLGRIND_END) == 83_003_295_753
    with pytest.raises(ValueError, match="no instruction total"):
        counter.total_instructions("==1== ERROR SUMMARY: 0 errors")
    assert counter.by_object(_ANNOTATED) == {
        "python": 11_267_168_283,
        "llvm": 888_712_826,
        "libc": 911_323_811,
        "other": 191_573_820,
    }


def test_a_missing_valgrind_is_named_before_anything_runs(monkeypatch) -> None:
    counter = common.load("compile_instructions")
    monkeypatch.setattr(counter.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="apt-get install valgrind"):
        counter.count("trpo", None, Path("."))


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind not installed")
def test_a_real_callgrind_run_is_counted() -> None:
    """valgrind's own output on a real (tiny) process, read by the script's parser."""
    counter = common.load("compile_instructions")
    proc = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            "pass",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert counter.total_instructions(proc.stderr) > 1_000_000
