"""Example 6.6 / Figure 6.4: Sarsa, Q-learning and Expected Sarsa on the cliff walk (4x12,
Gymnasium's CliffWalking-v1: -1 per step, -100 and back to the start for the cliff), epsilon =
0.1, alpha = 0.5, gamma = 1, Q = 0 initially; sum of rewards per episode over 500 episodes,
averaged over runs (``numbarl.tabular.control`` drivers on threads via ``numbarl.runs``).

Every algorithm sees the same spawned seeds. The book's figure does not state its number of
runs and is smoothed; the default `RUNS` = 50 is the book's reference code's, and the plot shows
the run average with a `SMOOTH`-episode moving average (the CSV keeps the raw returns). The book's
point: Q-learning learns the optimal path along the cliff edge, but with epsilon-greedy
exploration it falls off now and then, so its online return is worse than Sarsa's safer path.

CSV ``cliff_walking.csv``: ``algorithm (sarsa|q_learning|expected_sarsa), run, episode, return,
alpha, epsilon``; ``cliff_walking_paths.csv``: ``algorithm, step, row, col``, the greedy path of
run 0 after the last episode (upper panel of the book's figure).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from numbarl.envs import TabularMDP, make
from numbarl.tabular import control

NAME = "cliff_walking"
FIGURE = "Example 6.6"
RUNS = 50
EPISODES = 500
ALPHA = 0.5
EPSILON = 0.1
SHAPE = (4, 12)
ALGORITHMS = ("sarsa", "q_learning", "expected_sarsa")
LABELS = {"sarsa": "Sarsa", "q_learning": "Q-learning", "expected_sarsa": "Expected Sarsa"}
SMOOTH = 10  # episodes in the plot's moving average
WINDOW = (100, EPISODES)  # episodes (1-based, inclusive) of the key number: after learning
# Read from the book's figure (smoothed): Sarsa about -25, Q-learning about -50.
BOOK = "~-25 / ~-50 / - (figure)"
PATH_CAP = 100  # a greedy path longer than this is cut (it loops)


def learn(algorithm: str, runs: int, seed: int, mdp: TabularMDP) -> tuple[np.ndarray, np.ndarray]:
    """(returns float64[runs, EPISODES], q of run 0 float64[S, A]) of ``algorithm`` at `ALPHA`,
    `EPSILON`."""
    cfg = control.make_control_config(alpha=ALPHA, epsilon=EPSILON, episodes=EPISODES)
    q, returns, *_ = common.control_runs(algorithm, runs, seed, mdp, cfg)
    return returns, q[0]


def run(runs: int = RUNS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(returns per algorithm, run and episode; greedy paths of run 0)."""
    mdp = make("CliffWalking-v1")
    curves, paths = [], []
    for algorithm in ALGORITHMS:
        returns, q0 = learn(algorithm, runs, seed, mdp)
        curves.append(
            common.per_run_frame(returns, "return", algorithm=algorithm).assign(
                alpha=ALPHA, epsilon=EPSILON
            )
        )
        states = np.array(common.greedy_path(mdp, q0, PATH_CAP))
        rows, cols = np.divmod(states, SHAPE[1])
        paths.append(
            pd.DataFrame(
                {"algorithm": algorithm, "step": np.arange(len(states)), "row": rows, "col": cols}
            )
        )
    return pd.concat(curves, ignore_index=True), pd.concat(paths, ignore_index=True)


def window_means(curves: pd.DataFrame, window: tuple[int, int] = WINDOW) -> pd.DataFrame:
    """Per algorithm and run: the mean return over episodes ``window`` (inclusive)."""
    return common.per_run_means(curves, "return", ["algorithm"], window)


def plot(curves: pd.DataFrame, paths: pd.DataFrame):
    """Upper panel: the grid, the cliff and each method's greedy path (run 0); lower panel: the
    sum of rewards per episode, averaged over runs and smoothed, as in the book."""
    fig, (top, bottom) = common.new_figure(nrows=2, size=(7.0, 3.6))
    rows, cols = SHAPE
    top.add_patch(Rectangle((0.5, rows - 1.5), cols - 2, 1, color="0.75", label="The Cliff"))
    for k, algorithm in enumerate(ALGORITHMS):
        p = paths[paths["algorithm"] == algorithm]
        offset = (k - 1) * 0.08
        top.plot(p["col"] + offset, p["row"] + offset, marker=".", label=LABELS[algorithm])
    top.text(0, rows - 1, "S", ha="center", va="center", fontweight="bold")
    top.text(cols - 1, rows - 1, "G", ha="center", va="center", fontweight="bold")
    top.set_xlim(-0.5, cols - 0.5)
    top.set_ylim(rows - 0.5, -0.5)
    top.set_xticks(range(cols))
    top.set_yticks(range(rows))
    top.set_aspect("equal")
    common.finish_axes(
        top, "column", "row", "Greedy paths after 500 episodes (run 0)", legend=False
    )
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    n_runs = curves["run"].nunique()
    for algorithm in ALGORITHMS:
        mean = (
            curves[curves["algorithm"] == algorithm]
            .groupby("episode")["return"]
            .mean()
            .rolling(SMOOTH, min_periods=1)
            .mean()
        )
        bottom.plot(mean.index, mean.to_numpy(), label=LABELS[algorithm])
    common.finish_axes(
        bottom,
        "Episodes",
        "Sum of rewards during episode",
        f"Example 6.6, eps = {EPSILON}, alpha = {ALPHA}: {n_runs} runs, {SMOOTH}-episode average",
        ylim=(-100, 0),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    curves, paths = job.result
    job.write(paths, None, suffix="_paths")
    means = window_means(curves).groupby("algorithm")["return"].mean()
    path_steps = paths.groupby("algorithm")["step"].max()
    return job.report(
        f"mean return, episodes {WINDOW[0]}-{WINDOW[1]}: Sarsa / Q-learning / Expected Sarsa",
        " / ".join(f"{means[a]:.1f}" for a in ALGORITHMS),
        BOOK,
        **{f"{a}_return": float(means[a]) for a in ALGORITHMS},
        **{f"{a}_greedy_steps": int(path_steps[a]) for a in ALGORITHMS},
    )


if __name__ == "__main__":
    main()
