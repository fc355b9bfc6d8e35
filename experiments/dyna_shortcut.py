"""Figure 8.5: Dyna-Q and Dyna-Q+ on the shortcut maze (Example 8.3). A 6x9 grid, start (5, 3),
goal (0, 8), +1 on reaching the goal; a wall across row 3 leaves a gap at its left end; after
3,000 steps a second gap opens at its right end, a shorter path; 6,000 steps in all. Cumulative
reward against time steps, averaged over runs. The book's point: Dyna-Q never finds the shortcut
(its model says there is none), while Dyna-Q+'s exploration bonus does.

As for Figure 8.4 the book does not give the parameters; those of its reference code: alpha = 1,
n = 50 planning steps, kappa = 1e-3; we average 20 runs (the reference code: 5); gamma = 0.95,
epsilon = 0.1. The computing and tidy frame are `dyna_blocking`'s.

CSV ``dyna_shortcut.csv``: ``algorithm (dyna_q|dyna_q_plus), run, time_step, cumulative_reward,
alpha, planning_steps, kappa`` every 10 steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import dyna_blocking
import pandas as pd

from numbarl.tabular import planning

NAME = "dyna_shortcut"
FIGURE = "Figure 8.5"
RUNS = 20
STEPS = 6000
SWITCH = 3000
PLANNING_STEPS = 50
KAPPA = 1e-3
BOOK = "Dyna-Q+ finds the shortcut, Dyna-Q does not (figure)"


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    before = planning.maze_from_text(planning.SHORTCUT_MAZE)
    after = planning.maze_from_text(planning.SHORTCUT_MAZE_AFTER)
    cum = dyna_blocking.changing_maze_rewards(
        before, after, SWITCH, STEPS, PLANNING_STEPS, KAPPA, runs, seed
    )
    return dyna_blocking.tidy(cum, PLANNING_STEPS, KAPPA)


def shortcut_share(df: pd.DataFrame) -> pd.Series:
    """Per algorithm: the share of runs whose reward rate over the last 1,000 steps beats the
    old path's best (a 16-step path at epsilon 0: 1,000 / 16 goals), i.e. that use the
    shortcut (10 steps)."""
    end = df["time_step"].max()
    at = df[df["time_step"].isin([end - 1000, end])].pivot_table(
        index=["algorithm", "run"], columns="time_step", values="cumulative_reward"
    )
    rate = at[end] - at[end - 1000]
    return (rate > 1000 / 16).groupby("algorithm").mean()


def plot(df: pd.DataFrame):
    n_runs = df["run"].nunique()
    return dyna_blocking.plot_changing(df, SWITCH, f"Figure 8.5: shortcut maze ({n_runs} runs)")


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    share = shortcut_share(df)
    extra = {f"{a}_share_shortcut": float(share[a]) for a in dyna_blocking.ALGORITHMS}
    return dyna_blocking.summarise(job, df, SWITCH, BOOK, **extra)


if __name__ == "__main__":
    main()
