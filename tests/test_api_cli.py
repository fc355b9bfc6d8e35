"""numbarl.train / numbarl.evaluate and the numbarl command over the tabular algorithms."""

import numpy as np
import pandas as pd
import pytest

import numbarl
from numbarl import api
from numbarl.cli import main
from numbarl.results import read_results

TABULAR = [a for a in numbarl.algorithms() if api.algo_spec(a).env_kind == "tabular"]


@pytest.mark.parametrize("algo", TABULAR)
def test_every_tabular_algorithm_trains_through_the_api(algo):
    env = "RandomWalk-v0" if algo not in ("tabular_reinforce",) else "ShortCorridor-v0"
    cfg = api.config_class(algo)
    small = {"episodes": 30} if "episodes" in cfg._fields else {}
    res = numbarl.train(algo, env, seed=3, **small)
    df = res.history
    assert list(df.columns[:3]) == ["algorithm", "env", "seed"]
    assert (df["algorithm"] == algo).all() and (df["seed"] == 3).all()
    assert "episode" in df.columns
    for field in cfg._fields:  # every config field is a column
        assert field in df.columns
    again = numbarl.train(algo, env, seed=3, **small)
    pd.testing.assert_frame_equal(df, again.history)
    for k, v in res.arrays.items():
        assert v.tobytes() == again.arrays[k].tobytes(), k


def test_q_learning_learns_the_cliff_path_and_evaluates_greedily(tmp_path):
    res = numbarl.train("q_learning", "CliffWalking-v1", seed=0)
    path = res.save(tmp_path / "q.npz")
    returns = numbarl.evaluate(path, episodes=5)
    np.testing.assert_array_equal(returns, -13.0)  # the optimal 13-step cliff-edge path


def test_tuned_defaults_apply_only_where_the_user_sets_nothing():
    cfg = api.build_config("q_learning", "FrozenLake-v1")
    assert cfg.alpha == 0.05 and cfg.episodes == 20_000
    cfg = api.build_config("q_learning", "FrozenLake-v1", {"alpha": 0.3})
    assert cfg.alpha == 0.3 and cfg.episodes == 20_000
    assert api.build_config("q_learning", "CliffWalking-v1").alpha == 0.5


@pytest.mark.parametrize("algo", ["q_learning", "sarsa", "expected_sarsa", "double_q_learning"])
def test_tuned_frozen_lake_is_near_optimal_with_no_flags(algo):
    from numbarl import dp
    from numbarl.envs import make

    mdp = make("FrozenLake-v1")
    # Reference: the exact 100-step success probability of value iteration's policy (~0.74).
    v_star, _ = dp.value_iteration(mdp, gamma=0.99)
    best = dp.greedy_policy(mdp, v_star, gamma=0.99, ties="first")
    v100, _ = dp.policy_evaluation(mdp, best, theta=0.0, max_sweeps=100, in_place=False)
    target = float(mdp.start @ v100)
    res = numbarl.train(algo, "FrozenLake-v1", seed=0)  # tuned defaults, no flags
    ret = numbarl.evaluate(res, episodes=4000, seed=1)
    se = np.sqrt(target * (1 - target) / 4000)
    # 4 standard errors of the evaluation plus 0.02 of genuine sub-optimality allowed.
    assert ret.mean() >= target - 4 * se - 0.02, (ret.mean(), target)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"alpha": 0.0}, ValueError, "alpha must be"),
        ({"alpha": -1}, ValueError, "alpha must be"),
        ({"gamma": 1.5}, ValueError, r"gamma must be \[0, 1\]"),
        ({"epsilon": -0.1}, ValueError, "epsilon must be"),
        ({"episodes": 0}, ValueError, "episodes must be"),
        ({"episodes": 2.5}, TypeError, "episodes must be an integer"),
        ({"alpha": "fast"}, TypeError, "alpha must be a number"),
        ({"alpah": 0.1}, ValueError, "unknown field.*alpah.*fields: alpha"),
    ],
)
def test_bad_config_is_refused_before_compiled_code(kwargs, error, match):
    with pytest.raises(error, match=match):
        numbarl.train("sarsa", "CliffWalking-v1", **kwargs)


def test_unknown_names_and_bad_seeds():
    with pytest.raises(ValueError, match="unknown algorithm 'qlearning'; known: .*q_learning"):
        numbarl.train("qlearning", "CliffWalking-v1")
    with pytest.raises(ValueError, match="unknown environment"):
        numbarl.train("q_learning", "CliffWalk-v1")
    with pytest.raises(ValueError, match="seed"):
        numbarl.train("q_learning", "CliffWalking-v1", seed=-1)
    with pytest.raises(ValueError, match="tabular"):
        numbarl.train("q_learning", "CartPole-v1")
    with pytest.raises(ValueError, match="no policy"):
        res = numbarl.train("td0", "RandomWalk-v0", episodes=2)
        numbarl.evaluate(res, "RandomWalk-v0")


