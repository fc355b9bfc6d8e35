"""Example 8.4: prioritized sweeping against Dyna-Q on Dyna mazes of increasing resolution:
updates until the optimal solution is found. The Dyna maze (Figure 8.2) with each cell split
into ``r x c`` cells, the factors doubling in turn, so the mazes have 47, 94, 188, ..., 6,016
free cells, the book's axis; the start is the top-left cell of the start's block and the goal
the top-right cell of the goal's block. Both methods make at most n = 5 updates per real step
(the book), with gamma = 0.95 and epsilon = 0.1.

Not in the book, chosen and stated here:
- alpha = 1 for both (the mazes are deterministic; with alpha = 0.5, as in the book's
  reference code, prioritized sweeping gains only 2-5x);
- theta = 1e-10: values at the far end of the largest maze are about 0.95^190 ~ 6e-5, so the
  reference code's theta = 1e-4 would never queue them and the sweep would stop short;
- "optimal solution found" is checked after every episode, as the greedy path from the start
  (first action on ties) reaching the goal within `TOLERANCE` x the shortest path (the
  reference code's relaxed criterion; the exact optimum can need thousands of episodes of
  epsilon-greedy exploration of the last untried shortcut);
- updates count every Q update, real and planned (prioritized sweeping updates Q only while
  planning);
- `RUNS` = 10 runs per size (the reference code: 5).

CSV ``prioritized_sweeping.csv``: ``algorithm (dyna_q|prioritized_sweeping), states,
row_factor, col_factor, run, updates, episodes, optimal_steps, solved``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.runs import run_many
from numbarl.tabular import planning

NAME = "prioritized_sweeping"
FIGURE = "Example 8.4"
RUNS = 10
FACTORS = ((1, 1), (1, 2), (2, 2), (2, 4), (4, 4), (4, 8), (8, 8), (8, 16))
# Both methods' settings (see above); prioritized sweeping adds its queue threshold THETA.
SETTINGS = dict(alpha=1.0, gamma=0.95, epsilon=0.1, planning_steps=5, episodes=100_000)
THETA = 1e-10
TOLERANCE = 1.2
ALGORITHMS = ("dyna_q", "prioritized_sweeping")
LABELS = {"dyna_q": "Dyna-Q", "prioritized_sweeping": "Prioritized sweeping"}
BOOK = "5-10x (text)"


def run(runs: int = RUNS, seed: int = 0, factors=None) -> pd.DataFrame:
    """Updates until the greedy path is within `TOLERANCE` of optimal, per size, method, run."""
    frames = []
    for fr, fc in FACTORS if factors is None else factors:
        maze = planning.maze_from_text(planning.DYNA_MAZE, fr, fc)
        optimal = planning.shortest_path_length(maze)
        stop = int(TOLERANCE * optimal)
        states = int(47 * fr * fc)
        dyna_cfg = planning.make_dyna_config(**SETTINGS, stop_path=stop)
        ps_cfg = planning.make_prioritized_sweeping_config(**SETTINGS, theta=THETA, stop_path=stop)
        q, _, _, dn, du = run_many(planning.run_dyna, runs, seed, maze, maze, -1, dyna_cfg)
        qp, _, pn, pu = run_many(planning.run_prioritized_sweeping, runs, seed, maze, ps_cfg)
        for algorithm, qs, episodes, updates in (
            ("dyna_q", q, dn, du),
            ("prioritized_sweeping", qp, pn, pu),
        ):
            solved = [planning.greedy_path_length(qs[i], maze, stop) >= 0 for i in range(runs)]
            frames.append(
                pd.DataFrame(
                    {
                        "algorithm": algorithm,
                        "states": states,
                        "row_factor": fr,
                        "col_factor": fc,
                        "run": np.arange(runs),
                        "updates": updates,
                        "episodes": episodes,
                        "optimal_steps": optimal,
                        "solved": np.array(solved),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def speedups(df: pd.DataFrame) -> pd.Series:
    """Per size: Dyna-Q's median updates over prioritized sweeping's."""
    med = df.groupby(["states", "algorithm"])["updates"].median().unstack()
    return med["dyna_q"] / med["prioritized_sweeping"]


def plot(df: pd.DataFrame):
    """Updates until the (relaxed) optimal solution against maze size, log scale, as in the
    book: the median over runs with the interquartile range."""
    fig, ax = common.new_figure(size=(6.5, 4.5))
    for algorithm in ALGORITHMS:
        g = df[df["algorithm"] == algorithm].groupby("states")["updates"]
        med, lo, hi = g.median(), g.quantile(0.25), g.quantile(0.75)
        (line,) = ax.plot(med.index, med.to_numpy(), marker="o", label=LABELS[algorithm])
        ax.fill_between(med.index, lo.to_numpy(), hi.to_numpy(), color=line.get_color(), alpha=0.2)
    ax.set_yscale("log")
    ax.set_xscale("log", base=2)
    sizes = sorted(df["states"].unique())
    ax.set_xticks(sizes, [str(s) for s in sizes])
    n, n_runs = SETTINGS["planning_steps"], df["run"].nunique()
    common.finish_axes(
        ax,
        "Gridworld size (#states)",
        "Updates until optimal solution",
        f"Example 8.4: n = {n} updates per step ({n_runs} runs, median, IQR)",
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    speed = speedups(df)
    return job.report(
        "Dyna-Q / prioritized sweeping updates (median), smallest .. largest maze",
        f"{speed.iloc[0]:.0f}x .. {speed.iloc[-1]:.0f}x",
        BOOK,
        share_solved=float(df["solved"].mean()),
        **{f"speedup_{int(k)}": float(v) for k, v in speed.items()},
    )


if __name__ == "__main__":
    main()
