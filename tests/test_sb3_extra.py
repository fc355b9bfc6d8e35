"""Stable-Baselines3 trains on a numbarl env through numbarl.gym (comparison extras only).

Needs ``pip install numbarl[compare]`` (torch, stable-baselines3); skipped without them.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import numbarl.gym  # noqa: F401  (registers numbarl/<Id>)
from tests.experiment_helpers import script

sb3 = pytest.importorskip("stable_baselines3")
torch = pytest.importorskip("torch")

pytestmark = pytest.mark.extras

# rl-zoo's PPO row for CartPole-v1 (hyperparams/ppo.yml, as experiments/vs_sb3.py builds it),
# on 50k of its 100k steps.
TOTAL_STEPS = 50_000
THRESHOLD = 200.0  # mean return of 10 greedy episodes; a random policy averages about 22


def test_sb3_env_checker_accepts_numbarl_envs():
    from stable_baselines3.common.env_checker import check_env

    for gid in ("numbarl/CartPole-v1", "numbarl/Pendulum-v1", "numbarl/FrozenLake-v1"):
        check_env(gym.make(gid), warn=False)


def test_sb3_ppo_learns_numbarl_cartpole():
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    torch.set_num_threads(1)
    model = script("vs_sb3").sb3_model("ppo", seed=0, env_id="numbarl/CartPole-v1")
    assert model.get_env().num_envs == 8 and model.n_steps == 32 and model.batch_size == 256
    model.learn(total_timesteps=TOTAL_STEPS)

    eval_env = Monitor(gym.make("numbarl/CartPole-v1"))
    eval_env.reset(seed=123)
    mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True)

    random_env = gym.make("numbarl/CartPole-v1")
    random_env.action_space.seed(0)
    random_returns = []
    for episode in range(20):
        random_env.reset(seed=episode)
        total, done = 0.0, False
        while not done:
            _, r, terminated, truncated, _ = random_env.step(random_env.action_space.sample())
            total += r
            done = terminated or truncated
        random_returns.append(total)
    assert np.mean(random_returns) < 50.0
    assert mean_return >= THRESHOLD, f"PPO mean return {mean_return:.1f} < {THRESHOLD}"
