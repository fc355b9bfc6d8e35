"""Optuna tuning: seeded, resumable through real sqlite storage, clear errors."""

from pathlib import Path

import pandas as pd
import pytest

from numbarl.cli import main
from numbarl.tune import SPACES, best_row, tune

TINY = dict(seeds=2, eval_episodes=2, episodes=100)  # ~10 ms per run


def test_same_seed_same_study_whatever_the_workers(tmp_path):
    one = tune("q_learning", "CliffWalking-v1", 6, seed=3, workers=1, **TINY)
    two = tune("q_learning", "CliffWalking-v1", 6, seed=3, workers=2, **TINY)
    assert one.best_params == two.best_params and one.best_value == two.best_value
    cols = ["trial", "state", "value", "seeds", "alpha", "epsilon"]  # not the wall times
    pd.testing.assert_frame_equal(one.trials[cols], two.trials[cols])
    other = tune("q_learning", "CliffWalking-v1", 6, seed=4, workers=1, **TINY)
    assert not other.trials["alpha"].equals(one.trials["alpha"])  # the seed matters
    assert len(one.trials) == 6 and set(one.best_params) == {"alpha", "epsilon"}
    # the value is the mean over seeds of the final policy's greedy return on fresh episodes
    assert one.best_value == one.trials["value"].max() >= -17.0


def test_study_resumes_from_sqlite_storage(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    out = tmp_path / "trials.csv"
    first = tune("q_learning", "CliffWalking-v1", 3, storage=storage, out=out, workers=1, **TINY)
    assert len(first.trials) == 3 and len(pd.read_csv(out)) == 3
    more = tune("q_learning", "CliffWalking-v1", 5, storage=storage, out=out, workers=1, **TINY)
    assert len(more.trials) == 5  # two more trials in the same study
    pd.testing.assert_frame_equal(more.trials.iloc[:3], first.trials)
    again = tune("q_learning", "CliffWalking-v1", 5, storage=storage, workers=1, **TINY)
    assert len(again.trials) == 5  # the study is complete: nothing runs
    trials = pd.read_csv(out)
    assert list(trials.columns[:8]) == [
        "algorithm",
        "env",
        "objective",
        "trial",
        "state",
        "value",
        "seeds",
        "seconds",
    ]


def test_cli_tune_prints_a_tuned_table_row(tmp_path, capsys):
    out = tmp_path / "t.csv"
    args = ["tune", "sarsa", "CliffWalking-v1", "--trials", "2", "--seeds", "1"]
    args += ["--eval-episodes", "1", "--set", "episodes=50", "--workers", "1", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert '"CliffWalking-v1": dict(alpha=' in text and "2 trials" in text
    assert len(pd.read_csv(out)) == 2
    assert best_row("X-v0", {"lr": 0.0012345678, "n": 4}) == '"X-v0": dict(lr=0.00123, n=4),'


def test_cli_tune_imports_a_user_env_module_in_every_worker(tmp_path, capsys):
    catch = Path(__file__).resolve().parent.parent / "examples" / "catch.py"  # Catch-v0
    args = ["tune", "ppo", "Catch-v0", "--import", str(catch), "--trials", "2", "--seeds", "2"]
    args += ["--eval-episodes", "2", "--set", "total_steps=1024", "--workers", "2"]
    assert main(args) == 0
    assert '"Catch-v0": dict(lr=' in capsys.readouterr().out


def test_bad_tune_input(tmp_path, capsys):
    with pytest.raises(ValueError, match="no search space for 'td3'"):
        tune("td3", "Pendulum-v1", 2)
    with pytest.raises(ValueError, match="cannot open study storage"):
        tune("q_learning", "CliffWalking-v1", 2, storage=f"sqlite:///{tmp_path}/no/dir/s.db")
    with pytest.raises(ValueError, match="needs greedy evaluations"):
        tune("q_learning", "CliffWalking-v1", 2, objective="steps_to_solve")
    with pytest.raises(ValueError, match="unknown objective"):
        tune("q_learning", "CliffWalking-v1", 2, objective="speed")
    args = ["tune", "q_learning", "CliffWalking-v1", "--trials", "2", "--storage", "nosuchdb://x"]
    assert main(args) == 2
    assert "cannot open study storage 'nosuchdb://x'" in capsys.readouterr().err
    assert {"ppo", "dqn", "a2c", "q_learning", "sarsa"} <= set(SPACES)


def test_hopeless_trials_are_pruned_after_a_seed():
    res = tune("q_learning", "CliffWalking-v1", 9, seed=0, workers=1, **{**TINY, "seeds": 3})
    pruned = res.trials[res.trials["state"] == "PRUNED"]
    assert len(pruned) >= 1 and (pruned["seeds"] < 3).all()
    # a pruned trial was no better than the median of the earlier trials
    assert (pruned["value"] <= res.trials["value"].median()).all()


@pytest.mark.parametrize("algo", sorted(SPACES))
def test_every_drawn_config_is_a_valid_config(algo):
    import optuna

    from numbarl.api import build_config, config_class
    from numbarl.deep.dqn_config import make_dqn_config
    from numbarl.tune import sample_config

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        cfg = sample_config(study.ask(), algo)
        assert set(cfg) == set(SPACES[algo]) <= set(config_class(algo)._fields)
        checked = build_config(algo, None, cfg)  # ranges and choices
        assert {k: getattr(checked, k) for k in cfg} == cfg
        if algo == "dqn":  # DQN's cross-field checks (buffer_size >= batch_size)
            make_dqn_config(None, cfg)
