"""Tidy results: exact summaries on hand-made frames, atomic and byte-stable CSV, reading many."""

import math
import os

import numpy as np
import pandas as pd
import pytest

from numbarl import results


@pytest.fixture
def frame():
    """Two algorithms: 'a' with 8 runs, 'b' with 4 runs (one value per run)."""
    return pd.DataFrame(
        {
            "algorithm": ["a"] * 8 + ["b"] * 4,
            "run": list(range(8)) + list(range(4)),
            "return": [1.0, 2.0, 3.0, 4.0, 100.0, 5.0, 6.0, 7.0] + [2.0, 4.0, 4.0, 6.0],
        }
    )


def test_summarise_exact_values(frame):
    out = results.summarise(frame, by=["algorithm"], value="return", n_boot=500, seed=3)
    assert list(out.columns) == ["algorithm", "mean", "sem", "ci_low", "ci_high", "iqm", "n"]
    assert list(out["algorithm"]) == ["a", "b"]
    a, b = out.iloc[0], out.iloc[1]
    assert a["n"] == 8 and b["n"] == 4 and out["n"].dtype == np.int64
    assert a["mean"] == 128.0 / 8
    # b: deviations -2, 0, 0, 2 -> sample variance 8 / 3, sem sqrt(8 / 3) / 2
    assert b["mean"] == 4.0
    assert b["sem"] == pytest.approx(math.sqrt(8.0 / 3.0) / 2.0, rel=1e-15)
    assert a["sem"] == pytest.approx(np.std(frame["return"][:8], ddof=1) / math.sqrt(8), rel=1e-15)
    # IQM: a sorted is 1..7, 100; cutting 2 from each end leaves 3, 4, 5, 6
    assert a["iqm"] == 4.5
    # b sorted 2, 4, 4, 6; cutting 1 from each end leaves 4, 4
    assert b["iqm"] == 4.0
    for row in (a, b):
        assert row["ci_low"] <= row["mean"] <= row["ci_high"]
    # a bootstrap mean of b is (sum of 4 draws from {2, 4, 4, 6}) / 4, within [2, 6]
    assert 2.0 <= b["ci_low"] < 4.0 < b["ci_high"] <= 6.0


def test_iqm_with_n_not_a_multiple_of_four():
    df = pd.DataFrame({"return": [10.0, 1.0, 2.0, 3.0, -50.0]})
    out = results.summarise(df, value="return")
    # floor(5 / 4) = 1 cut from each end: mean of 1, 2, 3
    assert out.loc[0, "iqm"] == 2.0 and out.loc[0, "n"] == 5


def test_bootstrap_is_seeded_and_per_group(frame):
    one = results.summarise(frame, by="algorithm", seed=7)
    two = results.summarise(frame, by="algorithm", seed=7)
    pd.testing.assert_frame_equal(one, two)
    other = results.summarise(frame, by="algorithm", seed=8)
    assert not np.array_equal(one["ci_low"], other["ci_low"])
    # a group's interval does not depend on the other groups
    alone = results.summarise(frame[frame["algorithm"] == "b"], by="algorithm", seed=7)
    assert alone.loc[0, "ci_low"] == one.loc[1, "ci_low"]
    assert alone.loc[0, "ci_high"] == one.loc[1, "ci_high"]


def test_bootstrap_interval_matches_a_direct_computation():
    x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    out = results.summarise(pd.DataFrame({"v": x}), value="v", ci=0.9, n_boot=2000, seed=11)
    idx = np.random.default_rng(11).integers(0, 8, size=(2000, 8))
    low, high = np.percentile(x[idx].mean(axis=1), [5.0, 95.0])
    assert out.loc[0, "ci_low"] == low and out.loc[0, "ci_high"] == high
    # and it roughly matches the normal interval mean +- 1.645 sem
    sem = out.loc[0, "sem"]
    assert abs(low - (x.mean() - 1.645 * sem)) < 0.3 * sem * 1.645
    assert abs(high - (x.mean() + 1.645 * sem)) < 0.3 * sem * 1.645


def test_single_value_group_and_nan_values():
    df = pd.DataFrame({"g": ["x", "y", "y"], "return": [5.0, np.nan, 2.0]})
    out = results.summarise(df, by="g")
    x, y = out.iloc[0], out.iloc[1]
    assert x["n"] == 1 and x["mean"] == 5.0 and math.isnan(x["sem"])
    assert x["ci_low"] == x["ci_high"] == 5.0 and x["iqm"] == 5.0
    assert y["n"] == 1 and y["mean"] == 2.0


