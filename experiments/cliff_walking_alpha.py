"""Figure 6.3: interim and asymptotic performance of Sarsa, Expected Sarsa and Q-learning on
the cliff walk (epsilon = 0.1, gamma = 1, Q = 0 initially) against alpha in 0.1, 0.2, ..., 1.0.

Interim: the mean return over the first 100 episodes, averaged over 50,000 runs (the book's,
the default ``--runs``). Asymptotic: the mean return over 100,000 episodes, averaged over 10 runs
(``min(runs, 10)``). ``numbarl.tabular.control`` drivers on threads via ``numbarl.runs``; every
algorithm and alpha sees the same spawned seeds within a phase (the two phases use independent
streams: children 0 and 1 of ``SeedSequence(seed)``).

At the book's scale this is about 3.5e9 environment steps, nearly all of them in the interim
phase (its early episodes are long): minutes, not seconds (see the summary's ``seconds``).

CSV ``cliff_walking_alpha.csv``: ``algorithm (sarsa|expected_sarsa|q_learning), alpha, run,
phase (interim|asymptotic), return, episodes, epsilon`` (``return``: the run's mean return per
episode over the phase's ``episodes``).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.envs import TabularMDP, make
from numbarl.tabular import control

NAME = "cliff_walking_alpha"
FIGURE = "Figure 6.3"
RUNS = 50_000  # interim runs (the book's); asymptotic runs are min(runs, ASYMPTOTIC_RUNS)
ASYMPTOTIC_RUNS = 10
INTERIM_EPISODES = 100
ASYMPTOTIC_EPISODES = 100_000
EPSILON = 0.1
ALPHAS = tuple(round(0.1 * k, 1) for k in range(1, 11))
ALGORITHMS = ("sarsa", "expected_sarsa", "q_learning")
LABELS = {"sarsa": "Sarsa", "expected_sarsa": "Expected Sarsa", "q_learning": "Q-learning"}
PHASES = ("interim", "asymptotic")
KEY_ALPHA = 1.0
# The book's figure: Expected Sarsa is best at every alpha and keeps its interim performance as
# alpha grows to 1; Sarsa's asymptotic performance falls off at large alpha.
BOOK = "Exp. Sarsa best (figure)"


def phase_seed(seed: int, phase: int) -> np.random.SeedSequence:
    """A fresh ``SeedSequence`` equal to child ``phase`` of ``SeedSequence(seed)`` (a new object
    each call, so every setting spawns the same run seeds)."""
    return np.random.SeedSequence(seed, spawn_key=(phase,))


def mean_returns(
    algorithm: str,
    alpha: float,
    runs: int,
    seed: np.random.SeedSequence | int,
    mdp: TabularMDP,
    episodes: int,
    epsilon: float = EPSILON,
) -> np.ndarray:
    """float64[runs]: each run's mean return per episode over ``episodes`` episodes."""
    cfg = control.make_control_config(alpha=alpha, epsilon=epsilon, episodes=episodes)
    _, returns, *_ = common.control_runs(algorithm, runs, seed, mdp, cfg)
    return returns.mean(axis=1)


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """``algorithm, alpha, run, phase, return, episodes, epsilon``: one row per run, setting and
    phase."""
    mdp = make("CliffWalking-v1")
    plan = (
        ("interim", runs, INTERIM_EPISODES, 0),
        ("asymptotic", min(runs, ASYMPTOTIC_RUNS), ASYMPTOTIC_EPISODES, 1),
    )
    frames = []
    for phase, n_runs, episodes, child in plan:
        for algorithm in ALGORITHMS:
            for alpha in ALPHAS:
                ret = mean_returns(algorithm, alpha, n_runs, phase_seed(seed, child), mdp, episodes)
                frames.append(
                    pd.DataFrame(
                        {
                            "algorithm": algorithm,
                            "alpha": alpha,
                            "run": np.arange(n_runs),
                            "phase": phase,
                            "return": ret,
                            "episodes": episodes,
                            "epsilon": EPSILON,
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def setting_means(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard error of ``return`` per algorithm, phase and alpha."""
    return common.group_means(df, ["algorithm", "phase", "alpha"], "return")


def plot(df: pd.DataFrame):
    """Return per episode against alpha: interim (dashed, open markers) and asymptotic (solid)
    for each method, on the book's axes (points below -160 are drawn at the bottom edge)."""
    fig, ax = common.new_figure(size=(7.0, 5.0))
    stats = setting_means(df)
    bottom = -160.0
    for k, algorithm in enumerate(ALGORITHMS):
        for phase in PHASES:
            sub = stats[(stats["algorithm"] == algorithm) & (stats["phase"] == phase)]
            n = int(sub["count"].max())
            y = np.maximum(sub["mean"].to_numpy(), bottom)
            ax.plot(
                sub["alpha"],
                y,
                color=f"C{k}",
                linestyle="--" if phase == "interim" else "-",
                marker="o",
                markerfacecolor="white" if phase == "interim" else f"C{k}",
                label=f"{LABELS[algorithm]}, {phase} ({n} runs)",
            )
            for a, m in zip(sub["alpha"], sub["mean"], strict=True):
                if m < bottom:
                    ax.annotate(
                        f"{m:.0f}",
                        (a, bottom),
                        textcoords="offset points",
                        xytext=(0, 6),
                        ha="center",
                        fontsize=7,
                        color=f"C{k}",
                    )
    common.finish_axes(
        ax,
        "alpha",
        "Sum of rewards per episode",
        "Figure 6.3: interim and asymptotic performance on the cliff",
        ylim=(bottom - 5, 0),
        xlim=(0.05, 1.05),
    )
    ax.set_xticks(ALPHAS)
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    stats = setting_means(df).set_index(["algorithm", "phase", "alpha"])["mean"]
    extra = {
        f"{a}_{p}_{alpha}": float(stats[a, p, alpha])
        for a in ALGORITHMS
        for p in PHASES
        for alpha in ALPHAS
    }
    order = ("expected_sarsa", "sarsa", "q_learning")
    return job.report(
        f"interim return at alpha = {KEY_ALPHA}: Expected Sarsa / Sarsa / Q-learning",
        " / ".join(f"{stats[a, 'interim', KEY_ALPHA]:.1f}" for a in order),
        BOOK,
        **extra,
    )


if __name__ == "__main__":
    main()
