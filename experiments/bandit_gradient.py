"""Figure 2.5: the gradient bandit algorithm with and without the average-reward baseline,
alpha in {0.1, 0.4}, on the 10-armed testbed with true values q*(a) ~ N(+4, 1): % optimal action
per step over 2,000 runs of 1,000 steps.

The baseline is the average of the rewards through and including the current step (the
reference implementation of the figure; the book's text defines it over the steps before).
Without a baseline every reward is near +4, so the chosen arm's preference rises whatever its
value and learning is much slower: the gap the figure shows.

CSV ``bandit_gradient.csv``: per-step means over runs with standard errors (see
``bandit_curves.py``). The key numbers are % optimal action over steps 501-1,000.
"""

from __future__ import annotations

from collections.abc import Sequence

import bandit_curves as bc
import common

from numbarl.bandits import GradientBanditConfig, Testbed

NAME = "bandit_gradient"
FIGURE = "Figure 2.5"
TESTBED = Testbed(k=10, steps=1000, mean=4.0)
SETTINGS = {
    "alpha = 0.1, with baseline": GradientBanditConfig(alpha=0.1, baseline=True),
    "alpha = 0.4, with baseline": GradientBanditConfig(alpha=0.4, baseline=True),
    "alpha = 0.1, without baseline": GradientBanditConfig(alpha=0.1, baseline=False),
    "alpha = 0.4, without baseline": GradientBanditConfig(alpha=0.4, baseline=False),
}
BOOK = "with baseline far above without, at both step sizes"
TITLE = "Figure 2.5: gradient bandit, q*(a) ~ N(4, 1)"
EXPERIMENT = bc.TestbedFigure(NAME, FIGURE, SETTINGS, TITLE, TESTBED, panels=("optimal",))
RUNS, simulate, run = EXPERIMENT.runs, EXPERIMENT.simulate, EXPERIMENT.run


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job, means = EXPERIMENT.start(argv, __doc__)
    optimal = means["optimal_action"]
    return job.report(
        "% optimal, steps 501-1000, with baseline a=0.1/0.4; without a=0.1/0.4",
        "/".join(f"{optimal[lab]:.0f}%" for lab in SETTINGS),
        BOOK,
        **{
            f"{'baseline' if c.baseline else 'no_baseline'}_{c.alpha}": float(optimal[lab])
            for lab, c in SETTINGS.items()
        },
    )


if __name__ == "__main__":
    main()
