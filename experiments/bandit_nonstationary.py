"""Exercise 2.5: a nonstationary 10-armed testbed. All q*(a) start equal (0) and each takes an
independent N(0, 0.01**2) random-walk step after every pull; epsilon-greedy (epsilon 0.1) with
sample averages against a constant step size alpha = 0.1, 10,000 steps, 2,000 runs.

CSV ``bandit_nonstationary.csv``: per-step means over runs with standard errors, every 10th
step (see ``bandit_curves.py``). The key numbers are averages over steps 5,001-10,000.
"""

from __future__ import annotations

from collections.abc import Sequence

import bandit_curves as bc
import common

from numbarl.bandits import EpsilonGreedyConfig, Testbed

NAME = "bandit_nonstationary"
FIGURE = "Exercise 2.5"
TESTBED = Testbed(k=10, steps=10_000, mean=0.0, std=0.0, walk_std=0.01)
AVERAGE = "sample averages"
CONSTANT = "constant step size alpha = 0.1"
SETTINGS = {
    AVERAGE: EpsilonGreedyConfig(epsilon=0.1, step_size=0.0),
    CONSTANT: EpsilonGreedyConfig(epsilon=0.1, step_size=0.1),
}
BOOK = "constant step size better than sample averages (the exercise's expected answer)"
TITLE = "Exercise 2.5: nonstationary testbed (random-walk q*)"
EXPERIMENT = bc.TestbedFigure(
    NAME, FIGURE, SETTINGS, TITLE, TESTBED, every=10, window=(5001, 10_000)
)
RUNS, simulate, run = EXPERIMENT.runs, EXPERIMENT.simulate, EXPERIMENT.run


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job, means = EXPERIMENT.start(argv, __doc__)
    reward, optimal = means["average_reward"], means["optimal_action"]
    return job.report(
        "steps 5001-10000, sample average / constant alpha: avg reward (% optimal)",
        f"{reward[AVERAGE]:.2f} ({optimal[AVERAGE]:.0f}%) / "
        f"{reward[CONSTANT]:.2f} ({optimal[CONSTANT]:.0f}%)",
        BOOK,
        sample_average=float(reward[AVERAGE]),
        constant=float(reward[CONSTANT]),
    )


if __name__ == "__main__":
    main()
