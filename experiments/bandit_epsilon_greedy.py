"""Figure 2.2: epsilon-greedy action-value methods with sample averages (Q1 = 0) on the
10-armed testbed, epsilon in {0, 0.01, 0.1}: average reward and % optimal action per step,
averaged over 2,000 runs of 1,000 steps (``numbarl.bandits``, all runs in one compiled call).

CSV ``bandit_epsilon_greedy.csv``: per-step means over runs with standard errors (see
``bandit_curves.py`` for the columns). The key numbers are averages over steps 501-1,000.
"""

from __future__ import annotations

from collections.abc import Sequence

import bandit_curves as bc
import common

from numbarl.bandits import EpsilonGreedyConfig

NAME = "bandit_epsilon_greedy"
FIGURE = "Figure 2.2"
SETTINGS = {
    "epsilon = 0 (greedy)": EpsilonGreedyConfig(epsilon=0.0),
    "epsilon = 0.01": EpsilonGreedyConfig(epsilon=0.01),
    "epsilon = 0.1": EpsilonGreedyConfig(epsilon=0.1),
}
BOOK = "greedy finds the optimal arm in about 1/3 of tasks; epsilon 0.1 highest"
EXPERIMENT = bc.TestbedFigure(
    NAME, FIGURE, SETTINGS, "Figure 2.2: epsilon-greedy, sample averages, 10-armed testbed"
)
RUNS, simulate, run = EXPERIMENT.runs, EXPERIMENT.simulate, EXPERIMENT.run


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job, means = EXPERIMENT.start(argv, __doc__)
    reward, optimal = means["average_reward"], means["optimal_action"]
    labels = list(SETTINGS)
    return job.report(
        "steps 501-1000, eps 0/0.01/0.1: avg reward; greedy % optimal",
        "/".join(f"{reward[lab]:.2f}" for lab in labels) + f"; {optimal[labels[0]]:.0f}%",
        BOOK,
        **{f"reward_{SETTINGS[lab].epsilon}": float(reward[lab]) for lab in labels},
        **{f"optimal_{SETTINGS[lab].epsilon}": float(optimal[lab]) for lab in labels},
    )


if __name__ == "__main__":
    main()
