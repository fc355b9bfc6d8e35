"""Figure 2.4: UCB action selection (c = 2) against epsilon-greedy (epsilon 0.1), both with
sample averages, on the 10-armed testbed: average reward per step over 2,000 runs of 1,000
steps.

CSV ``bandit_ucb.csv``: per-step means over runs with standard errors (see
``bandit_curves.py``). The key numbers are the average reward over steps 501-1,000 and UCB's
spike at step 11 (the first step after every arm has been tried once).
"""

from __future__ import annotations

from collections.abc import Sequence

import bandit_curves as bc
import common
import pandas as pd

from numbarl.bandits import EpsilonGreedyConfig, Testbed, UCBConfig

NAME = "bandit_ucb"
FIGURE = "Figure 2.4"
RUNS = 2000
TESTBED = Testbed(k=10, steps=1000)
UCB = "UCB c = 2"
EGREEDY = "epsilon-greedy epsilon = 0.1"
SETTINGS = {UCB: UCBConfig(c=2.0), EGREEDY: EpsilonGreedyConfig(epsilon=0.1)}
WINDOW = (501, 1000)
BOOK = "UCB above epsilon-greedy after the first steps; spike at step 11"


def simulate(runs: int = RUNS, seed: int = 0):
    """``{label: BanditRuns}`` for the two settings, same spawned seeds."""
    return bc.simulate(SETTINGS, TESTBED, runs, seed)


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """The per-step table of the figure."""
    return bc.per_step_table(SETTINGS, simulate(runs, seed), seed, TESTBED)


def main(argv: Sequence[str] | None = None) -> common.Summary:
    args = common.parse_args(argv, NAME, RUNS, __doc__)
    df, seconds = common.timed_run(run, args.runs, args.seed, args.warmup)
    fig = bc.plot_two_panels(df, "Figure 2.4: UCB against epsilon-greedy", panels=("reward",))
    common.write_outputs(args.out, NAME, df, fig)
    reward = df[df["step"].between(*WINDOW)].groupby("label")["average_reward"].mean()
    at = df.set_index(["label", "step"])["average_reward"]
    s = common.summary(
        NAME,
        FIGURE,
        "avg reward, steps 501-1000, UCB / eps-greedy; UCB at step 11",
        f"{reward[UCB]:.2f} / {reward[EGREEDY]:.2f}; {at[UCB, 11]:.2f}",
        BOOK,
        args.runs,
        seconds,
        ucb=float(reward[UCB]),
        epsilon_greedy=float(reward[EGREEDY]),
    )
    print(common.summary_line(s))
    return s


if __name__ == "__main__":
    main()
