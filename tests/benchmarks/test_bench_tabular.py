"""Tabular Q-learning speed on FrozenLake 8x8 (design target: at most 40 ns per step).

Run with ``pytest tests/benchmarks/test_bench_tabular.py --benchmark-enable --benchmark-only``.
Each benchmark warms up (compile or cache load) outside the timed part; ``extra_info`` holds
ns per environment step and steps per second. A minimal hand-written njit Q-learning loop
(np.argmax, no tie-breaking, no records) is timed beside it for the ratio.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from numbarl.envs import make
from numbarl.envs.tabular import reset, sample_index
from numbarl.tabular.control import ControlConfig, run_q_learning

EPISODES = 5000


@pytest.fixture(scope="module")
def lake8():
    return make("FrozenLake8x8-v1")


@njit(cache=True, nogil=True)
def hand_written_q_learning(mdp, episodes, alpha, gamma, epsilon, rng):
    """The reference loop: Q-learning with first-index argmax and no bookkeeping."""
    q = np.zeros((mdp.n_states, mdp.n_actions))
    steps = 0
    for _ in range(episodes):
        s = reset(mdp, rng)
        for _t in range(mdp.max_steps):
            if rng.random() < epsilon:
                a = int(rng.random() * mdp.n_actions)
            else:
                a = np.argmax(q[s])
            k = sample_index(mdp.cum_prob[s, a], rng.random())
            s2 = mdp.next_state[s, a, k]
            r = mdp.reward[s, a, k]
            done = mdp.terminal[s2]
            target = r if done else r + gamma * q[s2].max()
            q[s, a] += alpha * (target - q[s, a])
            steps += 1
            s = s2
            if done:
                break
    return steps


def _report(benchmark, steps: int) -> float:
    ns = benchmark.stats.stats.min / steps * 1e9
    benchmark.extra_info["steps"] = steps
    benchmark.extra_info["ns_per_step_best"] = round(ns, 2)
    benchmark.extra_info["ns_per_step_mean"] = round(benchmark.stats.stats.mean / steps * 1e9, 2)
    benchmark.extra_info["steps_per_second"] = round(1e9 / ns)
    return ns


def test_q_learning_frozen_lake_8x8(benchmark, lake8):
    cfg = ControlConfig(alpha=0.1, gamma=0.99, epsilon=0.1, episodes=EPISODES)
    run_q_learning(lake8, cfg, np.random.default_rng(0))  # warm-up: compile or load the cache
    out = benchmark.pedantic(
        run_q_learning,
        args=(lake8, cfg, np.random.default_rng(1)),
        rounds=15,
        iterations=1,
        setup=None,
    )
    _report(benchmark, int(out[2].sum()))


def test_hand_written_reference_frozen_lake_8x8(benchmark, lake8):
    hand_written_q_learning(lake8, 10, 0.1, 0.99, 0.1, np.random.default_rng(0))  # warm-up
    steps = benchmark.pedantic(
        hand_written_q_learning,
        args=(lake8, EPISODES, 0.1, 0.99, 0.1, np.random.default_rng(1)),
        rounds=15,
        iterations=1,
    )
    _report(benchmark, int(steps))
