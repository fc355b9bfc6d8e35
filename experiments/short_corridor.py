"""Example 13.1: the short corridor with switched actions. With the same probability p of
'right' in every state (the features cannot tell the states apart), the value of the start state
J(p) = v_pi(S) is computed exactly (``numbarl.dp.state_values``) on a grid of p.

Exact, so ``--runs`` and ``--seed`` change nothing. CSV: ``p_right, value``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl import dp
from numbarl.envs import make

NAME = "short_corridor"
FIGURE = "Example 13.1"
RUNS = 1
GRID = np.round(np.arange(1, 1000) / 1000.0, 3)  # p = 0.001 .. 0.999
BOOK_P = 0.59
BOOK_VALUE = -11.6
EPSILON = 0.1  # the book's epsilon-greedy markers: p = epsilon / 2 and 1 - epsilon / 2


def start_value(mdp, p: float) -> float:
    """v_pi(start) for pi(right | s) = p in every state."""
    pi = np.zeros((mdp.n_states, mdp.n_actions))
    pi[:, 0] = 1.0 - p
    pi[:, 1] = p
    return float(dp.state_values(mdp, pi, gamma=1.0) @ mdp.start)


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """J(p) on `GRID`. ``runs`` and ``seed`` are unused (exact)."""
    mdp = make("ShortCorridor-v0")
    return pd.DataFrame({"p_right": GRID, "value": [start_value(mdp, float(p)) for p in GRID]})


def plot(df: pd.DataFrame):
    """J(p) against p with the optimum and the two epsilon-greedy policies marked, as in the
    book's figure."""
    fig, ax = common.new_figure(size=(6.0, 4.0))
    ax.plot(df["p_right"], df["value"], color="black", label="J(p) = v(start)")
    best = df.loc[df["value"].idxmax()]
    ax.plot(best["p_right"], best["value"], "o", color="tab:red", label="optimal stochastic")
    mdp = make("ShortCorridor-v0")
    for p, text in (
        (EPSILON / 2, "epsilon-greedy left"),
        (1 - EPSILON / 2, "epsilon-greedy right"),
    ):
        ax.plot(p, start_value(mdp, p), "s", label=f"{text} ({start_value(mdp, p):.1f})")
    ax.axhline(best["value"], color="tab:red", linestyle=":", linewidth=1)
    common.finish_axes(
        ax,
        "Probability of right action",
        "J(theta) = value of the start state",
        "Example 13.1: short corridor with switched actions",
        ylim=(-100, 0),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    best = df.loc[df["value"].idxmax()]
    return job.report(
        "best p(right), its start value",
        f"{best['p_right']:.2f}, {best['value']:.2f}",
        f"{BOOK_P}, {BOOK_VALUE}",
        p_right=float(best["p_right"]),
        value=float(best["value"]),
    )


if __name__ == "__main__":
    main()
