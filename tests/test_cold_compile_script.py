"""experiments/cold_compile.py, the harness behind the README's cold-start figures: one learner
measured cold then warm on a fresh cache, with the env's share and the machine's pace."""

from __future__ import annotations

import math
from pathlib import Path

from tests.experiment_helpers import common


def test_a_cold_then_warm_run_is_measured_with_the_envs_share_and_the_pace(
    tmp_path: Path,
) -> None:
    cold_compile = common.load("cold_compile")
    table = cold_compile.main(
        ["--learners", "td_lambda", "--pace", "--label", "probe", "--out", str(tmp_path)]
    )
    row = table[table["label"] == "probe"].iloc[0]
    assert row["functions_compiled"] > 0  # the fresh cache compiled the learner
    assert row["warm_functions_compiled"] == 0  # and the second process only loaded it
    assert row["compile_wall_s"] > 0 and row["compile_cpu_s"] > 0
    assert math.isfinite(row["env_compile_wall_s"])  # a tabular env: nothing compiled for it
    assert row["pace_s"] > 0
    assert (tmp_path / "cold_compile.csv").exists()
    assert (tmp_path / "cold_compile_passes.csv").exists()


def test_the_timeline_summary_splits_the_serial_start_the_workers_and_the_tail() -> None:
    timeline = common.load("compile_timeline")
    records = {
        10: [
            ["compile", "m.reset", 1.0, 1.3, 0],
            ["compile", "m.step", 1.3, 1.5, 0],
            ["compile", "m.collect", 2.0, 6.0, 0],
            ["compile", "m.inner", 2.5, 3.0, 1],  # a callee compiled inside: not a unit
            ["load", "m.update", 9.1, 9.2, 0],
            ["main", "main", 0.5, 9.5, 0],
        ],
        11: [["compile", "m.update", 2.0, 5.0, 0], ["compile", "m.forward", 5.0, 9.0, 0]],
    }
    text = timeline.summary(records)
    assert "main 0.50 -> 9.50 s" in text
    assert "compiled before the first fork: 0.50 s (reset, step)" in text
    assert "training process: collect:4.00 (last ends at 6.00 s)" in text
    assert "worker 11: update:3.00 forward:4.00 (last ends at 9.00 s)" in text
    assert "tail: 3.00 s" in text


def test_a_cold_child_gets_empty_caches_its_workers_and_the_checkout(tmp_path: Path) -> None:
    env = common.cold_child_env(tmp_path / "cache", 3, str(tmp_path), REPORT="r.json")
    assert env["NUMBA_CACHE_DIR"] == str(tmp_path / "cache")
    assert env["NUMBARL_CACHE_DIR"] == str(tmp_path / "cache" / "numbarl")
    assert env["NUMBARL_COMPILE_WORKERS"] == "3"
    assert env["NUMBARL_THREADS"] == env["NUMBA_NUM_THREADS"] == "1"
    assert env["REPORT"] == "r.json"
    assert env["PYTHONPATH"] == str(tmp_path)  # the checkout measured (``checkout_env``)
