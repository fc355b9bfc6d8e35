"""Wall time of the Chapter 2-5 experiments' computation (bandits, 5x5 gridworld, Jack's car
rental, infinite variance) at the book's scale, after a warm-up call.

Goals: each figure under 2 s, Figure 2.6 (26 settings x 2,000 runs x 1,000 steps) under 10 s.
Exercise 2.5 is 10x a figure's steps (2 x 2,000 runs x 10,000 steps); it is reported beside
them. I/O and plotting are not timed: the benchmark calls each script's ``run(runs, seed)``.
``extra_info`` holds the goal and, for the bandit scripts, ns per bandit step.

Run with ``pytest tests/benchmarks/test_bench_book_c.py --benchmark-enable --benchmark-only``.
"""

import pytest

from tests.experiment_helpers import bench_books_runs, script

# name -> (goal in seconds, bandit steps at the book's scale or 0)
SCRIPTS = {
    "bandit_epsilon_greedy": (2.0, 3 * 2000 * 1000),
    "bandit_optimistic": (2.0, 2 * 2000 * 1000),
    "bandit_ucb": (2.0, 2 * 2000 * 1000),
    "bandit_gradient": (2.0, 4 * 2000 * 1000),
    "bandit_parameter_study": (10.0, 26 * 2000 * 1000),
    "bandit_nonstationary": (2.0, 2 * 2000 * 10_000),
    "gridworld_5x5": (2.0, 0),
    "car_rental": (2.0, 0),
    "infinite_variance": (2.0, 0),
}
SLOW = {"bandit_parameter_study", "bandit_nonstationary"}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_book_c_experiment_at_the_books_scale(benchmark, name):
    bench_books_runs(benchmark, script(name), rounds=1 if name in SLOW else 3)
    goal, steps = SCRIPTS[name]
    benchmark.extra_info["goal_s"] = goal
    if steps:
        benchmark.extra_info["ns_per_bandit_step"] = benchmark.stats.stats.min / steps * 1e9
