"""CartPole-v1 steps per second with a random policy: single env, vectorised, and baselines.

Design target: at most 35 ns per CartPole step (a hand-written njit loop with the state in local
variables: ~23 ns; Gymnasium: ~5,000 ns). The hand-written loop runs here side by side.
Run: .venv/bin/pytest tests/benchmarks/test_bench_control.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
from numba import njit

import numbarl.envs as E
from numbarl.envs.control import cartpole_env as cartpole
from numbarl.envs.control import dispatch as D

N_STEPS = 2_000_000
N_ENVS = 256


@njit(cache=True)
def hand_written_cartpole(n_steps, rng):
    """Baseline: CartPole dynamics inlined by hand, state in locals, random actions."""
    x = x_dot = theta = theta_dot = 0.0
    total = 0.0
    t = 0
    for _ in range(n_steps):
        force = 10.0 if rng.random() < 0.5 else -10.0
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        temp = (force + 0.05 * theta_dot * theta_dot * sintheta) / 1.1
        thetaacc = (9.8 * sintheta - costheta * temp) / (
            0.5 * (4.0 / 3.0 - 0.1 * costheta * costheta / 1.1)
        )
        xacc = temp - 0.05 * thetaacc * costheta / 1.1
        x = x + 0.02 * x_dot
        x_dot = x_dot + 0.02 * xacc
        theta = theta + 0.02 * theta_dot
        theta_dot = theta_dot + 0.02 * thetaacc
        total += 1.0
        t += 1
        if x < -2.4 or x > 2.4 or theta < -0.2095 or theta > 0.2095 or t >= 500:
            x = rng.uniform(-0.05, 0.05)
            x_dot = rng.uniform(-0.05, 0.05)
            theta = rng.uniform(-0.05, 0.05)
            theta_dot = rng.uniform(-0.05, 0.05)
            t = 0
    return total


@njit(cache=True)
def direct_vec_loop(params, states, actions, rewards, terminated, truncated, t, obs, final_obs,
                    n_steps, max_steps, rng):  # fmt: skip
    """Baseline: ``vec_step``'s loop with CartPole's functions called directly (inlined), as a
    closed switch over built-in envs would; the door calls them through pointers instead."""
    n = states.shape[0]
    for _ in range(n_steps // n):
        for i in range(n):
            actions[i, 0] = 1.0 if rng.random() < 0.5 else 0.0
        for i in range(n):
            state = states[i]
            r, term = cartpole.step(params, state, actions[i], rng)
            ti = t[i] + 1
            trunc = ti >= max_steps
            rewards[i] = r
            terminated[i] = term
            truncated[i] = trunc
            if term or trunc:
                cartpole.observe(params, state, final_obs[i])
                cartpole.reset(params, state, rng)
                ti = 0
            t[i] = ti
            cartpole.observe(params, state, obs[i])


@njit(cache=True)
def vec_loop(fns, params, states, actions, rewards, terminated, truncated, t, obs, final_obs,
             n_steps, max_steps, rng):  # fmt: skip
    """Random actions for N copies, then one vec_step through the door; n_steps // N calls."""
    n = states.shape[0]
    for _ in range(n_steps // n):
        for i in range(n):
            actions[i, 0] = 1.0 if rng.random() < 0.5 else 0.0
        D.vec_step(fns, params, states, actions, rewards, terminated, truncated, t, max_steps,
                   rng, True, obs, final_obs)  # fmt: skip


def _report(benchmark, n_steps):
    ns = benchmark.stats.stats.min / n_steps * 1e9
    benchmark.extra_info["ns_per_step"] = round(ns, 2)
    benchmark.extra_info["steps_per_second"] = round(1e9 / ns)
    print(f"\n{benchmark.name}: {ns:.1f} ns/step, {1e9 / ns:,.0f} steps/s")
    return ns


def _timed(benchmark, fn, *args):
    fn(*args[:-1], np.random.default_rng(1))  # warm-up (compile or cache load), not timed
    benchmark.pedantic(fn, args=args, rounds=5, iterations=1)


def test_bench_cartpole_hand_written(benchmark):
    _timed(benchmark, hand_written_cartpole, N_STEPS, np.random.default_rng(0))
    _report(benchmark, N_STEPS)


def _single_args(env):
    state = np.zeros(env.state_dim)
    D.reset_env(env.fns, env.params, state, np.random.default_rng(0))
    return (env.fns, env.params, state, N_STEPS, env.max_steps, env.n_actions, env.action_low,
            env.action_high, np.random.default_rng(0))  # fmt: skip


def test_bench_cartpole_single_env(benchmark):
    """One env through the door: ``random_rollout`` calls step (and reset) by pointer."""
    _timed(benchmark, D.random_rollout, *_single_args(E.make("CartPole-v1")))
    _report(benchmark, N_STEPS)


def _vec_args(env, n):
    states, obs = np.zeros((n, env.state_dim)), np.zeros((n, env.obs_dim))
    t = np.zeros(n, dtype=np.int64)
    D.vec_reset(env.fns, env.params, states, t, np.random.default_rng(0), obs)
    return (states, np.zeros((n, env.action_dim)), np.zeros(n), np.zeros(n, bool),
            np.zeros(n, bool), t, obs, np.zeros((n, env.obs_dim)), N_STEPS, env.max_steps,
            np.random.default_rng(0))  # fmt: skip


def test_bench_cartpole_vectorised(benchmark):
    env = E.make("CartPole-v1")
    _timed(benchmark, vec_loop, env.fns, env.params, *_vec_args(env, N_ENVS))
    _report(benchmark, N_STEPS)


def test_bench_cartpole_vectorised_direct_calls(benchmark):
    env = E.make("CartPole-v1")
    _timed(benchmark, direct_vec_loop, env.params, *_vec_args(env, N_ENVS))
    _report(benchmark, N_STEPS)


def test_bench_user_env_vectorised(benchmark):
    """A user's env from a module on disk (examples/catch.py) through the same door."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    import catch

    _timed(benchmark, vec_loop, catch.env.fns, catch.env.params, *_vec_args(catch.env, N_ENVS))
    _report(benchmark, N_STEPS)


def test_bench_cartpole_gymnasium(benchmark):
    n_steps = 20_000
    env = gym.make("CartPole-v1")

    def run(n, rng):
        env.reset(seed=0)
        for _ in range(n):
            _, _, term, trunc, _ = env.step(int(rng.random() < 0.5))
            if term or trunc:
                env.reset()

    run(100, np.random.default_rng(1))
    benchmark.pedantic(run, args=(n_steps, np.random.default_rng(0)), rounds=3, iterations=1)
    _report(benchmark, n_steps)
