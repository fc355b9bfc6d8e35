"""Wall time of the Chapter 9, 10 and 12 experiments (linear function approximation) at the
book's scale, after a warm-up call: the goal is under 2 s of computation each, Figure 10.4
under 10 s. I/O and plotting are not timed: the benchmark calls each script's
``run(RUNS, 0)``; ``extra_info`` records the goal."""

import pytest

from tests.experiment_helpers import bench_books_runs, script

NAMES = [
    "random_walk_1000_mc",
    "random_walk_1000_td",
    "random_walk_1000_bases",
    "random_walk_1000_tiles",
    "mountain_car_cost_to_go",
    "mountain_car_sarsa",
    "mountain_car_nstep",
    "mountain_car_nstep_alpha",
    "access_control",
    "mountain_car_lambda",
    "mountain_car_lambda_true_online",
]
GOAL_SECONDS = {"mountain_car_nstep_alpha": 10.0}
HEAVY = {"mountain_car_nstep_alpha", "mountain_car_lambda", "mountain_car_lambda_true_online"}


@pytest.mark.parametrize("name", NAMES)
def test_book_e_experiment_at_the_books_scale(benchmark, name):
    bench_books_runs(benchmark, script(name), rounds=1 if name in HEAVY else 3)
    benchmark.extra_info["goal_seconds"] = GOAL_SECONDS.get(name, 2.0)
