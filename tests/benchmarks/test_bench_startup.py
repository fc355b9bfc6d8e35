"""Start-up of a warm second process (design.md: within 1 s of starting; `make bench`)."""

import subprocess
import sys
import textwrap

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


@pytest.mark.parametrize("name, code", [("sampler", SAMPLER), ("ppo_first_update", FIRST_UPDATE)])
def test_warm_process_start_up(benchmark, name, code):
    """A new Python process imports numbarl, builds the env and samples 1,000 steps (or runs
    PPO's first update), with Numba's cache warm: the whole process's wall time."""
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    subprocess.run(cmd, check=True, capture_output=True)  # warm the cache
    benchmark.pedantic(subprocess.run, args=(cmd,), kwargs={"check": True}, rounds=5)
    benchmark.extra_info["seconds_median"] = benchmark.stats.stats.median
