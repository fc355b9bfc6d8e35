"""numbarl check: the CI suite through the CLI, a real regression flagged and a rerun with new
seeds not, the statistic's false-alarm rate by simulation, speed regressions, user envs in
worker processes, and bad input refused before anything runs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from numbarl import sweep
from numbarl.check import SuiteError, judge, load_suite, no_worse_than, parse_suite, run_suite
from numbarl.cli import main

DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_ci_suite_holds_through_the_cli(tmp_path, capsys):
    code = main(["check", str(DATA / "ci_suite.toml"), "--workers", "2", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ppo-cartpole" in out and "q_learning-cliff" in out and "2 of 2 cases hold" in out
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert len(runs) == 6 and set(runs["case"]) == {"ppo-cartpole", "q_learning-cliff"}
    ppo = runs[runs["case"] == "ppo-cartpole"]
    assert (ppo["env_steps"] <= 50_000).all() and (ppo["steps_per_second"] > 0).all()
    assert ppo["steps_to_threshold"].notna().sum() >= 2  # the deep learner evaluates as it trains
    table = pd.read_csv(tmp_path / "table.csv")
    assert table["holds"].all()


def _ppo_suite(first_seed: int, **config) -> object:
    # A small budget (12,288 steps, no early stop at 475) leaves final returns spread from
    # ~100 to 500, so the test sees real seed noise, not 10 runs tied at the cap.
    case = {
        "name": "ppo-cartpole-short",
        "algo": "ppo",
        "env": "CartPole-v1",
        "seeds": 10,
        "first_seed": first_seed,
        "max_steps": 12_288,
        "no_worse_than_baseline": True,
        "config": config,
    }
    return parse_suite({"name": "regression", "alpha": 0.01, "case": [case]}, "regression")


def test_baseline_flags_a_learning_rate_cut_and_not_a_rerun_with_new_seeds(tmp_path):
    baseline = tmp_path / "baseline.csv"
    first = run_suite(_ppo_suite(0), baseline, update_baseline=True, workers=2)
    assert baseline.exists() and len(pd.read_csv(baseline)) == 10
    assert first.ok  # nothing to compare with yet: recorded
    rerun = run_suite(_ppo_suite(10), baseline, workers=2)  # same code, new seeds
    assert rerun.ok, rerun.text()
    assert rerun.table["p_value"].iloc[0] >= 0.01
    slow = run_suite(_ppo_suite(10, lr=0.00025), baseline, workers=2)  # lr cut 10x
    assert not slow.ok, slow.text()
    assert "worse than baseline" in slow.table["verdict"].iloc[0]
    assert slow.table["p_value"].iloc[0] < 0.01


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, n: rng.normal(200.0, 80.0, size=n),  # continuous returns
        lambda rng, n: np.minimum(rng.normal(450.0, 80.0, size=n), 500.0).round(),  # ties at cap
    ],
    ids=["continuous", "capped"],
)
def test_statistic_false_alarm_rate_is_at_most_alpha(draw):
    # New and baseline seeds from one distribution: the test must flag <= alpha (+ 3 SE).
    rng = np.random.default_rng(0)
    alpha, reps, n = 0.05, 1000, 10
    alarms = sum(not no_worse_than(draw(rng, n), draw(rng, n), alpha)[0] for _ in range(reps))
    rate = alarms / reps
    assert rate <= alpha + 3.0 * math.sqrt(alpha * (1 - alpha) / reps), rate


def test_statistic_has_power_against_a_shift_and_ties_do_not_alarm():
    rng = np.random.default_rng(1)
    flagged = sum(
        not no_worse_than(rng.normal(100, 50, 10), rng.normal(200, 50, 10), 0.01)[0]
        for _ in range(200)
    )
    assert flagged >= 180  # a two-standard-deviation drop is caught nearly always
    assert no_worse_than([500.0] * 5, [500.0] * 5, 0.01) == (True, 1.0)
    # lower is better (steps to threshold): more steps is worse
    assert not no_worse_than([9e4] * 8, np.arange(8) * 1e3 + 1e4, 0.01, lower_is_worse=False)[0]


def _cliff_suite(**case) -> object:
    row = {"name": "cliff", "algo": "q_learning", "env": "CliffWalking-v1", "seeds": 3}
    row.update({"threshold": -13.0, "eval_episodes": 1} | case)
    return parse_suite({"name": "speed", "case": [row]}, "speed")


def test_speed_regression_warns_by_default_and_fails_when_strict(tmp_path):
    baseline = tmp_path / "b.csv"
    run_suite(_cliff_suite(), baseline, update_baseline=True, workers=1)
    df = pd.read_csv(baseline)
    df["steps_per_second"] *= 10.0  # the baseline was 10x faster
    df.to_csv(baseline, index=False)
    report = run_suite(_cliff_suite(), baseline, workers=1)
    assert report.ok and report.warnings and "slower than baseline" in report.warnings[0]
    assert report.table["speed_ratio"].iloc[0] > 1.5
    strict = run_suite(_cliff_suite(), baseline, workers=1, strict_speed=True)
    assert not strict.ok and "slower" in strict.table["verdict"].iloc[0]
    df["machine"] = "another machine"  # absolute speed is not compared across machines
    df.to_csv(baseline, index=False)
    assert run_suite(_cliff_suite(), baseline, workers=1, strict_speed=True).ok


def test_failing_threshold_and_budget_fail_the_case():
    report = run_suite(_cliff_suite(config={"episodes": 5}), workers=1)
    assert not report.ok and report.table["verdict"].iloc[0].startswith("FAIL: 0/3 reach -13")
    assert main(["check", str(DATA / "ci_suite.toml"), "--baseline", "/nonexistent.csv"]) == 2


def test_user_env_from_the_suite_import_list_runs_in_worker_processes(tmp_path):
    (tmp_path / "suite_envs.py").write_text(
        f"import sys\nsys.path.insert(0, {str(EXAMPLES)!r})\nimport catch  # registers Catch-v0\n"
    )
    (tmp_path / "user.toml").write_text(
        'import = ["suite_envs"]\n[[case]]\nalgo = "ppo"\nenv = "Catch-v0"\nseeds = 2\n'
        "threshold = 0.9\neval_episodes = 50\n"
    )
    report = run_suite(tmp_path / "user.toml", workers=2)
    assert report.ok, report.text()
    # the same case in a suite without an import list: `numbarl check --import MODULE`
    (tmp_path / "plain.toml").write_text(
        '[[case]]\nalgo = "ppo"\nenv = "Catch-v0"\nseeds = 2\nthreshold = 0.9\n'
    )
    catch = str(EXAMPLES / "catch.py")
    assert main(["check", str(tmp_path / "plain.toml"), "--import", catch, "--workers", "2"]) == 0


# --- bad input: named, and refused before any run -------------------------------------------------


@pytest.fixture
def no_runs(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a run started despite bad input")

    monkeypatch.setattr(sweep, "open_runner", refuse)


GOOD = '[[case]]\nname = "c1"\nalgo = "q_learning"\nenv = "CliffWalking-v1"\nthreshold = -13.0\n'


@pytest.mark.parametrize(
    "text, pattern",
    [
        (GOOD.replace("q_learning", "q_lerning"), r"case 'c1', field 'algo'.*q_lerning"),
        (GOOD.replace("CliffWalking-v1", "Cliff-v9"), r"case 'c1', field 'env'.*Cliff-v9"),
        (GOOD + "treshold = 3.0\n", r"case 'c1': unknown field\(s\) treshold"),
        (GOOD + 'metric = "auc"\n', r"case 'c1', field 'metric'.*'auc'.*final_return"),
        (GOOD + "config = { alpha = -1.0 }\n", r"case 'c1', config.*alpha"),
        (GOOD + "config = { alpah = 0.1 }\n", r"case 'c1', config.*alpah"),
        (GOOD + "need = 9\n", r"case 'c1', field 'need'.*9"),
        (GOOD + "seeds = 0\n", r"case 'c1', field 'seeds'"),
        (GOOD.replace("threshold = -13.0\n", ""), r"case 'c1': states nothing to check"),
        ("speed = 2\n" + GOOD, r"unknown field\(s\) speed"),
        ('import = ["no_such_module_xyz"]\n' + GOOD, r"field 'import'.*no_such_module_xyz"),
        (GOOD + "[[case\n", r"malformed TOML"),
        ("name = 'x'\n", r"no cases"),
        (GOOD + GOOD, r"case 'c1', field 'name': used twice"),
    ],
)
def test_bad_suite_is_refused_naming_case_and_field(tmp_path, no_runs, text, pattern):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(SuiteError, match=pattern):
        load_suite(path)
    assert main(["check", str(path)]) == 2


def test_bad_baseline_is_refused_before_any_run(tmp_path, no_runs):
    suite = tmp_path / "s.toml"
    suite.write_text('name = "mine"\n' + GOOD + "no_worse_than_baseline = true\n")
    cols = "suite,case,algorithm,env,seed,final_return,reached,env_steps,seconds,"
    cols += "steps_per_second,steps_to_threshold,seconds_to_threshold,machine\n"
    other = tmp_path / "other.csv"
    other.write_text(cols + "theirs,c1,q_learning,CliffWalking-v1,0,-13,True,1,1,1,,,m\n")
    with pytest.raises(SuiteError, match=r"recorded for suite 'theirs', not 'mine'"):
        run_suite(suite, other)
    missing = tmp_path / "missing.csv"
    missing.write_text(cols + "mine,c0,q_learning,CliffWalking-v1,0,-13,True,1,1,1,,,m\n")
    with pytest.raises(SuiteError, match=r"case 'c1', field 'no_worse_than_baseline'.*no runs"):
        run_suite(suite, missing)
    (tmp_path / "junk.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SuiteError, match=r"not written by numbarl check"):
        run_suite(suite, tmp_path / "junk.csv")
    with pytest.raises(SuiteError, match=r"case 'c1', field 'no_worse_than_baseline'.*--baseline"):
        run_suite(suite)
    assert main(["check", str(suite), "--baseline", str(other)]) == 2


def test_on_run_sees_every_finished_run_and_judge_rebuilds_the_table():
    seen: list[int] = []
    report = run_suite(_cliff_suite(), workers=1, on_run=lambda runs: seen.append(len(runs)))
    assert seen == [1, 2, 3]
    again = judge(report.suite, report.runs.iloc[:2])  # e.g. an interrupted run's rows
    assert list(again.table["n"]) == [2] and not again.ok  # need = 3 seeds
