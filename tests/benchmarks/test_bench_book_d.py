"""Wall time of the Chapter 8 and 11 experiments' computation (Dyna mazes, prioritized
sweeping, expected vs sample updates, trajectory sampling, Baird's counterexample) at the book's
scale, after a warm-up call.

Goals: each figure under 2 s, Example 8.4 (8 maze sizes up to 6,016 states, both methods)
under 10 s. I/O and plotting are not timed: the benchmark calls each script's ``run(runs,
seed)``. ``extra_info`` holds the runs and the goal; for the planning scripts also the Q
updates per second where the script reports them.

Run with ``pytest tests/benchmarks/test_bench_book_d.py --benchmark-enable --benchmark-only``.
"""

import pytest

from tests.experiment_helpers import bench_books_runs, script

# name -> goal in seconds
SCRIPTS = {
    "dyna_maze": 2.0,
    "dyna_blocking": 2.0,
    "dyna_shortcut": 2.0,
    "prioritized_sweeping": 10.0,
    "expected_vs_sample": 2.0,
    "trajectory_sampling": 2.0,
    "baird_divergence": 2.0,
    "baird_tdc": 2.0,
    "baird_emphatic": 2.0,
}
SLOW = {"prioritized_sweeping", "trajectory_sampling"}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_book_d_experiment_at_the_books_scale(benchmark, name):
    result = bench_books_runs(benchmark, script(name), rounds=1 if name in SLOW else 3)
    benchmark.extra_info["goal_s"] = SCRIPTS[name]
    if name == "prioritized_sweeping":
        updates = float(result["updates"].sum())
        benchmark.extra_info["q_updates_per_s"] = updates / benchmark.stats.stats.min
