"""Figure 7.2: n-step TD on the 19-state random walk (-1 on leaving left, +1 on leaving right,
start in the middle, initial values 0) for n = 1, 2, 4, ..., 512 and alpha in (0, 1]; the RMS
error over the 19 states, averaged over the first 10 episodes and 100 runs.

Each (n, alpha) is one ``numbarl.tabular.prediction.evaluate_many`` call (100 runs on threads,
the RMS error recorded per episode in compiled code). Every setting sees the same spawned
seeds, so run i walks the same 10 episodes under every (n, alpha) (common random numbers).
CSV: ``n, alpha, run, rms_error`` (mean over the 10 episodes of that run).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from random_walk_td_mc import random_walk

from numbarl.tabular import prediction

NAME = "nstep_td_random_walk"
FIGURE = "Figure 7.2"
RUNS = 100
EPISODES = 10
N_STATES = 19
NS = tuple(2**k for k in range(10))  # 1 .. 512
# alpha = 0 learns nothing; denser below 0.2, where the large-n curves have their minima.
ALPHAS = (0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
BOOK = "intermediate n best (n = 4)"


def sweep(
    method: str,
    settings: Sequence[dict[str, float | int]],
    runs: int,
    seed: int,
    walk: tuple,
) -> pd.DataFrame:
    """One row per (setting, run): the setting's fields, ``run`` and ``rms_error`` (the run's
    RMS error averaged over its `EPISODES` episodes, initial values 0). Every setting uses the
    same ``seed``, so run i sees the same episodes in all of them."""
    mdp, pi, truth = walk
    errors = np.empty((len(settings), runs))
    for i, setting in enumerate(settings):
        res = prediction.evaluate_many(
            method,
            mdp,
            pi,
            0.0,
            runs=runs,
            seed=seed,
            true_values=truth,
            history=False,
            episodes=EPISODES,
            **setting,
        )
        errors[i] = res.rms_error.mean(axis=1)
    frame = pd.DataFrame({k: np.repeat([s[k] for s in settings], runs) for k in settings[0]})
    frame["run"] = np.tile(np.arange(runs), len(settings))
    frame["rms_error"] = errors.ravel()
    return frame


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    walk = random_walk(N_STATES)
    settings = [{"n": n, "alpha": float(a)} for n in NS for a in ALPHAS]
    return sweep("n_step_td", settings, runs, seed, walk)[["n", "alpha", "run", "rms_error"]]


def best_alphas(df: pd.DataFrame, by: str | list[str] = "n") -> pd.DataFrame:
    """Per group of ``by``: the alpha with the lowest mean RMS error, that mean and its standard
    error over runs."""
    return common.best_alphas(df, by, "rms_error")


def alpha_panel(
    ax, df: pd.DataFrame, by: str, label, title: str, n_states: int, episodes: int, **limits
) -> None:
    """The figures of Chapters 7, 9 and 12 on random walks: RMS error (over ``n_states`` states
    and the first ``episodes`` episodes) against alpha, one mean curve per value of ``by``."""
    common.plot_mean_curves(ax, df, "alpha", "rms_error", by, label=label)
    ylabel = f"Average RMS error over {n_states} states and first {episodes} episodes"
    common.finish_axes(ax, "alpha", ylabel, title, ylim=(0.25, 0.55), **limits)


def plot(df: pd.DataFrame):
    fig, ax = common.new_figure(size=(6.5, 4.8))
    title = "Figure 7.2: n-step TD on the 19-state random walk"
    alpha_panel(ax, df, "n", lambda n: f"n = {n}", title, N_STATES, EPISODES, xlim=(0.0, 1.0))
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    best = best_alphas(df)
    top = best.loc[best["mean"].idxmin()]
    return job.report(
        "best n (alpha): mean RMS error",
        f"n = {int(top['n'])} (alpha {top['alpha']:.2f}): {top['mean']:.3f}",
        BOOK,
        best_n=int(top["n"]),
        best_alpha=float(top["alpha"]),
        best_error=float(top["mean"]),
        **{f"best_error_n{int(r.n)}": float(r.mean) for r in best.itertuples()},
    )


if __name__ == "__main__":
    main()
