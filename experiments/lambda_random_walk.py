"""Figures 12.3, 12.6 and 12.8: the offline lambda-return algorithm, TD(lambda) (accumulating
traces) and true online TD(lambda) on the 19-state random walk of Figure 7.2, for lambda in
{0, 0.4, 0.8, 0.9, 0.95, 0.975, 0.99, 1}; RMS error over the 19 states averaged over the first
10 episodes and 100 runs, against alpha.

Each lambda has its own alpha grid (`ALPHAS`), spanning the range the book plots for it (the
curves leave the figure's 0.55 ceiling beyond it; TD(lambda) with large lambda and alpha
diverges). Each (algorithm, lambda, alpha) is one ``numbarl.tabular.prediction.evaluate_many``
call with RMS recording in compiled code; every setting sees the same spawned seeds (common
random numbers). CSV: ``algorithm, lambda, alpha, run, rms_error``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from nstep_td_random_walk import EPISODES, N_STATES, alpha_panel, best_alphas, sweep
from random_walk_td_mc import random_walk

NAME = "lambda_random_walk"
FIGURE = "Figures 12.3, 12.6, 12.8"
RUNS = 100
LAMBDAS = (0.0, 0.4, 0.8, 0.9, 0.95, 0.975, 0.99, 1.0)
ALGORITHMS = {
    "lambda_return": "Figure 12.3: offline lambda-return",
    "td_lambda": "Figure 12.6: TD(lambda)",
    "true_online_td_lambda": "Figure 12.8: true online TD(lambda)",
}


def _grid(top: float) -> tuple[float, ...]:
    """10 step sizes top/10, 2 top/10, ..., top."""
    return tuple(float(x) for x in np.round(np.arange(1, 11) * top / 10.0, 6))


# The largest alpha per lambda, in LAMBDAS order: how far each of the book's curves is drawn.
_TOPS = {
    "lambda_return": (1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.2, 0.1),
    "td_lambda": (1.0, 1.0, 0.9, 0.5, 0.3, 0.2, 0.1, 0.04),
    "true_online_td_lambda": (1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.4, 0.1),
}
ALPHAS: dict[str, dict[float, tuple[float, ...]]] = {
    alg: {lam: _grid(top) for lam, top in zip(LAMBDAS, tops, strict=True)}
    for alg, tops in _TOPS.items()
}
BOOK = "intermediate lambda best"


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    walk = random_walk(N_STATES)
    frames = []
    for algorithm, grids in ALPHAS.items():
        settings = [{"lam": lam, "alpha": a} for lam, alphas in grids.items() for a in alphas]
        frame = sweep(algorithm, settings, runs, seed, walk)
        frame.insert(0, "algorithm", algorithm)
        frames.append(frame)
    df = pd.concat(frames, ignore_index=True).rename(columns={"lam": "lambda"})
    return df[["algorithm", "lambda", "alpha", "run", "rms_error"]]


def plot(df: pd.DataFrame):
    fig, axes = common.new_figure(ncols=3, size=(5.0, 4.2))
    label = "lambda = {:g}".format
    for ax, (algorithm, title) in zip(axes, ALGORITHMS.items(), strict=True):
        sub = df[df["algorithm"] == algorithm]
        alpha_panel(ax, sub, "lambda", label, title, N_STATES, EPISODES, xlim=(0.0, 1.0))
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    best = best_alphas(df, ["algorithm", "lambda"])
    tops = best.loc[best.groupby("algorithm", sort=False)["mean"].idxmin()].set_index("algorithm")
    tops = tops.loc[list(ALGORITHMS)]
    errors = " / ".join(f"{m:.3f}" for m in tops["mean"])
    lambdas = " / ".join(f"{lam:g}" for lam in tops["lambda"])
    extra = {
        f"best_error_{alg}_lambda{lam:g}": float(m)
        for alg, lam, m in zip(best["algorithm"], best["lambda"], best["mean"], strict=True)
    }
    return job.report(
        "best error (lambda): offline lambda-return / TD(lambda) / true online",
        f"{errors} ({lambdas})",
        BOOK,
        **extra,
    )


if __name__ == "__main__":
    main()
