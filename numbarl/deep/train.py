"""The deep-RL family behind ``numbarl.train``: each algorithm module (``ppo``, ``a2c``, ``trpo``,
``reinforce``, ``offpolicy_pg``, ``dqn``, ``ddpg``, ``td3``) provides
``train(env, cfg, seed, progress) -> (arrays, history)`` and
``evaluate(arrays, env, episodes, seed) -> float64[episodes]``; this module routes an algorithm
name to its module."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

# algorithm name -> module under numbarl.deep
MODULES = {
    "ppo": "ppo",
    "ppo_kl": "ppo",
    "a2c": "a2c",
    "trpo": "trpo",
    "reinforce": "reinforce",
    "offpolicy_pg": "offpolicy_pg",
    "dqn": "dqn",
    "rainbow": "dqn",
    "ddpg": "ddpg",
    "td3": "td3",
}


def module(algo: str):
    if algo not in MODULES:
        raise ValueError(f"unknown deep algorithm {algo!r}; known: {', '.join(MODULES)}")
    return importlib.import_module(f"numbarl.deep.{MODULES[algo]}")


def run(algo: str, env: Any, cfg: Any, seed: int, progress: Callable[[float], None] | None):
    """Train ``algo``; returns (arrays, history columns)."""
    arrays, history = module(algo).train(env, cfg, seed, progress)
    return arrays, history


def evaluate(
    algo: str, arrays: dict[str, np.ndarray], env: Any, episodes: int, seed: int
) -> np.ndarray:
    """Greedy (deterministic) returns of a trained policy."""
    return module(algo).evaluate(arrays, env, episodes, seed)
