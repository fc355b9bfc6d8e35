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
import pandas as pd

from numbarl.bandits import EpsilonGreedyConfig, Testbed

NAME = "bandit_nonstationary"
FIGURE = "Exercise 2.5"
RUNS = 2000
TESTBED = Testbed(k=10, steps=10_000, mean=0.0, std=0.0, walk_std=0.01)
AVERAGE = "sample averages"
CONSTANT = "constant step size alpha = 0.1"
SETTINGS = {
    AVERAGE: EpsilonGreedyConfig(epsilon=0.1, step_size=0.0),
    CONSTANT: EpsilonGreedyConfig(epsilon=0.1, step_size=0.1),
}
WINDOW = (5001, 10_000)
EVERY = 10
BOOK = "constant step size better than sample averages (the exercise's expected answer)"


def simulate(runs: int = RUNS, seed: int = 0):
    """``{label: BanditRuns}`` for the two settings, same spawned seeds."""
    return bc.simulate(SETTINGS, TESTBED, runs, seed)


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """The per-step table (every `EVERY`-th step)."""
    return bc.per_step_table(SETTINGS, simulate(runs, seed), seed, TESTBED, every=EVERY)


def main(argv: Sequence[str] | None = None) -> common.Summary:
    args = common.parse_args(argv, NAME, RUNS, __doc__)
    df, seconds = common.timed_run(run, args.runs, args.seed, args.warmup)
    fig = bc.plot_two_panels(df, "Exercise 2.5: nonstationary testbed (random-walk q*)")
    common.write_outputs(args.out, NAME, df, fig)
    late = df[df["step"].between(*WINDOW)].groupby("label")
    reward, optimal = late["average_reward"].mean(), late["optimal_action"].mean()
    s = common.summary(
        NAME,
        FIGURE,
        "steps 5001-10000, sample average / constant alpha: avg reward (% optimal)",
        f"{reward[AVERAGE]:.2f} ({optimal[AVERAGE]:.0f}%) / "
        f"{reward[CONSTANT]:.2f} ({optimal[CONSTANT]:.0f}%)",
        BOOK,
        args.runs,
        seconds,
        sample_average=float(reward[AVERAGE]),
        constant=float(reward[CONSTANT]),
    )
    print(common.summary_line(s))
    return s


if __name__ == "__main__":
    main()
