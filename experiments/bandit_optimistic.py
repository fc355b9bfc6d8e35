"""Figure 2.3: optimistic initial values. Greedy with Q1 = 5 against "realistic" epsilon-greedy
with Q1 = 0 and epsilon 0.1, both with constant step size 0.1, on the 10-armed testbed:
% optimal action per step over 2,000 runs of 1,000 steps.

CSV ``bandit_optimistic.csv``: per-step means over runs with standard errors (see
``bandit_curves.py``). The key numbers are % optimal action over steps 501-1,000, and the
optimistic method's spike at step 11 (every arm has been tried once by then).
"""

from __future__ import annotations

from collections.abc import Sequence

import bandit_curves as bc
import common

from numbarl.bandits import EpsilonGreedyConfig

NAME = "bandit_optimistic"
FIGURE = "Figure 2.3"
OPTIMISTIC = "optimistic, greedy: Q1 = 5, epsilon = 0"
REALISTIC = "realistic, epsilon-greedy: Q1 = 0, epsilon = 0.1"
SETTINGS = {
    OPTIMISTIC: EpsilonGreedyConfig(epsilon=0.0, step_size=0.1, initial=5.0),
    REALISTIC: EpsilonGreedyConfig(epsilon=0.1, step_size=0.1, initial=0.0),
}
BOOK = "optimistic worse early, better later (spike near step 11)"
EXPERIMENT = bc.TestbedFigure(
    NAME, FIGURE, SETTINGS, "Figure 2.3: optimistic initial values", panels=("optimal",)
)
RUNS, simulate, run = EXPERIMENT.runs, EXPERIMENT.simulate, EXPERIMENT.run


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job, means = EXPERIMENT.start(argv, __doc__)
    optimal = means["optimal_action"]
    at = job.result.set_index(["label", "step"])["optimal_action"]
    return job.report(
        "% optimal, steps 501-1000, optimistic / realistic; optimistic at step 11",
        f"{optimal[OPTIMISTIC]:.1f}% / {optimal[REALISTIC]:.1f}%; {at[OPTIMISTIC, 11]:.0f}%",
        BOOK,
        optimistic=float(optimal[OPTIMISTIC]),
        realistic=float(optimal[REALISTIC]),
    )


if __name__ == "__main__":
    main()
