"""Example 5.5 / Figure 5.4: infinite variance of ordinary importance sampling.

One non-terminal state s (0) and a terminal state (1). Action 1 (right) ends the episode with
reward 0; action 0 (left) returns to s with probability 0.9 (reward 0) or ends with +1 with
probability 0.1. The target policy always goes left, so v_pi(s) = 1; the behaviour policy picks
either action with probability 1/2. An episode that goes left T times and then ends has
importance ratio 2^T and return 1, any episode that goes right has ratio 0, and the ratio-scaled
return has mean 1 but infinite variance (E[(rho G)^2] = sum_T 0.05 * 0.45^(T-1) * 4^T diverges),
so the ordinary estimate wanders instead of settling.

First-visit off-policy MC prediction (``numbarl.tabular.off_policy.run_off_policy_prediction``,
compiled) gives the ordinary (and weighted) importance-sampling estimate of v(s) after each of
100,000 episodes; ten independent runs on threads via ``numbarl.runs`` (the book's ten).

CSV ``infinite_variance.csv``: ``run, episode, ordinary, weighted`` at about 400 episodes spread
evenly on a log scale from 1 to 100,000 (the figure's axis).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.envs.tabular import TabularMDP, from_transitions
from numbarl.runs import run_many
from numbarl.tabular import off_policy

NAME = "infinite_variance"
FIGURE = "Figure 5.4"
RUNS = 10
EPISODES = 100_000
LEFT, RIGHT = 0, 1
P_LOOP = 0.9
TRUE_VALUE = 1.0
SHOWN = np.unique(np.round(np.geomspace(1, EPISODES, 400)).astype(np.int64))
BOOK = "ten runs still far from 1 and apart after 100,000 episodes (not converging)"


def one_state_mdp() -> TabularMDP:
    """The MDP of Example 5.5 (state 0 = s, state 1 terminal; actions 0 left, 1 right)."""
    P = {
        0: {
            LEFT: [(P_LOOP, 0, 0.0, False), (1.0 - P_LOOP, 1, 1.0, True)],
            RIGHT: [(1.0, 1, 0.0, True)],
        },
        1: {LEFT: [(1.0, 1, 0.0, True)], RIGHT: [(1.0, 1, 0.0, True)]},
    }
    return from_transitions(P, 2, 2, [1.0, 0.0], terminal=[False, True], name="Example 5.5")


def estimates(runs: int, seed: int, episodes: int = EPISODES) -> tuple[np.ndarray, np.ndarray]:
    """(ordinary float64[runs, episodes], weighted float64[runs, episodes]): the estimates of
    v(s) after each episode, run i seeded by the i-th generator spawned from ``seed``."""
    mdp = one_state_mdp()
    target = np.array([[1.0, 0.0], [0.5, 0.5]])
    behaviour = np.array([[0.5, 0.5], [0.5, 0.5]])
    off_policy.check_coverage(target, behaviour)
    cfg = off_policy.make_off_policy_config(mdp, episodes=episodes, start_state=0)
    out = run_many(off_policy.run_off_policy_prediction, runs, seed, mdp, target, behaviour, cfg)
    _, _, _, ordinary, weighted, _, n_done = out
    if np.any(n_done != episodes):
        raise RuntimeError("off-policy prediction stopped before its episodes were done")
    return ordinary, weighted


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """The estimates of every run at the `SHOWN` episodes (1-based)."""
    ordinary, weighted = estimates(runs, seed)
    idx = SHOWN - 1
    return pd.DataFrame(
        {
            "run": np.repeat(np.arange(runs), idx.size),
            "episode": np.tile(SHOWN, runs),
            "ordinary": ordinary[:, idx].ravel(),
            "weighted": weighted[:, idx].ravel(),
        }
    )


def plot(df: pd.DataFrame):
    """Each run's ordinary importance-sampling estimate against episodes (log scale)."""
    fig, ax = common.new_figure(size=(7.0, 4.5))
    for _, sub in df.groupby("run"):
        ax.plot(sub["episode"], sub["ordinary"], linewidth=0.9, label=None)
    ax.axhline(TRUE_VALUE, color="black", linestyle=":", linewidth=1, label="v_pi(s) = 1")
    ax.set_xscale("log")
    common.finish_axes(
        ax,
        "Episodes (log scale)",
        "Monte Carlo estimate of v_pi(s), ordinary IS",
        f"Figure 5.4: ordinary importance sampling, {df['run'].nunique()} runs",
        ylim=(0.0, 3.0),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    last = df[df["episode"] == EPISODES]["ordinary"]
    return job.report(
        "ordinary IS estimates after 100,000 episodes: min / max over runs",
        f"{last.min():.2f} / {last.max():.2f}",
        BOOK,
        low=float(last.min()),
        high=float(last.max()),
    )


if __name__ == "__main__":
    main()
