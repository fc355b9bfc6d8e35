"""Wall time of each textbook experiment's computation with the book's number of runs, after a
warm-up call (design.md: under 1 s each; Figure 6.3 at full scale under 5 minutes). I/O and
plotting are not timed: the benchmark calls each script's ``run(runs, seed)``."""

import sys
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
sys.path.insert(0, str(EXPERIMENTS))

import common  # noqa: E402

SCRIPTS = common.discover(EXPERIMENTS)
# Not textbook figures: PPO and RLHF have their own benchmarks.
TEXTBOOK = sorted(n for n in SCRIPTS if n not in {"ppo_cartpole", "rlhf_toy"})
FULL_SCALE = {"cliff_walking_alpha"}  # minutes at the book's scale: one round only


@pytest.mark.parametrize("name", TEXTBOOK)
def test_experiment_with_the_books_runs(benchmark, name):
    module = SCRIPTS[name]
    module.run(min(2, module.RUNS), 0)  # compile / load from Numba's cache outside the timing
    rounds = 1 if name in FULL_SCALE else 3
    benchmark.pedantic(module.run, args=(module.RUNS, 0), rounds=rounds, iterations=1)
    benchmark.extra_info["runs"] = module.RUNS
