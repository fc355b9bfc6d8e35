"""PPO on CartPole-v1: wall time to solve per seed (warm Numba cache), and rollout steps/s.

Design target: PPO solves CartPole-v1 (mean greedy return >= 475 over 20 episodes) in under 2 s
of wall time in at least 4 of 5 seeds.
Run: .venv/bin/pytest tests/benchmarks/test_bench_ppo.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest

from numbarl.deep import ppo
from numbarl.deep.rollout import collect_rollout, env_info, make_policy, make_rollout, make_vec_env
from numbarl.envs import make


@pytest.mark.parametrize("seed", range(5))
def test_bench_ppo_solves_cartpole(benchmark, seed):
    env = make("CartPole-v1")
    ppo.train(env, dict(total_steps=512, eval_every=512, eval_episodes=2), seed=0)  # warm-up
    arrays, history = benchmark.pedantic(ppo.train, args=(env, None, seed), rounds=1)
    fresh = float(ppo.evaluate(arrays, env, 20, seed=12345).mean())
    benchmark.extra_info["env_steps"] = int(history["step"][-1])
    benchmark.extra_info["fresh_greedy_return"] = fresh
    assert fresh >= 475.0


@pytest.mark.parametrize("n_envs", [1, 8, 64])
def test_bench_rollout_steps_per_second(benchmark, n_envs):
    """Compiled rollout with the tuned CartPole policy (4-32-32-2 actor and critic)."""
    env = make("CartPole-v1")
    rng = np.random.default_rng(0)
    policy = make_policy(env_info(env), rng, hidden=(32, 32))
    vec = make_vec_env(env, n_envs, policy, rng)
    steps = 4096 // n_envs
    buf = make_rollout(steps, n_envs, env.obs_dim, 1)
    collect_rollout(vec, policy, buf, rng)  # warm-up
    benchmark(collect_rollout, vec, policy, buf, rng)
    per_call = benchmark.stats.stats.mean
    benchmark.extra_info["steps_per_second"] = steps * n_envs / per_call
