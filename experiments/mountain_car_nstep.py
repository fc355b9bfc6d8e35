"""Figure 10.3: one-step against 8-step semi-gradient Sarsa on Mountain Car.

The setup of Figure 10.2 (`mountain_car_sarsa`): 8 tilings, weights 0, epsilon 0; one-step
Sarsa with alpha = 0.5/8 and 8-step Sarsa with alpha = 0.3/8 (the book's best step sizes);
steps per episode over 500 episodes, averaged over 100 runs, both on the same spawned seeds.

CSV ``mountain_car_nstep.csv``: ``n, alpha, run, episode, steps``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import pandas as pd
from mountain_car_sarsa import EPISODES, sarsa_curves, window_means

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
    fig, ax = common.new_figure(size=(6.5, 4.8))
    alpha = dict(SETTINGS)
    common.plot_mean_curves(
        ax, df, "episode", "steps", "n", label=lambda n: f"n = {n}, alpha = {alpha[n]:g}/8"
    )
    ax.set_yscale("log")
    common.finish_axes(
        ax,
        "Episode",
        f"Mountain Car steps per episode (log scale), averaged over {df['run'].nunique()} runs",
        "Figure 10.3: one-step vs 8-step semi-gradient Sarsa",
        ylim=(100, 1000),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    args = common.parse_args(argv, NAME, RUNS, __doc__)
    df, seconds = common.timed_run(run, args.runs, args.seed, args.warmup)
    common.write_outputs(args.out, NAME, df, plot(df))
    early = window_means(df, ["n"], 1, EARLY).groupby("n")["steps"].mean()
    total = window_means(df, ["n"], 1, EPISODES).groupby("n")["steps"].mean()
    s = common.summary(
        NAME,
        FIGURE,
        "steps/episode over the first 50 (all 500) episodes, n = 1 / n = 8",
        f"{early[1]:.0f} ({total[1]:.0f}) / {early[8]:.0f} ({total[8]:.0f})",
        BOOK,
        args.runs,
        seconds,
        early_n1=float(early[1]),
        early_n8=float(early[8]),
    )
    print(common.summary_line(s))
    return s


if __name__ == "__main__":
    main()
