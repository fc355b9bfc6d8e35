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

from numbarl.bandits import EpsilonGreedyConfig, Testbed

NAME = "bandit_epsilon_greedy"
FIGURE = "Figure 2.2"
RUNS = 2000
TESTBED = Testbed(k=10, steps=1000)
SETTINGS = {
    "epsilon = 0 (greedy)": EpsilonGreedyConfig(epsilon=0.0),
    "epsilon = 0.01": EpsilonGreedyConfig(epsilon=0.01),
    "epsilon = 0.1": EpsilonGreedyConfig(epsilon=0.1),
}
WINDOW = (501, 1000)
BOOK = "greedy finds the optimal arm in about 1/3 of tasks; epsilon 0.1 highest"
TITLE = "Figure 2.2: epsilon-greedy, sample averages, 10-armed testbed"
EXPERIMENT = bc.TestbedFigure(NAME, FIGURE, RUNS, SETTINGS, TESTBED, TITLE)
simulate, run = EXPERIMENT.simulate, EXPERIMENT.run


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = EXPERIMENT.start(argv, __doc__)
    means = bc.label_means(job.result, WINDOW)
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
