"""Figure 9.5: Fourier against polynomial bases on the 1,000-state random walk.

Gradient MC (`numbarl.approx.prediction.gradient_mc`) with polynomial (x^0..x^n) and Fourier
cosine (cos(i pi x), i = 0..n) bases of orders n = 5, 10 and 20 on the state normalised to
x = s / 1000, the book's step sizes (alpha = 0.0001 for polynomials, 0.00005 for Fourier),
weights 0, 5,000 episodes, 30 runs; the error is sqrt(VE) (Eq. 9.1, weighted by the on-policy
distribution mu), recorded every `EVERY` episodes. Every setting sees the same spawned seeds.

CSV ``random_walk_1000_bases.csv``: ``basis, order, alpha, run, episode, rms_error``
(episode 0: the initial error).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from random_walk_1000_mc import N_STATES, walk_truth

from numbarl.approx import features, prediction

NAME = "random_walk_1000_bases"
FIGURE = "Figure 9.5"
RUNS = 30
EPISODES = 5000
EVERY = 50
ORDERS = (5, 10, 20)
ALPHAS = {"polynomial": 1e-4, "fourier": 5e-5}
TABLES = {"polynomial": features.polynomial_table, "fourier": features.fourier_table}
BOOK = "Fourier below polynomial at every order"


def error_curves(
    label: dict, table: tuple, alpha: float, runs: int, seed: int, episodes: int = EPISODES
) -> pd.DataFrame:
    """Tidy sqrt(VE) curves of gradient MC with ``table``; ``label``: leading columns."""
    truth, mu = walk_truth()
    _, err, _ = prediction.evaluate_many(
        "gradient_mc", table, runs, seed, truth, mu, alpha=alpha, episodes=episodes,
        record_every=EVERY,
    )  # fmt: skip
    initial = float(np.sqrt((mu * truth**2).sum()))  # w = 0
    err = np.hstack([np.full((runs, 1), initial), err])
    k = err.shape[1]
    return pd.DataFrame(
        {
            **label,
            "alpha": alpha,
            "run": np.repeat(np.arange(runs), k),
            "episode": np.tile(np.arange(k) * EVERY, runs),
            "rms_error": err.ravel(),
        }
    )


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    frames = []
    for basis, make in TABLES.items():
        for order in ORDERS:
            idx, val = make(N_STATES, order)
            label = {"basis": basis, "order": order}
            frames.append(error_curves(label, (idx, val, order + 1), ALPHAS[basis], runs, seed))
    return pd.concat(frames, ignore_index=True)


def final_errors(df: pd.DataFrame, last: int = 500) -> pd.DataFrame:
    """Per setting (the label columns and ``alpha`` of `error_curves`' frames) and run: mean
    sqrt(VE) over the last ``last`` episodes."""
    by = [c for c in df.columns if c not in ("run", "episode", "rms_error")]
    end = df["episode"].max()
    return common.per_run_means(df, "rms_error", by, (end - last + 1, end))


def finish_error_axes(ax, df: pd.DataFrame, title: str, top: float):
    """Labels, ``title`` and y limits 0..``top`` of a figure of `error_curves`' curves."""
    ylabel = f"sqrt(VE) averaged over {df['run'].nunique()} runs"
    return common.finish_axes(ax, "Episodes", ylabel, title, ylim=(0.0, top))


def plot(df: pd.DataFrame):
    fig, ax = common.new_figure(size=(6.5, 4.8))
    for basis, style in (("polynomial", "--"), ("fourier", "-")):
        common.plot_mean_curves(
            ax, df[df["basis"] == basis], "episode", "rms_error", "order",
            label=lambda n, b=basis: f"{b.capitalize()} basis, order {n}", linestyle=style,
        )  # fmt: skip
    finish_error_axes(ax, df, "Figure 9.5: Fourier vs polynomial bases (gradient MC)", 0.4)
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    fin = final_errors(df).groupby(["basis", "order"])["rms_error"].mean()
    ours = ", ".join(
        f"{o}: {fin[('fourier', o)]:.3f} / {fin[('polynomial', o)]:.3f}" for o in ORDERS
    )
    return job.report(
        "final sqrt(VE) by order, Fourier / polynomial",
        ours,
        BOOK,
        **{f"final_{b}_{o}": float(fin[(b, o)]) for b in TABLES for o in ORDERS},
    )


if __name__ == "__main__":
    main()
