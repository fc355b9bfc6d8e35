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