def test_cli_train_save_evaluate_and_listings(tmp_path, capsys):
    out, save = tmp_path / "run.csv", tmp_path / "q.npz"
    code = main(
        [
            "train",
            "expected_sarsa",
            "CliffWalking-v1",
            "--seed",
            "2",
            "--episodes",
            "200",
            "--set",
            "alpha=0.5",
            "--out",
            str(out),
            "--save",
            str(save),
        ]
    )
    assert code == 0
    df = read_results(out)
    assert len(df) == 200 and set(df["algorithm"]) == {"expected_sarsa"}
    assert (df["alpha"] == 0.5).all() and (df["seed"] == 2).all()
    assert main(["evaluate", str(save), "--episodes", "3"]) == 0
    # Expected Sarsa's greedy path reaches the goal by the cliff edge (13), the middle (15) or
    # the safe top row (17 steps).
    text = capsys.readouterr().out
    assert any(f"mean return -{n}.000" in text for n in (13, 15, 17)), text
    assert main(["algos"]) == 0
    listing = capsys.readouterr().out
    assert "q_learning" in listing and "alpha: float = 0.5" in listing
    assert main(["envs"]) == 0
    assert "FrozenLake8x8-v1" in capsys.readouterr().out


def test_cli_reports_bad_input_clearly(capsys):
    assert main(["train", "q_learning", "CliffWalking-v1", "--set", "gamma=2"]) == 2
    assert "gamma must be [0, 1]" in capsys.readouterr().err
    assert main(["train", "td0", "RandomWalk-v0", "--steps", "10"]) == 2
    assert "--episodes" in capsys.readouterr().err


def test_cli_same_seed_same_csv_bytes(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (a, b):
        main(
            [
                "train",
                "double_q_learning",
                "MaximizationBias-v0",
                "--seed",
                "7",
                "--episodes",
                "300",
                "--out",
                str(path),
            ]
        )
    assert a.read_bytes() == b.read_bytes()


DEEP_SMALL = {
    "ppo": ("CartPole-v1", {"total_steps": 512, "eval_every": 256, "eval_episodes": 2}),
    "a2c": ("CartPole-v1", {"total_steps": 512, "eval_every": 256, "eval_episodes": 2}),
    "dqn": (
        "CartPole-v1",
        {"total_steps": 600, "learning_starts": 100, "eval_every": 300, "eval_episodes": 2},
    ),
    "td3": (
        "Pendulum-v1",
        {"total_steps": 400, "learning_starts": 100, "eval_every": 200, "eval_episodes": 1},
    ),
}


@pytest.mark.parametrize("algo", sorted(DEEP_SMALL))
def test_deep_algorithms_through_the_api_save_and_evaluate(algo, tmp_path):
    env, small = DEEP_SMALL[algo]
    res = numbarl.train(algo, env, seed=1, **small)
    df = res.history
    assert {"algorithm", "env", "seed", "step", "eval_return"} <= set(df.columns)
    assert set(api.config_class(algo)._fields) <= set(df.columns)
    again = numbarl.train(algo, env, seed=1, **small)
    pd.testing.assert_frame_equal(df, again.history)  # same seed, same numbers
    path = res.save(tmp_path / f"{algo}.npz")
    returns = numbarl.evaluate(path, episodes=2, seed=0)
    assert returns.shape == (2,) and np.all(np.isfinite(returns))


def test_every_registered_algorithm_lists_its_config():
    for algo in numbarl.algorithms():
        cfg = api.config_class(algo)
        assert len(cfg._fields) >= 2, algo
    assert {
        "ppo",
        "ppo_kl",
        "a2c",
        "trpo",
        "reinforce",
        "offpolicy_pg",
        "dqn",
        "rainbow",
        "ddpg",
        "td3",
    } <= set(numbarl.algorithms())


def test_deep_bad_config_and_env_kind():
    with pytest.raises(ValueError, match="n_step"):
        numbarl.train("dqn", "CartPole-v1", n_step=0)
    with pytest.raises(ValueError, match="lr"):
        numbarl.train("ppo", "CartPole-v1", lr=-1.0)
    with pytest.raises(ValueError):
        numbarl.train("td3", "CartPole-v1")  # discrete actions
