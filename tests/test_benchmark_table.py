"""experiments/benchmark_table.py's long-run options: a rerun resumes (keeps the finished runs of
unchanged configs, runs only the missing (case, seed) jobs), a run whose config changed is run
again, ``--only ALGO:ENV`` re-runs chosen pairs and keeps the rest, and a pair the suite lacks
is refused before anything runs. Cheap cases (Q-learning on CliffWalking and on Taxi: one
compiled driver, in-process) stand in for the deep suite."""

from __future__ import annotations

import pandas as pd
import pytest

from numbarl.check import parse_suite
from tests.experiment_helpers import script

bt = script("benchmark_table")


def _suite(seeds: int = 3, episodes: int = 60):
    rows = [
        {"algo": "q_learning", "env": env, "seeds": seeds, "threshold": -13.0}
        | {"eval_episodes": 1, "config": {"episodes": episodes}}
        for env in ("CliffWalking-v1", "Taxi-v4")
    ]
    return parse_suite({"name": "bt", "case": rows}, "bt")


def _invocations(results) -> int:
    return len((results / "invocations.csv").read_text().splitlines())


def test_rerun_runs_only_missing_seeds_and_changed_configs(tmp_path, capsys):
    runs = bt.run_deep(_suite(seeds=2), tmp_path, workers=1)
    assert len(runs) == 4 and runs["config_id"].notna().all()
    first = pd.read_csv(tmp_path / "runs.csv")
    # Two more seeds per case: only those four jobs run, the first four rows are kept as they were.
    runs = bt.run_deep(_suite(seeds=4), tmp_path, workers=1)
    assert sorted(runs.groupby("case")["seed"].apply(sorted).tolist()) == [[0, 1, 2, 3]] * 2
    kept = runs.merge(first, on=["case", "seed"], suffixes=("", "_old"))
    assert len(kept) == 4 and (kept["seconds"] == kept["seconds_old"]).all()
    assert _invocations(tmp_path) == 2
    # Nothing missing: no job runs, nothing changes.
    again = bt.run_deep(_suite(seeds=4), tmp_path, workers=1)
    assert again.sort_values(["case", "seed"])["seconds"].tolist() == (
        runs.sort_values(["case", "seed"])["seconds"].tolist()
    )
    assert _invocations(tmp_path) == 2  # nothing ran, nothing logged
    # A changed config (the tuned row moved) makes every run of it stale: all 8 run again.
    changed = bt.run_deep(_suite(seeds=4, episodes=80), tmp_path, workers=1)
    assert len(changed) == 8 and "8 to run" in capsys.readouterr().out
    assert not set(changed["config_id"]) & set(runs["config_id"])
    assert len(pd.read_csv(tmp_path / "load.csv", header=None)) == 4 + 4 + 8


def test_only_reruns_the_chosen_pair_and_keeps_the_others(tmp_path):
    runs = bt.run_deep(_suite(), tmp_path, workers=1)
    before = runs.set_index(["case", "seed"])["seconds"]
    after = bt.run_deep(_suite(), tmp_path, workers=1, only=["q_learning:CliffWalking-v1"])
    after = after.set_index(["case", "seed"])["seconds"]
    assert sorted(after.index) == sorted(before.index)  # 3 seeds of each case, once each
    exp = "q_learning-Taxi-v4"
    assert (after.loc[exp] == before.loc[exp]).all()  # kept
    q = "q_learning-CliffWalking-v1"
    assert not (after.loc[q] == before.loc[q]).any()  # run again (new timings)
    with pytest.raises(ValueError, match=r"--only 'ppo:CartPole-v1'.*q_learning:CliffWalking"):
        bt.run_deep(_suite(), tmp_path, workers=1, only=["ppo:CartPole-v1"])
    assert _invocations(tmp_path) == 2  # the refused call ran nothing
    # Both rows changed, one pair re-run: the other's runs stay (named as stale), none is lost.
    runs = bt.run_deep(_suite(episodes=80), tmp_path, workers=1, only=[q.replace("-", ":", 1)])
    assert len(runs) == 6 and bt.stale(_suite(episodes=80), runs) == [exp]
    assert (runs.set_index(["case", "seed"])["seconds"].loc[exp] == before.loc[exp]).all()


def test_plan_keeps_nothing_from_an_old_csv_without_config_ids():
    suite = _suite(seeds=2)
    old = pd.DataFrame(
        {"case": ["q_learning-CliffWalking-v1"], "seed": [0], "final_return": [-13.0]}
    )
    kept, todo = bt.plan(suite, old)
    assert kept.empty and [len(c.seeds) for c in todo.cases] == [2, 2]


def test_fresh_starts_over(tmp_path):
    bt.run_deep(_suite(seeds=2), tmp_path, workers=1)
    runs = bt.run_deep(_suite(seeds=1), tmp_path, workers=1, fresh=True)
    assert len(runs) == 2 and _invocations(tmp_path) == 1
