"""Figure 8.2: Dyna-Q on the Dyna maze (6x9, the book's walls, start (2, 0), goal (0, 8), +1
on reaching the goal, else 0), gamma = 0.95, epsilon = 0.1, alpha = 0.1, Q = 0 initially, with
0, 5 and 50 planning steps per real step; steps per episode over 50 episodes, averaged over 30
runs (``numbarl.tabular.planning.run_dyna`` on threads via ``numbarl.runs``). Every planning
setting sees the same spawned seeds. Ties in the greedy choice are broken at random.

The book: without planning the agent needs about 25 episodes to reach (epsilon-)optimal
performance, with n = 5 about 5 and with n = 50 only 3. The key number is, per setting, the
first episode whose run-averaged length is within `WITHIN` of the final level (the mean length
over episodes 41-50, pooled over the settings); the greedy path after 50 episodes is the 14-step
optimum.

CSV ``dyna_maze.csv``: ``planning_steps, run, episode, steps, alpha, epsilon, gamma``;
``dyna_maze_greedy.csv``: ``planning_steps, run, greedy_steps`` (the greedy path's length after
the last episode, -1 if it does not reach the goal).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.runs import run_many
from numbarl.tabular import planning

NAME = "dyna_maze"
FIGURE = "Figure 8.2"
RUNS = 30
EPISODES = 50
PLANNING_STEPS = (0, 5, 50)
ALPHA = 0.1
EPSILON = 0.1
GAMMA = 0.95
OPTIMAL = 14
WITHIN = 1.1  # "reached" when the average length is within 10% of the final level
BOOK_EPISODES = {0: 25, 5: 5, 50: 3}


def maze() -> planning.Maze:
    return planning.maze_from_text(planning.DYNA_MAZE)


def run(runs: int = RUNS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(steps per episode per setting and run; greedy path length after the last episode)."""
    m = maze()
    curves, greedy = [], []
    for n in PLANNING_STEPS:
        cfg = planning.make_dyna_config(
            alpha=ALPHA, gamma=GAMMA, epsilon=EPSILON, planning_steps=n, episodes=EPISODES
        )
        q, lengths, _, n_done, _ = run_many(planning.run_dyna, runs, seed, m, m, -1, cfg)
        if np.any(n_done != EPISODES):
            raise RuntimeError(f"Dyna-Q with n = {n} did not finish {EPISODES} episodes")
        curves.append(
            common.per_run_frame(lengths, "steps", planning_steps=n).assign(
                alpha=ALPHA, epsilon=EPSILON, gamma=GAMMA
            )
        )
        paths = [planning.greedy_path_length(q[i], m, 10 * OPTIMAL) for i in range(runs)]
        greedy.append(
            pd.DataFrame({"planning_steps": n, "run": np.arange(runs), "greedy_steps": paths})
        )
    return pd.concat(curves, ignore_index=True), pd.concat(greedy, ignore_index=True)


def episodes_to_reach(curves: pd.DataFrame) -> dict[int, int]:
    """Per planning setting: the first episode whose run-averaged length is within `WITHIN` of
    the final level (mean over episodes 41-50 of every setting)."""
    mean = curves.groupby(["planning_steps", "episode"])["steps"].mean()
    final = curves[curves["episode"] > EPISODES - 10]["steps"].mean()
    out = {}
    for n in PLANNING_STEPS:
        m = mean.loc[n]
        ok = m[m <= WITHIN * final]
        out[n] = int(ok.index[0]) if len(ok) else -1
    return out


def plot(curves: pd.DataFrame):
    """Steps per episode against episodes 2-50 (run average), as in the book."""
    fig, ax = common.new_figure(size=(6.5, 4.5))
    later = curves[curves["episode"] >= 2]
    common.plot_mean_curves(
        ax, later, "episode", "steps", "planning_steps", label=lambda n: f"{n} planning steps"
    )
    ax.axhline(OPTIMAL, color="0.5", linewidth=0.8, linestyle=":")
    n_runs = curves["run"].nunique()
    common.finish_axes(
        ax,
        "Episodes",
        "Steps per episode",
        f"Figure 8.2: Dyna-Q on the Dyna maze ({n_runs} runs)",
        ylim=(0, 800),
        xlim=(2, EPISODES),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__)
    curves, greedy = job.result
    job.write(curves, plot(curves))
    job.write(greedy, None, suffix="_greedy")
    reach = episodes_to_reach(curves)
    second = curves[curves["episode"] == 2].groupby("planning_steps")["steps"].mean()
    share = float((greedy["greedy_steps"] == OPTIMAL).mean())
    return job.report(
        "episodes to reach the final level, n = 0 / 5 / 50",
        " / ".join(str(reach[n]) for n in PLANNING_STEPS),
        " / ".join(f"~{BOOK_EPISODES[n]}" for n in PLANNING_STEPS),
        **{f"episode2_steps_n{n}": float(second[n]) for n in PLANNING_STEPS},
        **{f"episodes_to_reach_n{n}": reach[n] for n in PLANNING_STEPS},
        share_greedy_optimal=share,
    )


if __name__ == "__main__":
    main()
