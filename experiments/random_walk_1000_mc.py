"""Figure 9.1: gradient Monte Carlo with state aggregation on the 1,000-state random walk.

States 1..1000 in 10 groups of 100, alpha = 2e-5, 100,000 episodes, weights 0
(`numbarl.approx.prediction.gradient_mc`). The book shows one run: the approximate value is a
staircase, each step near the mean true value of its group (weighted by the on-policy
distribution mu, which the fixed point of gradient MC minimises; Eq. 9.1), and mu itself.

CSV ``random_walk_1000_mc.csv``: ``run, state, true_value, estimate, mu`` (mu: the share of
visits of each state over the run's episodes; ``mu_exact`` from Eq. 9.2-9.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import common
import numpy as np
import pandas as pd

from numbarl.approx import features, prediction

NAME = "random_walk_1000_mc"
FIGURE = "Figure 9.1"
RUNS = 1
N_STATES = 1000
GROUPS = 10
ALPHA = 2e-5
EPISODES = 100_000
BOOK = "staircase through the group means"


@lru_cache(maxsize=4)
def walk_truth(n_states: int = N_STATES) -> tuple[np.ndarray, np.ndarray]:
    """(v_pi float64[n + 2], mu float64[n + 2]) of the walk (terminal entries 0)."""
    return prediction.random_walk_truth(n_states)


def aggregation(groups: int) -> tuple[np.ndarray, np.ndarray, int]:
    idx, val = features.aggregation_table(N_STATES, groups)
    return idx, val, groups


def group_means(values: np.ndarray, weights: np.ndarray, groups: int) -> np.ndarray:
    """Per group of the 1..n states: the ``weights``-weighted mean of ``values[1:-1]``."""
    v = values[1:-1].reshape(groups, -1)
    w = weights[1:-1].reshape(groups, -1)
    return (v * w).sum(axis=1) / w.sum(axis=1)


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    truth, mu = walk_truth()
    table = aggregation(GROUPS)
    w, _, visits = prediction.evaluate_many(
        "gradient_mc", table, runs, seed, truth, mu, alpha=ALPHA, episodes=EPISODES,
        record_every=EPISODES,
    )  # fmt: skip
    idx = table[0][1:-1, 0]
    states = np.arange(1, N_STATES + 1)
    frames = []
    for r in range(runs):
        frames.append(
            pd.DataFrame(
                {
                    "run": r,
                    "state": states,
                    "true_value": truth[1:-1],
                    "estimate": w[r][idx],
                    "mu": visits[r][1:-1] / visits[r][1:-1].sum(),
                    "mu_exact": mu[1:-1],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def max_gap(df: pd.DataFrame) -> float:
    """Largest |estimate - mu-weighted group mean of the true values| over groups, run 0."""
    one = df[df["run"] == 0]
    est = one["estimate"].to_numpy().reshape(GROUPS, -1)[:, 0]
    truth = np.concatenate([[0.0], one["true_value"], [0.0]])
    mu = np.concatenate([[0.0], one["mu_exact"], [0.0]])
    return float(np.abs(est - group_means(truth, mu, GROUPS)).max())


def plot(df: pd.DataFrame):
    fig, ax = common.new_figure(size=(7.0, 4.8))
    one = df[df["run"] == 0]
    ax.plot(one["state"], one["true_value"], color="tab:red", label="True value v_pi")
    ax.plot(one["state"], one["estimate"], color="tab:blue", label="Approximate MC value v-hat")
    twin = ax.twinx()
    twin.fill_between(one["state"], one["mu"], color="0.6", alpha=0.5, step="mid")
    twin.set_ylabel("State distribution mu")
    twin.set_ylim(0.0, 0.0175)
    common.finish_axes(
        ax, "State", "Value scale", "Figure 9.1: gradient MC, state aggregation", ylim=(-1, 1)
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    gap = max_gap(df)
    return job.report(
        "max |group value - mu-weighted group mean of v_pi|", f"{gap:.3f}", BOOK, max_gap=gap
    )


if __name__ == "__main__":
    main()
