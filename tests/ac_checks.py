"""Checks DDPG, TD3 and SAC's tests share: the same seed gives the same bytes, float32
networks by default, one compiled float32 loop, and the input each learner rejects."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from numbarl.envs import make

NETWORKS = ("actor", "actor_target", "critics", "critics_target")


def f32_signatures(dispatcher) -> list:
    """The compiled signatures of ``dispatcher`` that take float32 arrays (other tests in the
    process may add float64 ones)."""
    return [sig for sig in dispatcher.signatures if "float32" in str(sig)]


def train_same_seed_twice(train: Callable, env, cfg: dict) -> tuple[dict, dict]:
    """``train(env, cfg, seed=3)`` twice gives the same bytes (arrays and history) and seed 4
    another actor; the networks are float32 (the default dtype), the action bounds and the
    observation scaling float64. Returns the first run's ``(arrays, history)``."""
    a1, h1 = train(env, cfg, seed=3)
    a2, h2 = train(env, cfg, seed=3)
    a3, _ = train(env, cfg, seed=4)
    assert a1.keys() == a2.keys() and h1.keys() == h2.keys()
    for k in NETWORKS:
        assert a1[k].dtype == np.float32, k
    assert a1["action_low"].dtype == np.float64 and a1["obs_scale"].dtype == np.float64
    for k in a1:
        assert a1[k].tobytes() == a2[k].tobytes(), k
    for k in h1:
        assert h1[k].tobytes() == h2[k].tobytes(), k
    assert a1["actor"].tobytes() != a3["actor"].tobytes()
    return a1, h1


def check_rejects_discrete_envs_and_bad_seeds(train: Callable, cfg: dict, name: str) -> None:
    """Discrete-action envs (numbarl's and Gymnasium's CartPole) raise ValueError saying that
    ``name`` needs a continuous action space; a negative seed raises naming the seed."""
    import gymnasium

    with pytest.raises(ValueError, match=f"{name} need a continuous"):
        train(make("CartPole-v1"), cfg)
    with pytest.raises(ValueError, match="continuous"):
        train(gymnasium.make("CartPole-v1"), cfg)
    with pytest.raises(ValueError, match="seed"):
        train(make("Pendulum-v1"), cfg, seed=-1)
