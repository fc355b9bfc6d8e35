"""Random-policy steps per second of the compiled tabular sampler (``make bench``)."""

import numpy as np
import pytest

from numbarl.envs import make
from numbarl.envs.tabular import random_steps

N_STEPS = 1_000_000


@pytest.mark.parametrize("name", ["FrozenLake8x8-v1", "Taxi-v4"])
def test_tabular_sampler_random_policy(benchmark, name):
    mdp = make(name)
    rng = np.random.default_rng(0)
    random_steps(mdp, 1000, rng)  # compile / load from cache outside the timed part
    benchmark(random_steps, mdp, N_STEPS, rng)
    ns = benchmark.stats.stats.median / N_STEPS * 1e9
    benchmark.extra_info["ns_per_step"] = ns
    benchmark.extra_info["steps_per_second"] = 1e9 / ns
