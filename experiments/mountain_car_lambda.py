"""Figure 12.10: Sarsa(lambda) with replacing traces on Mountain Car, against alpha, for
lambda in {0, 0.68, 0.84, 0.92, 0.96, 0.98, 0.99}.

The setup of Figure 10.2 (8 tilings, the book's ``tiles()``, weights 0, epsilon 0, gamma 1);
Sarsa(lambda) with binary features and replacing traces (book p. 305,
`numbarl.approx.control.sarsa_lambda`); steps per episode averaged over the first 50 episodes
and 100 runs, against alpha x 8. Each lambda has its own alpha grid (`ALPHAS`), about the range
the book draws for it (the curves leave the figure's 300-step ceiling beyond it). An episode is
cut at `MAX_STEPS` steps (the count is in the summary). Every setting sees the same spawned
seeds.

CSV ``mountain_car_lambda.csv``: ``lambda, alpha, run, steps`` (alpha x 8; steps: mean over
the first 50 episodes).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from mountain_car_nstep_alpha import best_alphas

from numbarl.approx import control

NAME = "mountain_car_lambda"
FIGURE = "Figure 12.10"
RUNS = 100
EPISODES = 50
TILINGS = 8
MAX_STEPS = 10_000
ALPHAS = {
    0.0: (0.6, 0.9, 1.2, 1.5, 1.8),
    0.68: (0.6, 0.9, 1.2, 1.5, 1.8),
    0.84: (0.4, 0.7, 1.0, 1.3, 1.6),
    0.92: (0.3, 0.5, 0.7, 0.9, 1.1, 1.3),
    0.96: (0.2, 0.4, 0.6, 0.8, 1.0, 1.2),
    0.98: (0.2, 0.3, 0.4, 0.5, 0.6, 0.8),
    0.99: (0.1, 0.2, 0.3, 0.4, 0.5),
}
BOOK = "an intermediate lambda best, lambda 0 worst"


def lambda_frame(label: dict, steps: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            **label,
            "run": np.arange(steps.shape[0]),
            "steps": steps.mean(axis=1),
            "cut": (steps >= MAX_STEPS).sum(axis=1),
        }
    )


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    frames = []
    for lam, alphas in ALPHAS.items():
        for a in alphas:
            steps = control.sarsa_lambda_many(
                runs, seed, alpha=a / TILINGS, lam=lam, trace="replacing",
                episodes=EPISODES, max_steps=MAX_STEPS,
            )  # fmt: skip
            frames.append(lambda_frame({"lambda": lam, "alpha": a}, steps))
    return pd.concat(frames, ignore_index=True)


def plot(df: pd.DataFrame):
    fig, ax = common.new_figure(size=(6.5, 4.8))
    common.plot_mean_curves(
        ax, df, "alpha", "steps", "lambda", label=lambda lam: f"lambda = {lam:g}"
    )
    common.finish_axes(
        ax,
        "alpha x number of tilings (8)",
        f"Mountain Car steps per episode, first {EPISODES} episodes and {df['run'].nunique()} runs",
        "Figure 12.10: Sarsa(lambda), replacing traces",
        ylim=(170, 300),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    args = common.parse_args(argv, NAME, RUNS, __doc__)
    df, seconds = common.timed_run(run, args.runs, args.seed, args.warmup)
    common.write_outputs(args.out, NAME, df, plot(df))
    best = best_alphas(df, "lambda").set_index("lambda")
    top = best["mean"].idxmin()
    s = common.summary(
        NAME,
        FIGURE,
        "best steps/episode: best lambda (alpha x 8) vs lambda 0",
        f"{best.loc[top, 'mean']:.0f} at lambda {top:g} ({best.loc[top, 'alpha']:g}) vs "
        f"{best.loc[0.0, 'mean']:.0f}",
        BOOK,
        args.runs,
        seconds,
        cut_episodes=int(df["cut"].sum()),
        **{f"best_steps_lambda{lam:g}": float(best.loc[lam, "mean"]) for lam in ALPHAS},
    )
    print(common.summary_line(s))
    return s


if __name__ == "__main__":
    main()
