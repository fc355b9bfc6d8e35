"""Figure 6.5: maximization bias. From state A, right ends the episode with reward 0 and left
moves to B with reward 0; B's 10 actions each end the episode with a reward drawn from
N(-0.1, 1) (``MaximizationBias-v0``). Epsilon-greedy, epsilon = 0.1, alpha = 0.1, gamma = 1,
Q = 0 initially; % of episodes whose first action (from A) is left, over 300 episodes and
10,000 runs, for Q-learning and Double Q-learning (``numbarl.tabular.control`` drivers on
threads via ``numbarl.runs``; both methods see the same spawned seeds).

Left is worse (its expected return is -0.1), so the best an epsilon-greedy policy can do is
choose left with probability epsilon / 2 = 5%. Q-learning's max over B's noisy estimates is
biased upwards and makes left look good for a long time; Double Q-learning is not biased.

CSV ``maximization_bias.csv``: ``algorithm (q_learning|double_q_learning), run, episode, left
(0 or 1)`` (6 million rows with the book's runs, so the constant alpha and epsilon are not
repeated on each; they are `ALPHA` and `EPSILON`).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.envs import TabularMDP, make
from numbarl.tabular import control

NAME = "maximization_bias"
FIGURE = "Figure 6.5"
RUNS = 10_000
EPISODES = 300
ALPHA = 0.1
EPSILON = 0.1
LEFT = 0  # action "left" in state A
ALGORITHMS = ("q_learning", "double_q_learning")
LABELS = {"q_learning": "Q-learning", "double_q_learning": "Double Q-learning"}
OPTIMAL = EPSILON / 2  # the % left of the best epsilon-greedy policy
EARLY = (1, 20)  # episodes (1-based, inclusive): where Q-learning prefers left
LATE = (200, 300)  # episodes where Double Q-learning is close to the 5% floor
# Read from the book's figure: Q-learning well above 5% throughout, Double Q-learning near 5%.
BOOK = "well above 5% / ~5% (figure)"


def left_choices(algorithm: str, runs: int, seed: int, mdp: TabularMDP) -> np.ndarray:
    """int8[runs, EPISODES]: 1 where the episode's first action (in A) was left (``algorithm``
    at `ALPHA`, `EPSILON`)."""
    cfg = control.make_control_config(alpha=ALPHA, epsilon=EPSILON, episodes=EPISODES)
    *_, first_actions, _ = common.control_runs(algorithm, runs, seed, mdp, cfg)
    return (first_actions == LEFT).astype(np.int8)


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """``algorithm, run, episode, left``: one row per episode of every run (alpha and epsilon
    are the module's constants; with 6 million rows they are left out of the CSV)."""
    mdp = make("MaximizationBias-v0")
    left = np.stack([left_choices(a, runs, seed, mdp) for a in ALGORITHMS])
    n = runs * EPISODES
    return pd.DataFrame(
        {
            "algorithm": pd.Categorical.from_codes(
                np.repeat(np.arange(len(ALGORITHMS)), n), categories=list(ALGORITHMS)
            ),
            "run": np.tile(np.repeat(np.arange(runs), EPISODES), len(ALGORITHMS)),
            "episode": np.tile(np.arange(1, EPISODES + 1), runs * len(ALGORITHMS)),
            "left": left.ravel(),
        }
    )


def window_share(df: pd.DataFrame, window: tuple[int, int]) -> pd.DataFrame:
    """Per algorithm and run: the share of left actions over episodes ``window`` (inclusive)."""
    return common.per_run_means(df, "left", ["algorithm"], window)


def plot(df: pd.DataFrame):
    """% left actions from A against episodes, with the 5% optimum, as in the book."""
    fig, ax = common.new_figure(size=(6.5, 4.5))
    for algorithm in ALGORITHMS:
        share = df[df["algorithm"] == algorithm].groupby("episode")["left"].mean()
        ax.plot(share.index, 100.0 * share.to_numpy(), label=LABELS[algorithm])
    ax.axhline(100.0 * OPTIMAL, color="k", linestyle="--", linewidth=1, label="optimal")
    common.finish_axes(
        ax,
        "Episodes",
        "% left actions from A",
        f"Figure 6.5: maximization bias ({df['run'].nunique()} runs)",
        ylim=(0, 100),
        xlim=(1, EPISODES),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    late = window_share(df, LATE).groupby("algorithm", observed=True)["left"].mean()
    early = window_share(df, EARLY).groupby("algorithm", observed=True)["left"].mean()
    peak = df[df["algorithm"] == "q_learning"].groupby("episode")["left"].mean()
    return job.report(
        f"% left from A, episodes {LATE[0]}-{LATE[1]}: Q-learning / Double Q-learning",
        f"{100 * late['q_learning']:.1f}% / {100 * late['double_q_learning']:.1f}%",
        BOOK,
        q_learning_late=float(late["q_learning"]),
        double_q_learning_late=float(late["double_q_learning"]),
        q_learning_early=float(early["q_learning"]),
        double_q_learning_early=float(early["double_q_learning"]),
        q_learning_peak=float(peak.max()),
        q_learning_peak_episode=int(peak.idxmax()),
    )


if __name__ == "__main__":
    main()
