"""The deep-RL family behind ``numbarl.train``: each algorithm module (``ppo``, ``a2c``, ``trpo``,
``reinforce``, ``offpolicy_pg``, ``dqn``, ``ddpg``, ``td3``, ...) provides
``train(env, cfg, seed, progress) -> (arrays, history)`` and
``evaluate(arrays, env, episodes, seed) -> float64[episodes]``; this module routes an algorithm
name to the module its row of `numbarl.algos.ALGOS` names."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from numbarl.algos import ALGOS

# The protocol every deep learner's ``train`` follows, named once for their signatures.
Progress = Callable[[float], None] | None
"""``progress(fraction)``, called as training advances (fraction in [0, 1]); None: not called."""
TrainOutput = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]
"""``(arrays, history)``: the trained arrays by name, and the history's equal-length columns."""


def module(algo: str):
    spec = ALGOS.get(algo)
    if spec is None or spec.family != "deep.train":
        known = ", ".join(name for name, s in ALGOS.items() if s.family == "deep.train")
        raise ValueError(f"unknown deep algorithm {algo!r}; known: {known}")
    return importlib.import_module(f"numbarl.{spec.module}")


def run(algo: str, env: Any, cfg: Any, seed: int, progress: Progress) -> TrainOutput:
    """Train ``algo``; returns (arrays, history columns)."""
    arrays, history = module(algo).train(env, cfg, seed, progress)
    return arrays, history


def evaluate(
    algo: str, arrays: dict[str, np.ndarray], env: Any, episodes: int, seed: int
) -> np.ndarray:
    """Greedy (deterministic) returns of a trained policy."""
    return module(algo).evaluate(arrays, env, episodes, seed)