def test_over_averages_each_run_first():
    df = pd.DataFrame(
        {
            "algorithm": ["a"] * 6,
            "run": [0, 0, 0, 1, 1, 1],
            "episode": [0, 1, 2, 0, 1, 2],
            "return": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0],
        }
    )
    out = results.summarise(df, by="algorithm", over="run")
    assert out.loc[0, "n"] == 2 and out.loc[0, "mean"] == 11.0  # runs average 2 and 20
    assert out.loc[0, "sem"] == pytest.approx(9.0, rel=1e-15)  # std of (2, 20) is 9 sqrt 2
    curve = results.summarise(df, by=["algorithm", "episode"])
    np.testing.assert_array_equal(curve["mean"], [5.5, 11.0, 16.5])
    np.testing.assert_array_equal(curve["n"], [2, 2, 2])


def test_summarise_rejects_bad_input(frame):
    with pytest.raises(ValueError, match="missing required column.*seed"):
        results.summarise(frame, by=["seed"])
    with pytest.raises(ValueError, match="missing required column.*score"):
        results.summarise(frame, by="algorithm", value="score")
    with pytest.raises(TypeError, match="value column 'algorithm' must be numeric"):
        results.summarise(frame, value="algorithm")
    with pytest.raises(ValueError, match=r"ci must be a number in \(0, 1\)"):
        results.summarise(frame, ci=95)
    with pytest.raises(ValueError, match="n_boot must be an integer >= 1"):
        results.summarise(frame, n_boot=0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        results.summarise(frame, seed=-1)
    with pytest.raises(ValueError, match="over='run' must not be one of the grouping columns"):
        results.summarise(frame, by=["run"], over="run")


def test_check_tidy_names_missing_columns(frame):
    assert results.check_tidy(frame, ["algorithm", "run"]) is frame
    with pytest.raises(ValueError, match=r"missing required column\(s\): env, seed"):
        results.check_tidy(frame, ["algorithm", "env", "seed"])
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        results.check_tidy({"algorithm": [1]}, ["algorithm"])
    dup = pd.DataFrame([[1, 2]], columns=["x", "x"])
    with pytest.raises(ValueError, match="duplicated column.*x"):
        results.check_tidy(dup)


def test_write_csv_is_atomic_and_byte_stable(tmp_path, frame):
    df = frame.assign(rate=[0.1, 1 / 3, 1e-20, 2.0, -0.0, 1e300, 7.5, 0.2, 1.0, 2.0, 3.0, 4.0])
    path = tmp_path / "sub" / "run.csv"
    assert results.write_csv(df, path) == path
    first = path.read_bytes()
    assert os.listdir(path.parent) == ["run.csv"]  # no temporary file left
    assert first.startswith(b"algorithm,run,return,rate\na,0,1.0,0.1\na,1,2.0,0.3333333333333333\n")
    assert b"\r" not in first
    results.write_csv(df.copy(), path)  # rewriting replaces the file with the same bytes
    assert path.read_bytes() == first
    back = pd.read_csv(path)
    pd.testing.assert_frame_equal(back, df)  # floats round-trip exactly


def test_write_csv_failure_keeps_the_old_file(tmp_path, frame, monkeypatch):
    path = tmp_path / "run.csv"
    results.write_csv(frame, path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt  # interrupted half-way through writing

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(KeyboardInterrupt):
        results.write_csv(frame.assign(extra=1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.csv"]


def test_read_results_concatenates_files(tmp_path, frame):
    a = frame[frame["algorithm"] == "a"].reset_index(drop=True)
    b = frame[frame["algorithm"] == "b"].reset_index(drop=True).assign(alpha=0.5)
    results.write_csv(a, tmp_path / "a.csv")
    results.write_csv(b, tmp_path / "b.csv")
    (tmp_path / "notes.txt").write_text("not a csv")
    both = results.read_results(str(tmp_path / "*.csv"))
    assert len(both) == 12 and list(both.columns) == ["algorithm", "run", "return", "alpha"]
    pd.testing.assert_frame_equal(both[["algorithm", "run", "return"]], frame)
    assert both["alpha"].isna().sum() == 8 and (both["alpha"][8:] == 0.5).all()
    listed = results.read_results([tmp_path / "b.csv", tmp_path / "a.csv"], source=True)
    assert list(listed["source"]) == [str(tmp_path / "b.csv")] * 4 + [str(tmp_path / "a.csv")] * 8
    with pytest.raises(FileNotFoundError, match="no results files match"):
        results.read_results(str(tmp_path / "*.parquet"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        results.read_results(tmp_path / "missing.csv")
