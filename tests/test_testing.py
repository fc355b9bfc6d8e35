"""numbarl.testing: assert_learns passes on a learner that learns and fails with the table on one
that cannot; suite_fixture runs a suite file once and hands its report to tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from numbarl.testing import assert_learns, assert_suite, suite_fixture

DATA = Path(__file__).resolve().parent / "data"


def test_assert_learns_passes_and_returns_one_row_per_seed():
    report = assert_learns(
        "q_learning", "CliffWalking-v1", threshold=-13.0, seeds=4, eval_episodes=1, workers=1
    )
    assert report.ok and len(report.runs) == 4
    assert (report.runs["final_return"] == -13.0).all()


def test_assert_learns_on_a_user_env_imports_its_module_in_the_workers():
    catch = str(Path(__file__).resolve().parent.parent / "examples" / "catch.py")  # Catch-v0
    report = assert_learns("ppo", "Catch-v0", threshold=0.9, seeds=2, workers=2, imports=[catch])
    assert len(report.runs) == 2 and (report.runs["final_return"] >= 0.9).all()


def test_assert_learns_failure_prints_the_table():
    # 5 episodes are far too few to find the optimal path along the cliff.
    with pytest.raises(AssertionError) as info:
        assert_learns(
            "q_learning",
            "CliffWalking-v1",
            threshold=-13.0,
            seeds=3,
            need=2,
            eval_episodes=1,
            workers=1,
            episodes=5,
        )
    text = str(info.value)
    assert "seeds passing" in text and "0/3 (need 2)" in text and "FAIL" in text


def test_assert_learns_refuses_bad_input_before_running():
    with pytest.raises(ValueError, match="field 'need'"):
        assert_learns("q_learning", "CliffWalking-v1", threshold=-13.0, seeds=2, need=3)
    with pytest.raises(ValueError, match="config.*alpah"):
        assert_learns("q_learning", "CliffWalking-v1", threshold=-13.0, alpah=0.1)


cliff_suite = suite_fixture(DATA / "cliff_suite.toml", workers=1)


def test_suite_fixture_runs_the_suite_once(cliff_suite):
    assert cliff_suite.ok, cliff_suite.text()
    assert list(cliff_suite.table["case"]) == ["q_learning-cliff", "expected_sarsa-cliff"]


def test_assert_suite_fails_with_the_table(tmp_path):
    bad = tmp_path / "bad.toml"
    text = (DATA / "cliff_suite.toml").read_text().replace("threshold = -1", "threshold = 1")
    bad.write_text(text)
    with pytest.raises(AssertionError, match=r"suite 'cliff' does not hold:\ncase"):
        assert_suite(bad, workers=1)
