"""Figure 10.4: n-step semi-gradient Sarsa on Mountain Car against alpha, for n = 1, 2, 4, 8, 16.

The setup of Figure 10.2 (8 tilings, weights 0, epsilon 0); steps per episode averaged over
the first 50 episodes and 100 runs, against alpha x 8. Each n has its own alpha grid (`ALPHAS`),
about the range the book draws for it (larger n diverges at smaller alpha; the book's y-axis
stops at 300). An episode is cut at `MAX_STEPS` steps (none is at these settings; the count is
in the summary). Every setting sees the same spawned seeds.

CSV ``mountain_car_nstep_alpha.csv``: ``n, alpha, run, steps`` (alpha x 8; steps: mean over
the first 50 episodes).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.approx import control

NAME = "mountain_car_nstep_alpha"
FIGURE = "Figure 10.4"
RUNS = 100
EPISODES = 50
TILINGS = 8
MAX_STEPS = 100_000
ALPHAS = {
    1: (0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6),
    2: (0.3, 0.5, 0.7, 0.9, 1.1, 1.3),
    4: (0.2, 0.4, 0.6, 0.8, 1.0),
    8: (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7),
    16: (0.1, 0.2, 0.3, 0.4, 0.5),
}
BOOK = "an intermediate n best, each at an intermediate alpha"


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    frames = []
    for n, alphas in ALPHAS.items():
        for a in alphas:
            steps = control.sarsa_many(
                runs, seed, alpha=a / TILINGS, n=n, episodes=EPISODES, max_steps=MAX_STEPS
            )
            frames.append(
                pd.DataFrame(
                    {
                        "n": n,
                        "alpha": a,
                        "run": np.arange(runs),
                        "steps": steps.mean(axis=1),
                        "cut": (steps >= MAX_STEPS).sum(axis=1),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def best_alphas(df: pd.DataFrame, by: str | list[str] = "n", y: str = "steps") -> pd.DataFrame:
    """Per group of ``by``: the alpha with the lowest mean ``y``, that mean and its standard
    error over runs."""
    by = [by] if isinstance(by, str) else list(by)
    stats = df.groupby([*by, "alpha"])[y].agg(["mean", "std", "count"]).reset_index()
    stats["sem"] = stats["std"] / np.sqrt(stats["count"])
    return stats.loc[stats.groupby(by)["mean"].idxmin()].reset_index(drop=True)


def plot(df: pd.DataFrame):
    fig, ax = common.new_figure(size=(6.5, 4.8))
    common.plot_mean_curves(ax, df, "alpha", "steps", "n", label=lambda n: f"n = {n}")
    common.finish_axes(
        ax,
        "alpha x number of tilings (8)",
        f"Mountain Car steps per episode, first {EPISODES} episodes and {df['run'].nunique()} runs",
        "Figure 10.4: n-step semi-gradient Sarsa",
        ylim=(210, 300),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    args = common.parse_args(argv, NAME, RUNS, __doc__)
    df, seconds = common.timed_run(run, args.runs, args.seed, args.warmup)
    common.write_outputs(args.out, NAME, df, plot(df))
    best = best_alphas(df).set_index("n")
    s = common.summary(
        NAME,
        FIGURE,
        "best steps/episode (alpha x 8) for n = 1, 2, 4, 8, 16",
        " / ".join(f"{best.loc[n, 'mean']:.0f} ({best.loc[n, 'alpha']:g})" for n in ALPHAS),
        BOOK,
        args.runs,
        seconds,
        cut_episodes=int(df["cut"].sum()),
        **{f"best_steps_n{n}": float(best.loc[n, "mean"]) for n in ALPHAS},
    )
    print(common.summary_line(s))
    return s


if __name__ == "__main__":
    main()
