"""Figure 10.2: semi-gradient Sarsa on Mountain Car with tile coding, for three step sizes.

The book's Mountain Car (Example 10.1; Gymnasium's MountainCar-v0 dynamics without its time
limit), 8 tilings of 8 x 8 tiles over position and velocity through the book's ``tiles()``
(index hash table of 4,096, asymmetric offsets), weights 0 (optimistic), epsilon 0 (greedy,
ties at random); alpha = 0.1/8, 0.2/8, 0.5/8 per weight; steps per episode over 500 episodes,
averaged over 100 runs (`numbarl.approx.control.n_step_sarsa` with n = 1). Every step size
sees the same spawned seeds.

CSV ``mountain_car_sarsa.csv``: ``n, alpha, run, episode, steps`` (alpha as the book writes it,
times the 8 tilings).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import mountain_car as mc
import pandas as pd
from mountain_car import sarsa_curves, window_means

NAME = "mountain_car_sarsa"
FIGURE = "Figure 10.2"
RUNS = 100
EPISODES = 500
ALPHAS = (0.1, 0.2, 0.5)  # times 1/8
EARLY = 100
BOOK = "alpha 0.5/8 fastest"


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    return pd.concat([sarsa_curves(1, a, runs, seed, EPISODES) for a in ALPHAS], ignore_index=True)


def plot(df: pd.DataFrame):
    return mc.plot_episode_curves(
        df, "alpha", lambda a: f"alpha = {a:g}/8", "Figure 10.2: semi-gradient Sarsa"
    )


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    early = window_means(df, ["alpha"], 1, EARLY).groupby("alpha")["steps"].mean()
    late = window_means(df, ["alpha"], EPISODES - 49, EPISODES).groupby("alpha")["steps"].mean()
    return job.report(
        "steps/episode, first 100 episodes (last 50) at alpha 0.1/8, 0.2/8, 0.5/8",
        " / ".join(f"{early[a]:.0f} ({late[a]:.0f})" for a in ALPHAS),
        BOOK,
        **{f"early_alpha{a:g}": float(early[a]) for a in ALPHAS},
        **{f"late_alpha{a:g}": float(late[a]) for a in ALPHAS},
    )


if __name__ == "__main__":
    main()
