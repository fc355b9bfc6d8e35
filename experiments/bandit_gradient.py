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
import pandas as pd

from numbarl.bandits import GradientBanditConfig, Testbed

NAME = "bandit_gradient"
FIGURE = "Figure 2.5"
RUNS = 2000
TESTBED = Testbed(k=10, steps=1000, mean=4.0)
SETTINGS = {
    "alpha = 0.1, with baseline": GradientBanditConfig(alpha=0.1, baseline=True),
    "alpha = 0.4, with baseline": GradientBanditConfig(alpha=0.4, baseline=True),
    "alpha = 0.1, without baseline": GradientBanditConfig(alpha=0.1, baseline=False),
    "alpha = 0.4, without baseline": GradientBanditConfig(alpha=0.4, baseline=False),
}
WINDOW = (501, 1000)
BOOK = "with baseline far above without, at both step sizes"


def simulate(runs: int = RUNS, seed: int = 0):
    """``{label: BanditRuns}`` for the four settings, same spawned seeds."""
    return bc.simulate(SETTINGS, TESTBED, runs, seed)


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """The per-step table of the figure."""
    return bc.per_step_table(SETTINGS, simulate(runs, seed), seed, TESTBED)


def main(argv: Sequence[str] | None = None) -> common.Summary:
    args = common.parse_args(argv, NAME, RUNS, __doc__)
    df, seconds = common.timed_run(run, args.runs, args.seed, args.warmup)
    fig = bc.plot_two_panels(df, "Figure 2.5: gradient bandit, q*(a) ~ N(4, 1)", ("optimal",))
    common.write_outputs(args.out, NAME, df, fig)
    optimal = df[df["step"].between(*WINDOW)].groupby("label", sort=False)["optimal_action"]
    optimal = optimal.mean()
    s = common.summary(
        NAME,
        FIGURE,
        "% optimal, steps 501-1000, with baseline a=0.1/0.4; without a=0.1/0.4",
        "/".join(f"{optimal[lab]:.0f}%" for lab in SETTINGS),
        BOOK,
        args.runs,
        seconds,
        **{
            f"{'baseline' if c.baseline else 'no_baseline'}_{c.alpha}": float(optimal[lab])
            for lab, c in SETTINGS.items()
        },
    )
    print(common.summary_line(s))
    return s


if __name__ == "__main__":
    main()
