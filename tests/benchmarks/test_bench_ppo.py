"""PPO on CartPole-v1: wall time to solve per seed (warm Numba cache), and rollout steps/s.

Design target: PPO solves CartPole-v1 (mean greedy return >= 475 over 20 episodes) in under 2 s
of wall time in at least 4 of 5 seeds. ``test_bench_ppo_float32_vs_float64`` times the tuned
config's solve in both network dtypes side by side (CPU time, dtypes alternating seed by seed).
Run: .venv/bin/pytest tests/benchmarks/test_bench_ppo.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import time

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
    """Compiled rollout with the tuned CartPole policy (4-32-32-2 actor and critic, float32)."""
    env = make("CartPole-v1")
    rng = np.random.default_rng(0)
    policy = make_policy(env_info(env), rng, hidden=(32, 32), dtype=np.float32)
    vec = make_vec_env(env, n_envs, policy, rng)
    steps = 4096 // n_envs
    buf = make_rollout(steps, n_envs, env.obs_dim, 1, policy.params.dtype)
    collect_rollout(vec, policy, buf, rng)  # warm-up
    benchmark(collect_rollout, vec, policy, buf, rng)
    per_call = benchmark.stats.stats.mean
    benchmark.extra_info["steps_per_second"] = steps * n_envs / per_call


@pytest.mark.parametrize("hidden", [32, 64, 256])
def test_bench_ppo_float32_vs_float64(benchmark, hidden):
    """The tuned CartPole row at ``hidden`` units, seeds 0-4, float64 and float32 alternating:
    CPU seconds to solve (``stop_at_return``), env steps, and CPU time per env step."""
    env = make("CartPole-v1")
    for dtype in ("float64", "float32"):  # compile or load outside the clock
        ppo.train(env, dict(total_steps=512, eval_every=512, hidden=hidden, dtype=dtype), seed=0)
    cpu = {"float64": [], "float32": []}
    steps = {"float64": [], "float32": []}

    def run() -> None:
        for seed in range(5):
            for dtype in ("float64", "float32")[:: 1 if seed % 2 == 0 else -1]:
                t0 = time.process_time()
                arrays, history = ppo.train(env, dict(hidden=hidden, dtype=dtype), seed=seed)
                cpu[dtype].append(time.process_time() - t0)
                steps[dtype].append(int(history["step"][-1]))
                assert float(ppo.evaluate(arrays, env, 20, seed=10_000 + seed).mean()) >= 475.0

    benchmark.pedantic(run, rounds=1, iterations=1)
    per_step = {d: sum(cpu[d]) / sum(steps[d]) for d in cpu}
    for d in cpu:
        benchmark.extra_info[f"{d}_median_cpu_s"] = float(np.median(cpu[d]))
        benchmark.extra_info[f"{d}_median_steps"] = float(np.median(steps[d]))
        benchmark.extra_info[f"{d}_cpu_us_per_step"] = 1e6 * per_step[d]
    assert per_step["float32"] <= per_step["float64"]  # never slower per step
