"""Figure 10.3: one-step against 8-step semi-gradient Sarsa on Mountain Car.

The setup of Figure 10.2 (`mountain_car_sarsa`): 8 tilings, weights 0, epsilon 0; one-step
Sarsa with alpha = 0.5/8 and 8-step Sarsa with alpha = 0.3/8 (the book's best step sizes);
steps per episode over 500 episodes, averaged over 100 runs, both on the same spawned seeds.

CSV ``mountain_car_nstep.csv``: ``n, alpha, run, episode, steps``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import mountain_car as mc
import pandas as pd
from mountain_car import sarsa_curves, window_means
from mountain_car_sarsa import EPISODES

NAME = "mountain_car_nstep"
FIGURE = "Figure 10.3"
RUNS = 100
SETTINGS = ((1, 0.5), (8, 0.3))  # (n, alpha x 8)
EARLY = 50
BOOK = "n = 8 below n = 1, most clearly early"


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    return pd.concat(
        [sarsa_curves(n, a, runs, seed, EPISODES) for n, a in SETTINGS], ignore_index=True
    )


def plot(df: pd.DataFrame):
    alpha = dict(SETTINGS)
    return mc.plot_episode_curves(
        df,
        "n",
        lambda n: f"n = {n}, alpha = {alpha[n]:g}/8",
        "Figure 10.3: one-step vs 8-step semi-gradient Sarsa",
    )


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    early = window_means(df, ["n"], 1, EARLY).groupby("n")["steps"].mean()
    total = window_means(df, ["n"], 1, EPISODES).groupby("n")["steps"].mean()
    return job.report(
        "steps/episode over the first 50 (all 500) episodes, n = 1 / n = 8",
        f"{early[1]:.0f} ({total[1]:.0f}) / {early[8]:.0f} ({total[8]:.0f})",
        BOOK,
        early_n1=float(early[1]),
        early_n8=float(early[8]),
    )


if __name__ == "__main__":
    main()
