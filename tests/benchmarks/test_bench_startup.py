"""Start-up of a warm second process (design.md: within 1 s of starting; `make bench`)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SAMPLER = """
import numpy as np
from numbarl.envs import make
from numbarl.envs.tabular import rollout_random
rollout_random(make("FrozenLake8x8-v1"), 1000, np.random.default_rng(0))
"""

FIRST_UPDATE = """
import numbarl
numbarl.train("ppo", "CartPole-v1", seed=0, total_steps=256, n_envs=8, n_steps=32,
              eval_every=10**9, eval_episodes=1)
"""

USER_ENV_FIRST_UPDATE = """
import numbarl
import numbarl.envs as E
E.load_module("catch")  # examples/catch.py, a user's env module on disk (as --import does)
numbarl.train("ppo", "Catch-v0", seed=0, total_steps=256, n_envs=8, n_steps=32,
              eval_every=10**9, eval_episodes=1)
"""
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    "name, code",
    [
        ("sampler", SAMPLER),
        ("ppo_first_update", FIRST_UPDATE),
        ("user_env_ppo_first_update", USER_ENV_FIRST_UPDATE),
    ],
)
def test_warm_process_start_up(benchmark, name, code):
    """A new Python process imports numbarl, builds the env and samples 1,000 steps (or runs
    PPO's first update, on a built-in env or on a user's env module), with Numba's cache warm:
    the whole process's wall time."""
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    kw = {"check": True, "capture_output": True, "cwd": EXAMPLES}
    subprocess.run(cmd, **kw)  # warm the cache
    benchmark.pedantic(subprocess.run, args=(cmd,), kwargs=kw, rounds=5)
    benchmark.extra_info["seconds_median"] = benchmark.stats.stats.median
