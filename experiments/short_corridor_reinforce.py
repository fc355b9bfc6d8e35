"""Figure 13.1: REINFORCE on the short corridor (Example 13.1) with step sizes 2^-12, 2^-13,
2^-14; total reward per episode over 1000 episodes, averaged over 100 runs.

``numbarl.tabular.policy_gradient.run_reinforce_many`` with the corridor's features, starting
from the book's 'epsilon-greedy left' policy (`SHORT_CORRIDOR_THETA0`, value about -82) with the
reference implementation's probability floor `SHORT_CORRIDOR_MIN_PROB`. Every step size sees
the same spawned seeds. CSV: ``algorithm, alpha, run, episode, return``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.envs import make
from numbarl.tabular.policy_gradient import (
    SHORT_CORRIDOR_MIN_PROB,
    SHORT_CORRIDOR_THETA0,
    reinforce_config,
    run_reinforce_many,
    short_corridor_features,
)

NAME = "short_corridor_reinforce"
FIGURE = "Figure 13.1"
RUNS = 100
EPISODES = 1000
ALPHAS = (2.0**-12, 2.0**-13, 2.0**-14)
ALPHA_LABELS = {2.0**-12: "2^-12", 2.0**-13: "2^-13", 2.0**-14: "2^-14"}
OPTIMUM = -11.6  # v*(s0) of the best stochastic policy (book)
LAST = 100  # the key number averages the last LAST episodes


def returns_frame(algorithm: str, alpha: float, returns: np.ndarray) -> pd.DataFrame:
    """Tidy rows ``algorithm, alpha, run, episode, return`` from returns float64[runs, E]."""
    whole = returns.astype(np.int64)  # -1 per step: whole numbers
    return common.per_run_frame(whole, "return", algorithm=algorithm, alpha=alpha)


def reinforce_returns(runs: int, seed: int, **config: float | bool) -> np.ndarray:
    """Per-episode returns float64[runs, EPISODES] of REINFORCE on the corridor."""
    mdp = make("ShortCorridor-v0")
    cfg = reinforce_config(
        episodes=EPISODES,
        theta0=SHORT_CORRIDOR_THETA0,
        min_prob=SHORT_CORRIDOR_MIN_PROB,
        **config,
    )
    _, returns, _, _, _ = run_reinforce_many(
        mdp, short_corridor_features(mdp.n_states), cfg, runs=runs, seed=seed
    )
    return returns


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    frames = [
        returns_frame("reinforce", alpha, reinforce_returns(runs, seed, alpha=alpha))
        for alpha in ALPHAS
    ]
    return pd.concat(frames, ignore_index=True)


def plot(df: pd.DataFrame):
    fig, ax = common.new_figure(size=(6.5, 4.5))
    common.plot_mean_curves(
        ax, df, "episode", "return", "alpha", label=lambda a: f"alpha = {ALPHA_LABELS.get(a, a)}"
    )
    ax.axhline(OPTIMUM, color="gray", linestyle="--", label="v*(s0) = -11.6")
    common.finish_axes(
        ax,
        "Episode",
        f"Total reward on episode (mean of {df['run'].nunique()} runs)",
        "Figure 13.1: REINFORCE on the short corridor",
        ylim=(-90, -10),
    )
    return fig


def last_mean(df: pd.DataFrame, last: int = LAST) -> pd.Series:
    """Mean return over the last ``last`` episodes, per alpha."""
    tail = df[df["episode"] > df["episode"].max() - last]
    return tail.groupby("alpha")["return"].mean()


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    tail = last_mean(df)
    return job.report(
        f"mean return, last {LAST} episodes, alpha = 2^-12",
        round(float(tail[2.0**-12]), 2),
        OPTIMUM,
        **{f"last{LAST}_alpha_{ALPHA_LABELS[a]}": float(tail[a]) for a in ALPHAS},
    )


if __name__ == "__main__":
    main()
