"""Figures 3.2 and 3.5: the 5x5 gridworld of Example 3.5 (special states A -> A' with +10,
B -> B' with +5, -1 for bumping into the edge), gamma 0.9.

Figure 3.2: the state values of the equiprobable random policy, solved exactly
(``numbarl.dp.state_values``, a linear solve). Figure 3.5: the optimal values by value iteration
(``numbarl.dp.value_iteration`` to a change below 1e-12) and the optimal policy: every action
whose value is within 1e-9 of the best (the book draws all of them). Exact, so ``--runs`` and
``--seed`` change nothing. The MDP is ``numbarl.envs.book.gridworld_5x5()`` (states row-major,
row 0 at the top; actions 0 up, 1 right, 2 down, 3 left).

CSV ``gridworld_5x5.csv``: ``policy (random|optimal), row, col, value, actions`` where
``actions`` lists the optimal policy's actions in the cell (empty for the random policy).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl import dp
from numbarl.envs.book import gridworld_5x5
from numbarl.tabular.policies import uniform_policy

NAME = "gridworld_5x5"
FIGURE = "Figures 3.2, 3.5"
RUNS = 1
GAMMA = 0.9
SIZE = 5
TIE_TOL = 1e-9
ACTION_NAMES = ("up", "right", "down", "left")
ARROWS = {"up": (0.0, 0.3), "right": (0.3, 0.0), "down": (0.0, -0.3), "left": (-0.3, 0.0)}
BOOK_RANDOM_TOP = (3.3, 8.8, 4.4, 5.3, 1.5)
BOOK_OPTIMAL_TOP = (22.0, 24.4, 22.0, 19.4, 17.5)


def solve() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(v_random float64[5, 5], v_star float64[5, 5], optimal actions bool[5, 5, 4])."""
    mdp = gridworld_5x5()
    v_random = dp.state_values(mdp, uniform_policy(mdp), gamma=GAMMA)
    v_star, _ = dp.value_iteration(mdp, gamma=GAMMA, theta=1e-12)
    q = dp.q_from_v(mdp, v_star, gamma=GAMMA)
    best = q >= q.max(axis=1, keepdims=True) - TIE_TOL
    return v_random.reshape(SIZE, SIZE), v_star.reshape(SIZE, SIZE), best.reshape(SIZE, SIZE, 4)


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """Both figures as one tidy table. ``runs`` and ``seed`` are unused (exact)."""
    v_random, v_star, best = solve()
    rows, cols = np.divmod(np.arange(SIZE * SIZE), SIZE)
    actions = [
        "|".join(n for n, b in zip(ACTION_NAMES, best[r, c], strict=True) if b)
        for r, c in zip(rows, cols, strict=True)
    ]
    random = pd.DataFrame(
        {"policy": "random", "row": rows, "col": cols, "value": v_random.ravel(), "actions": ""}
    )
    optimal = pd.DataFrame(
        {"policy": "optimal", "row": rows, "col": cols, "value": v_star.ravel(), "actions": actions}
    )
    return pd.concat([random, optimal], ignore_index=True)


def _value_grid(ax, values: np.ndarray, title: str) -> None:
    ax.imshow(values, cmap="Greys", alpha=0.25)
    for r in range(SIZE):
        for c in range(SIZE):
            ax.text(c, r, f"{values[r, c]:.1f}", ha="center", va="center", fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)


def plot(df: pd.DataFrame):
    """The random policy's values (Figure 3.2), v* and pi* (Figure 3.5), as the book's grids."""
    fig, (left, middle, right) = common.new_figure(ncols=3, size=(4.2, 4.2))
    grid = {p: df[df["policy"] == p] for p in ("random", "optimal")}
    _value_grid(
        left, grid["random"]["value"].to_numpy().reshape(SIZE, SIZE), "Figure 3.2: v_random"
    )
    _value_grid(middle, grid["optimal"]["value"].to_numpy().reshape(SIZE, SIZE), "Figure 3.5: v*")
    right.set_xlim(-0.5, SIZE - 0.5)
    right.set_ylim(SIZE - 0.5, -0.5)
    for _, cell in grid["optimal"].iterrows():
        for name in cell["actions"].split("|"):
            dx, dy = ARROWS[name]
            right.arrow(
                cell["col"],
                cell["row"],
                dx,
                -dy,
                head_width=0.08,
                length_includes_head=True,
                color="black",
            )
    for k in range(SIZE + 1):
        right.axhline(k - 0.5, color="grey", linewidth=0.5)
        right.axvline(k - 0.5, color="grey", linewidth=0.5)
    right.set_xticks([])
    right.set_yticks([])
    right.set_aspect("equal")
    right.set_title("Figure 3.5: pi*")
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    top = {
        p: df[(df["policy"] == p) & (df["row"] == 0)]["value"].to_numpy()
        for p in ("random", "optimal")
    }
    return job.report(
        "top row: random policy; optimal",
        " ".join(f"{x:.1f}" for x in top["random"])
        + "; "
        + " ".join(f"{x:.1f}" for x in top["optimal"]),
        " ".join(map(str, BOOK_RANDOM_TOP)) + "; " + " ".join(map(str, BOOK_OPTIMAL_TOP)),
    )


if __name__ == "__main__":
    main()
