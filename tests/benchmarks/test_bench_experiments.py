"""Wall time of each textbook experiment's computation with the book's number of runs, after a
warm-up call (design.md: under 1 s each; Figure 6.3 at full scale under 5 minutes). I/O and
plotting are not timed: the benchmark calls each script's ``run(runs, seed)``."""

import pytest

from tests.experiment_helpers import EXPERIMENTS, bench_books_runs, common

SCRIPTS = common.discover(EXPERIMENTS)
# Not textbook figures: PPO and RLHF have their own benchmarks.
TEXTBOOK = sorted(n for n in SCRIPTS if n not in {"ppo_cartpole", "rlhf_toy"})
FULL_SCALE = {"cliff_walking_alpha"}  # minutes at the book's scale: one round only


@pytest.mark.parametrize("name", TEXTBOOK)
def test_experiment_with_the_books_runs(benchmark, name):
    bench_books_runs(benchmark, SCRIPTS[name], rounds=1 if name in FULL_SCALE else 3)
