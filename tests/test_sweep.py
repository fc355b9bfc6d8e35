"""Resumable sweeps: one CSV per finished run, skipped when rerun."""

import pandas as pd
import pytest

from numbarl.cli import main
from numbarl.results import read_results
from numbarl.sweep import grid_points, sweep


def test_sweep_writes_one_file_per_run_and_resumes(tmp_path):
    grid = {"alpha": [0.1, 0.5]}
    df = sweep("q_learning", "CliffWalking-v1", range(3), tmp_path, grid, workers=1, episodes=20)
    files = sorted(tmp_path.glob("*.csv"))
    assert len(files) == 6  # 2 alphas x 3 seeds
    assert len(df) == 6 * 20 and set(df["alpha"]) == {0.1, 0.5} and set(df["seed"]) == {0, 1, 2}
    # An interrupted sweep: one finished run is kept as it is, one is lost.
    kept, lost = files[0], files[1]
    stamp = kept.stat().st_mtime_ns
    lost.unlink()
    again = sweep("q_learning", "CliffWalking-v1", range(3), tmp_path, grid, workers=1, episodes=20)
    assert kept.stat().st_mtime_ns == stamp  # not recomputed
    assert lost.exists()  # recomputed
    key = ["alpha", "seed", "episode"]
    pd.testing.assert_frame_equal(
        df.sort_values(key).reset_index(drop=True), again.sort_values(key).reset_index(drop=True)
    )


def test_sweep_checks_every_config_before_running(tmp_path):
    with pytest.raises(ValueError, match="alpha"):
        sweep("sarsa", "CliffWalking-v1", range(2), tmp_path, {"alpha": [0.5, -1.0]})
    assert not list(tmp_path.glob("*.csv"))  # nothing ran
    with pytest.raises(ValueError, match="both fixed and swept"):
        sweep("sarsa", "CliffWalking-v1", [0], tmp_path, {"alpha": [0.5]}, alpha=0.1)
    with pytest.raises(ValueError, match="sequence"):
        grid_points({"alpha": 0.5})


def test_cli_sweep(tmp_path, capsys):
    out = tmp_path / "runs"
    args = [
        "sweep",
        "expected_sarsa",
        "CliffWalking-v1",
        "--seeds",
        "2",
        "--grid",
        "alpha=0.2,0.4",
        "--set",
        "episodes=15",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert "2 seeds x 2 grid points, 60 rows" in capsys.readouterr().out
    df = read_results(out / "*.csv")
    assert len(df) == 60 and set(df["alpha"]) == {0.2, 0.4}
