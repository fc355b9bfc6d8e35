"""Figure 4.1: iterative policy evaluation of the equiprobable random policy on the 4x4
gridworld (Example 4.1), synchronous sweeps k = 0, 1, 2, 3, 10 and the converged values.

Exact DP (``numbarl.dp.policy_evaluation``), so ``--runs`` and ``--seed`` change nothing.
CSV: ``sweeps, row, col, value`` (``sweeps`` -1 marks the converged values); PNG: the value
grids beside the book's.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl import dp
from numbarl.envs import make
from numbarl.tabular.policies import uniform_policy

NAME = "gridworld_policy_evaluation"
FIGURE = "Figure 4.1"
RUNS = 1
SIZE = 4
SWEEPS = (0, 1, 2, 3, 10)
CONVERGED = -1  # the ``sweeps`` value of the converged snapshot
# The book's converged values, row by row.
BOOK_VALUES = np.array(
    [[0, -14, -20, -22], [-14, -18, -20, -20], [-20, -20, -18, -14], [-22, -20, -14, 0]],
    dtype=np.float64,
)


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """Values after each of `SWEEPS` synchronous sweeps and at convergence (theta = 1e-12).
    ``runs`` and ``seed`` are accepted for the common interface and unused (exact DP)."""
    mdp = make("Gridworld4x4-v0")
    pi = uniform_policy(mdp)
    frames = []
    for k in (*SWEEPS, CONVERGED):
        if k == CONVERGED:
            v, _ = dp.policy_evaluation(mdp, pi, theta=1e-12, in_place=False)
        else:
            v, _ = dp.policy_evaluation(mdp, pi, theta=0.0, max_sweeps=k, in_place=False)
        rows, cols = np.divmod(np.arange(SIZE * SIZE), SIZE)
        frames.append(pd.DataFrame({"sweeps": k, "row": rows, "col": cols, "value": v}))
    return pd.concat(frames, ignore_index=True)


def converged_grid(df: pd.DataFrame) -> np.ndarray:
    """The converged values as a float64[4, 4] grid."""
    final = df[df["sweeps"] == CONVERGED].sort_values(["row", "col"])
    return final["value"].to_numpy().reshape(SIZE, SIZE)


def plot(df: pd.DataFrame):
    """One panel per snapshot: the grid of values, annotated like the book's figure."""
    snaps = [*SWEEPS, CONVERGED]
    fig, axes = common.new_figure(ncols=len(snaps), size=(2.6, 2.9))
    for ax, k in zip(axes, snaps, strict=True):
        sub = df[df["sweeps"] == k].sort_values(["row", "col"])
        grid = sub["value"].to_numpy().reshape(SIZE, SIZE)
        ax.imshow(grid, cmap="Blues_r", vmin=-24, vmax=0)
        for (r, c), value in np.ndenumerate(grid):
            text = f"{value:.0f}" if k == CONVERGED else f"{value:.1f}"
            color = "white" if value < -12 else "black"
            ax.text(c, r, text, ha="center", va="center", fontsize=8, color=color)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("k = inf" if k == CONVERGED else f"k = {k}")
    fig.suptitle("Figure 4.1: v_k for the random policy on the 4x4 gridworld")
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    grid = converged_grid(df)
    err = float(np.max(np.abs(grid - BOOK_VALUES)))
    return job.report(
        "converged values, top row",
        "/".join(f"{x:.0f}" for x in grid[0]),
        "/".join(f"{x:.0f}" for x in BOOK_VALUES[0]),
        max_abs_error=err,
    )


if __name__ == "__main__":
    main()
