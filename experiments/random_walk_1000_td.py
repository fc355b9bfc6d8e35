"""Figure 9.2: semi-gradient TD with state aggregation on the 1,000-state random walk.

Left: semi-gradient TD(0) with the 10 groups of Figure 9.1, 100,000 episodes, one run; its
values are worse than gradient MC's (TD's fixed point is within the bound of Eq. 9.14 only).
The book does not give this panel's alpha; we use 2e-4 (that of the reference code of the
figures; with 2e-5, 100,000 episodes do not reach the fixed point). Right: n-step semi-gradient
TD with 20 groups of 50 states, RMS error over the 1,000 states averaged over the first 10
episodes and 100 runs, against alpha, for n = 1, 2, 4, ..., 512 (the grids `NS` and `ALPHAS` of
Figure 7.2). Every setting sees the same spawned seeds.

CSV ``random_walk_1000_td.csv`` (right): ``n, alpha, run, rms_error``;
``random_walk_1000_td_values.csv`` (left): ``state, true_value, estimate``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from nstep_td_random_walk import ALPHAS, NS, alpha_panel, best_alphas
from random_walk_1000_mc import N_STATES, aggregation, walk_truth

from numbarl.approx import prediction

NAME = "random_walk_1000_td"
FIGURE = "Figure 9.2"
RUNS = 100
LEFT_GROUPS = 10
LEFT_ALPHA = 2e-4
LEFT_EPISODES = 100_000
GROUPS = 20
EPISODES = 10
BOOK = "an intermediate n is best, as in Figure 7.2"


def left_panel(seed: int) -> pd.DataFrame:
    truth, mu = walk_truth()
    table = aggregation(LEFT_GROUPS)
    w, _, _ = prediction.evaluate_many(
        "semi_gradient_td", table, 1, seed, truth, mu, alpha=LEFT_ALPHA, n=1,
        episodes=LEFT_EPISODES, record_every=LEFT_EPISODES,
    )  # fmt: skip
    idx = table[0][1:-1, 0]
    return pd.DataFrame(
        {"state": np.arange(1, N_STATES + 1), "true_value": truth[1:-1], "estimate": w[0][idx]}
    )


def right_panel(runs: int, seed: int) -> pd.DataFrame:
    truth, _ = walk_truth()
    uniform = np.zeros(N_STATES + 2)
    uniform[1:-1] = 1.0 / N_STATES
    table = aggregation(GROUPS)
    frames = []
    for n in NS:
        for alpha in ALPHAS:
            _, err, _ = prediction.evaluate_many(
                "semi_gradient_td", table, runs, seed, truth, uniform, alpha=alpha, n=n,
                episodes=EPISODES, record_every=1,
            )  # fmt: skip
            frames.append(
                pd.DataFrame(
                    {"n": n, "alpha": alpha, "run": np.arange(runs), "rms_error": err.mean(axis=1)}
                )
            )
    return pd.concat(frames, ignore_index=True)


def run(runs: int = RUNS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(right panel, left panel)."""
    return right_panel(runs, seed), left_panel(seed)


def plot(right: pd.DataFrame, left: pd.DataFrame):
    fig, (ax_l, ax_r) = common.new_figure(ncols=2, size=(6.0, 4.6))
    ax_l.plot(left["state"], left["true_value"], color="tab:red", label="True value v_pi")
    ax_l.plot(left["state"], left["estimate"], color="tab:blue", label="Approximate TD value")
    common.finish_axes(
        ax_l, "State", "Value", "Figure 9.2 left: semi-gradient TD(0)", ylim=(-1.0, 1.0)
    )
    title = "Figure 9.2 right: n-step semi-gradient TD"
    alpha_panel(ax_r, right, "n", lambda n: f"n = {n}", title, N_STATES, EPISODES)
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    right, left = job.result
    job.write(left, None, suffix="_values")
    best = best_alphas(right)
    top = best.loc[best["mean"].idxmin()]
    n1 = best.loc[best["n"] == 1, "mean"].item()
    return job.report(
        "best n (alpha): RMS error, vs n = 1",
        f"n = {int(top['n'])} ({top['alpha']:g}): {top['mean']:.3f} vs {n1:.3f}",
        BOOK,
        best_n=int(top["n"]),
        best_error=float(top["mean"]),
        n1_error=float(n1),
    )


if __name__ == "__main__":
    main()
