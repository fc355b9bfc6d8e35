"""Figure 13.2: REINFORCE with a learned state-value baseline (alpha_theta = 2^-9,
alpha_w = 2^-6) against plain REINFORCE (alpha = 2^-13) on the short corridor; total reward per
episode over 1000 episodes, averaged over 100 runs.

Same setup as Figure 13.1 (`short_corridor_reinforce`): the book's start policy and the
reference implementation's probability floor; both algorithms see the same spawned seeds.
CSV: ``algorithm (reinforce|reinforce_baseline), alpha, alpha_w, run, episode, return``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from short_corridor_reinforce import EPISODES, OPTIMUM, reinforce_returns, returns_frame

NAME = "short_corridor_baseline"
FIGURE = "Figure 13.2"
RUNS = 100
ALPHA = 2.0**-13
ALPHA_THETA = 2.0**-9
ALPHA_W = 2.0**-6
FIRST = 100  # the key number: mean return over the first FIRST episodes
LABELS = {
    "reinforce": "REINFORCE, alpha = 2^-13",
    "reinforce_baseline": "REINFORCE with baseline, alpha_theta = 2^-9, alpha_w = 2^-6",
}


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    plain = returns_frame("reinforce", ALPHA, reinforce_returns(runs, seed, alpha=ALPHA))
    plain["alpha_w"] = np.nan
    base = returns_frame(
        "reinforce_baseline",
        ALPHA_THETA,
        reinforce_returns(runs, seed, alpha=ALPHA_THETA, baseline=True, alpha_w=ALPHA_W),
    )
    base["alpha_w"] = ALPHA_W
    df = pd.concat([plain, base], ignore_index=True)
    return df[["algorithm", "alpha", "alpha_w", "run", "episode", "return"]]


def plot(df: pd.DataFrame):
    fig, ax = common.new_figure(size=(6.5, 4.5))
    common.plot_mean_curves(ax, df, "episode", "return", "algorithm", label=LABELS.get)
    ax.axhline(OPTIMUM, color="gray", linestyle="--", label="v*(s0) = -11.6")
    common.finish_axes(
        ax,
        "Episode",
        f"Total reward on episode (mean of {df['run'].nunique()} runs)",
        "Figure 13.2: REINFORCE with and without a baseline",
        ylim=(-90, -10),
    )
    return fig


def window_means(df: pd.DataFrame, first: int, last: int) -> pd.Series:
    """Mean return over episodes first..last, per algorithm."""
    sub = df[(df["episode"] >= first) & (df["episode"] <= last)]
    return sub.groupby("algorithm")["return"].mean()


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    early = window_means(df, 1, FIRST)
    late = window_means(df, EPISODES - 99, EPISODES)
    return job.report(
        "with baseline: mean return, last 100 episodes",
        round(float(late["reinforce_baseline"]), 2),
        OPTIMUM,
        first100_reinforce=float(early["reinforce"]),
        first100_baseline=float(early["reinforce_baseline"]),
        last100_reinforce=float(late["reinforce"]),
        last100_baseline=float(late["reinforce_baseline"]),
    )


if __name__ == "__main__":
    main()
