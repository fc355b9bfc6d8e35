"""numbarl.train's linear learners with tile coding (numbarl.approx.train) on control envs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import numbarl
import numbarl.envs as E
from numbarl import api
from numbarl.approx import train as T

ALGOS = list(T.ALGOS)


@pytest.mark.parametrize("algo", ALGOS)
def test_learns_mountain_car_on_fresh_episodes(algo):
    """The tuned row learns MountainCar-v0 (Gymnasium's 200-step limit): a fresh 20-episode
    greedy evaluation of the returned weights reaches -130 on at least 2 of 3 seeds (random
    play almost never reaches the goal in 200 steps: -200)."""
    scores = []
    for seed in (0, 1, 2):
        res = numbarl.train(algo, "MountainCar-v0", seed=seed)
        scores.append(numbarl.evaluate(res, episodes=20, seed=100 + seed).mean())
    assert sum(s >= -130.0 for s in scores) >= 2, scores


def test_same_seed_same_bytes_and_tidy_history(tmp_path):
    res = numbarl.train("n_step_sarsa_tiles", "MountainCar-v0", seed=3, episodes=30)
    again = numbarl.train("n_step_sarsa_tiles", "MountainCar-v0", seed=3, episodes=30)
    pd.testing.assert_frame_equal(res.history, again.history)
    assert res["w"].tobytes() == again["w"].tobytes()
    df = res.history
    assert list(df.columns[:6]) == ["algorithm", "env", "seed", "episode", "return", "length"]
    assert set(api.config_class("n_step_sarsa_tiles")._fields) <= set(df.columns)
    assert df["episode"].tolist() == list(range(1, 31))
    np.testing.assert_array_equal(df["return"], -df["length"])  # -1 per step
    assert df["length"].max() <= 200  # Gymnasium's time limit
    path = res.save(tmp_path / "mc.npz")
    np.testing.assert_array_equal(
        numbarl.evaluate(path, episodes=3, seed=5), numbarl.evaluate(res, episodes=3, seed=5)
    )


def test_chunked_calls_equal_one_call():
    """Progress chunks do not change the draws: 7 + 5 episodes equal 12 in one call."""
    env = E.make("MountainCar-v0")
    cfg = T.SarsaLambdaTilesConfig(episodes=12)
    k = T._kernel("sarsa_lambda_tiles", cfg)
    low, scale = T.tile_range(env, 8, 3.0)
    out = []
    for parts in ((12,), (7, 5)):
        from numbarl.approx.features import make_iht

        iht, w = make_iht(4096, 4), np.zeros(4096)
        rng = np.random.default_rng(0)
        lengths = [
            T.run_tile_episodes(env.fns, env.params, 2, 200, 3, low, scale, k, w, iht, n, rng)[1]
            for n in parts
        ]
        out.append((np.concatenate(lengths), w.copy()))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


def test_mountain_car_features_are_the_books_tiles():
    """On MountainCar-v0 the features equal the book's tiles(iht, 8, [8 x / 1.8 ...], [a]) up
    to the shift by the lower bound: the same IHT indices as `features.tiles` is given."""
    from numbarl.approx.features import make_iht, tiles

    env = E.make("MountainCar-v0")
    low, scale = T.tile_range(env, 8, 3.0)
    np.testing.assert_allclose(scale, [8 / 1.8, 8 / 0.14])
    ours, ref = make_iht(4096, 4), make_iht(4096, 4)
    feats = np.empty((3, 8), dtype=np.int64)
    for x, v in [(-0.5, 0.0), (0.3, 0.05), (-1.2, -0.07), (-0.5, 0.0)]:
        obs = np.array([x, v])
        T._features.py_func(
            ours, 8, obs, low, scale, np.empty(2), np.empty(1, np.int64),
            np.empty(4, np.int64), feats,
        )  # fmt: skip
        floats = (obs - low) * scale
        for a in range(3):
            np.testing.assert_array_equal(
                feats[a], tiles(ref, 8, floats, np.array([a], dtype=np.int64))
            )


def test_another_env_and_bad_input():
    res = numbarl.train("sarsa_tiles", "CartPole-v1", seed=0, episodes=5)  # infinite bounds
    assert len(res.history) == 5 and np.all(np.isfinite(res["w"]))
    assert np.all(np.isfinite(res["obs_scale"]))
    with pytest.raises(ValueError, match="discrete actions"):
        numbarl.train("sarsa_tiles", "Pendulum-v1")
    with pytest.raises(ValueError, match="discrete actions"):
        numbarl.train("sarsa_tiles", "FrozenLake-v1")
    with pytest.raises(ValueError, match="trace"):
        numbarl.train("sarsa_lambda_tiles", "MountainCar-v0", trace="dutch")
    with pytest.raises(ValueError, match="num_tilings"):
        numbarl.train("sarsa_tiles", "MountainCar-v0", num_tilings=0)
    with pytest.raises(ValueError, match="alpha"):
        numbarl.train("true_online_sarsa_lambda_tiles", "MountainCar-v0", alpha=0.0)


def test_cli_train_save_evaluate(tmp_path, capsys):
    from numbarl.cli import main

    csv, npz = tmp_path / "mc.csv", tmp_path / "mc.npz"
    args = ["train", "sarsa_lambda_tiles", "MountainCar-v0", "--set", "episodes=4"]
    assert main([*args, "--set", "trace=accumulating", "--out", str(csv), "--save", str(npz)]) == 0
    df = pd.read_csv(csv)
    assert len(df) == 4 and set(df["trace"]) == {"accumulating"}
    assert main(["evaluate", str(npz), "MountainCar-v0", "--episodes", "2"]) == 0
    assert main([*args, "--set", "lam=1.5"]) == 2  # out of range: refused before running
