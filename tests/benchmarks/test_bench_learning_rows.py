"""Tuned rows that the learning table (``test_bench_learning_table.py``) does not cover: each one
learns with its tuned config, judged on the policy training returns.

- ``ppo_kl`` on Acrobot-v1 and Pendulum-v1: PPO's tuned rows with the adaptive-KL variant
  (``numbarl.tuned`` derives them: ``TUNED[env] | {"variant": "kl"}``);
- ``rainbow`` on Acrobot-v1: DQN's tuned row with every Rainbow switch (``TUNED[env] | RAINBOW``).

Each trains on training seeds 100-102 (never used in tuning) and evaluates the returned policy
greedily on 20 episodes from evaluation seed 10,000 + seed. Measured (2-core machine shared with
other jobs; PPO-KL with float32 networks): PPO-KL Acrobot -83.5, -83.2, -85.1; PPO-KL Pendulum
-162.4, -159.6, -149.0 (PPO's Pendulum row of 056f7f2); Rainbow Acrobot -85.1, -106.6, -117.2
(random policies: about -500 on Acrobot, -1,200 on Pendulum). The bar each row must clear in at
least 2 of 3 seeds is in ``ROWS``: Gymnasium's -100 for PPO-KL on Acrobot; -250 (the README's
Pendulum goal) for PPO-KL on Pendulum; -150 for Rainbow on Acrobot, which learns but does not
reliably reach -100 within its 50,000 steps.
(TRPO's Pendulum row is ``tests/test_trpo.py::test_trpo_learns_pendulum_with_its_tuned_row``.)

Run: .venv/bin/pytest tests/benchmarks/test_bench_learning_rows.py --benchmark-enable \
    --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest

from numbarl.deep import dqn, ppo
from numbarl.envs import make

SEEDS = (100, 101, 102)
FRESH_EPISODES = 20
# (learner, env, bar the returned policy must clear in at least 2 of 3 seeds)
ROWS = [
    ("ppo_kl", "Acrobot-v1", -100.0),
    ("ppo_kl", "Pendulum-v1", -250.0),
    ("rainbow", "Acrobot-v1", -150.0),
]


def _train_and_evaluate(learner: str, env_id: str, seed: int) -> float:
    env = make(env_id)
    if learner == "ppo_kl":
        arrays, _ = ppo.train(env, {"variant": "kl"}, seed=seed)
        return float(ppo.evaluate(arrays, env, FRESH_EPISODES, seed=10_000 + seed).mean())
    arrays, _ = dqn.train(env, dict(dqn.RAINBOW), seed=seed)
    return float(dqn.evaluate(arrays, env, FRESH_EPISODES, seed=10_000 + seed).mean())


@pytest.mark.parametrize("learner, env_id, bar", ROWS, ids=[f"{a}-{e}" for a, e, _ in ROWS])
def test_bench_tuned_row_learns(benchmark, learner, env_id, bar):
    finals: list[float] = []

    def run() -> None:
        finals.extend(_train_and_evaluate(learner, env_id, seed) for seed in SEEDS)

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["fresh_returns"] = finals
    benchmark.extra_info["bar"] = bar
    assert np.isfinite(finals).all()
    assert sum(f >= bar for f in finals) >= 2, finals
