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
import mountain_car as mc
import pandas as pd
from mountain_car import best_alphas

from numbarl.approx import control

NAME = "mountain_car_nstep_alpha"
FIGURE = "Figure 10.4"
RUNS = 100
EPISODES = 50
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
    def learn(n: int, alpha: float):
        return control.sarsa_many(
            runs, seed, alpha=alpha, n=n, episodes=EPISODES, max_steps=MAX_STEPS
        )

    return mc.alpha_sweep(ALPHAS, "n", learn, MAX_STEPS)


def plot(df: pd.DataFrame):
    title = "Figure 10.4: n-step semi-gradient Sarsa"
    return mc.plot_alpha_sweep(df, "n", lambda n: f"n = {n}", EPISODES, title, (210, 300))


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    best = best_alphas(df).set_index("n")
    return job.report(
        "best steps/episode (alpha x 8) for n = 1, 2, 4, 8, 16",
        " / ".join(f"{best.loc[n, 'mean']:.0f} ({best.loc[n, 'alpha']:g})" for n in ALPHAS),
        BOOK,
        cut_episodes=int(df["cut"].sum()),
        **{f"best_steps_n{n}": float(best.loc[n, "mean"]) for n in ALPHAS},
    )


if __name__ == "__main__":
    main()
