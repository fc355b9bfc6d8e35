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
import mountain_car as mc
import pandas as pd
from mountain_car import best_alphas

from numbarl.approx import control

NAME = "mountain_car_lambda"
FIGURE = "Figure 12.10"
RUNS = 100
EPISODES = 50
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


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    def learn(lam: float, alpha: float):
        return control.sarsa_lambda_many(
            runs, seed, alpha=alpha, lam=lam, trace="replacing", episodes=EPISODES,
            max_steps=MAX_STEPS,
        )  # fmt: skip

    return mc.alpha_sweep(ALPHAS, "lambda", learn, MAX_STEPS)


def plot(df: pd.DataFrame):
    title = "Figure 12.10: Sarsa(lambda), replacing traces"
    return mc.plot_alpha_sweep(
        df, "lambda", lambda lam: f"lambda = {lam:g}", EPISODES, title, (170, 300)
    )


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    best = best_alphas(df, "lambda").set_index("lambda")
    top = best["mean"].idxmin()
    return job.report(
        "best steps/episode: best lambda (alpha x 8) vs lambda 0",
        f"{best.loc[top, 'mean']:.0f} at lambda {top:g} ({best.loc[top, 'alpha']:g}) vs "
        f"{best.loc[0.0, 'mean']:.0f}",
        BOOK,
        cut_episodes=int(df["cut"].sum()),
        **{f"best_steps_lambda{lam:g}": float(best.loc[lam, "mean"]) for lam in ALPHAS},
    )


if __name__ == "__main__":
    main()
