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
import numpy as np
import pandas as pd

from numbarl.approx import control

NAME = "mountain_car_sarsa"
FIGURE = "Figure 10.2"
RUNS = 100
EPISODES = 500
TILINGS = 8
ALPHAS = (0.1, 0.2, 0.5)  # times 1/8
EARLY = 100
BOOK = "alpha 0.5/8 fastest"


def steps_frame(label: dict, steps: np.ndarray) -> pd.DataFrame:
    """Tidy ``**label, run, episode, steps`` from steps int64[runs, episodes] (episode 1-based)."""
    runs, episodes = steps.shape
    return pd.DataFrame(
        {
            **label,
            "run": np.repeat(np.arange(runs), episodes),
            "episode": np.tile(np.arange(1, episodes + 1), runs),
            "steps": steps.ravel(),
        }
    )


def sarsa_curves(n: int, alpha8: float, runs: int, seed: int, episodes: int) -> pd.DataFrame:
    steps = control.sarsa_many(runs, seed, alpha=alpha8 / TILINGS, n=n, episodes=episodes)
    return steps_frame({"n": n, "alpha": alpha8}, steps)


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    return pd.concat([sarsa_curves(1, a, runs, seed, EPISODES) for a in ALPHAS], ignore_index=True)


def window_means(df: pd.DataFrame, by: Sequence[str], first: int, last: int) -> pd.DataFrame:
    """Per (``by``, run): mean steps per episode over episodes first..last."""
    sub = df[(df["episode"] >= first) & (df["episode"] <= last)]
    return sub.groupby([*by, "run"], as_index=False)["steps"].mean()


def plot(df: pd.DataFrame):
    fig, ax = common.new_figure(size=(6.5, 4.8))
    common.plot_mean_curves(ax, df, "episode", "steps", "alpha", label=lambda a: f"alpha = {a:g}/8")
    ax.set_yscale("log")
    common.finish_axes(
        ax,
        "Episode",
        f"Mountain Car steps per episode (log scale), averaged over {df['run'].nunique()} runs",
        "Figure 10.2: semi-gradient Sarsa",
        ylim=(100, 1000),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    args = common.parse_args(argv, NAME, RUNS, __doc__)
    df, seconds = common.timed_run(run, args.runs, args.seed, args.warmup)
    common.write_outputs(args.out, NAME, df, plot(df))
    early = window_means(df, ["alpha"], 1, EARLY).groupby("alpha")["steps"].mean()
    late = window_means(df, ["alpha"], EPISODES - 49, EPISODES).groupby("alpha")["steps"].mean()
    s = common.summary(
        NAME,
        FIGURE,
        "steps/episode, first 100 episodes (last 50) at alpha 0.1/8, 0.2/8, 0.5/8",
        " / ".join(f"{early[a]:.0f} ({late[a]:.0f})" for a in ALPHAS),
        BOOK,
        args.runs,
        seconds,
        **{f"early_alpha{a:g}": float(early[a]) for a in ALPHAS},
        **{f"late_alpha{a:g}": float(late[a]) for a in ALPHAS},
    )
    print(common.summary_line(s))
    return s


if __name__ == "__main__":
    main()
