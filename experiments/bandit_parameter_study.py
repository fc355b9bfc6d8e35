"""Figure 2.6: parameter study of the bandit algorithms on the 10-armed testbed: average reward
over the first 1,000 steps, averaged over 2,000 runs, for each method at parameters that are
powers of 2 (the book's ranges):
- epsilon-greedy with sample averages: epsilon 1/128 .. 1/4;
- gradient bandit with baseline: alpha 1/32 .. 4;
- UCB with sample averages: c 1/16 .. 4;
- greedy with optimistic initialisation, step size 0.1: Q0 1/4 .. 4.

26 settings x 2,000 runs x 1,000 steps; each setting's runs in one compiled call, every setting
on the same spawned seeds (the same 2,000 tasks).

CSV ``bandit_parameter_study.csv``: ``algorithm, env, testbed_<field>, parameter, value,
log2_value, run, average_reward, seed`` (one row per setting and run).
"""

from __future__ import annotations

from collections.abc import Sequence

import bandit_curves as bc
import common
import numpy as np
import pandas as pd

from numbarl.bandits import (
    EpsilonGreedyConfig,
    GradientBanditConfig,
    UCBConfig,
    run_bandit,
)

NAME = "bandit_parameter_study"
FIGURE = "Figure 2.6"
RUNS = bc.RUNS
TESTBED = bc.TEN_ARMED
# method -> (parameter name, powers of 2, config for a value)
METHODS = {
    "epsilon-greedy": ("epsilon", range(-7, -1), lambda x: EpsilonGreedyConfig(epsilon=x)),
    "gradient bandit": ("alpha", range(-5, 3), lambda x: GradientBanditConfig(alpha=x)),
    "UCB": ("c", range(-4, 3), lambda x: UCBConfig(c=x)),
    "greedy with optimistic initialization alpha = 0.1": (
        "Q0",
        range(-2, 3),
        lambda x: EpsilonGreedyConfig(epsilon=0.0, step_size=0.1, initial=x),
    ),
}
BOOK = "UCB best; every method best at an intermediate parameter"


def settings() -> list[tuple[str, str, int, object]]:
    """(method, parameter name, log2 value, config) for every point of the figure."""
    return [
        (method, param, int(e), make(2.0 ** int(e)))
        for method, (param, powers, make) in METHODS.items()
        for e in powers
    ]


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """One row per setting and run: the run's average reward over all 1,000 steps."""
    frames = []
    for method, param, e, cfg in settings():
        res = run_bandit(cfg, TESTBED, runs, seed)
        reward, _ = bc.window_means(res, 1, TESTBED.steps)
        frames.append(
            pd.DataFrame(
                {
                    "algorithm": method,
                    **bc.testbed_columns(TESTBED),
                    "parameter": param,
                    "value": 2.0**e,
                    "log2_value": e,
                    "run": np.arange(runs),
                    "average_reward": reward,
                    "seed": seed,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def curve(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard error over runs per method and parameter value."""
    by = ["algorithm", "parameter", "log2_value"]
    return common.group_means(df, by, "average_reward", sort=False)


def plot(df: pd.DataFrame):
    """Average reward against the parameter (log2 axis labelled 1/128 .. 4), as in the book."""
    fig, ax = common.new_figure(size=(7.0, 4.5))
    stats = curve(df)
    for method in METHODS:
        sub = stats[stats["algorithm"] == method]
        param = sub["parameter"].iloc[0]
        ax.errorbar(
            sub["log2_value"], sub["mean"], yerr=sub["sem"], label=f"{method} ({param})", capsize=2
        )
    ticks = np.arange(-7, 3)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"1/{2 ** -int(t)}" if t < 0 else str(2 ** int(t)) for t in ticks])
    common.finish_axes(
        ax,
        "epsilon  alpha  c  Q0",
        "Average reward over first 1000 steps",
        "Figure 2.6: parameter study (10-armed testbed)",
    )
    return fig


def best_by_method(df: pd.DataFrame) -> pd.DataFrame:
    """Per method, the parameter value with the largest mean reward and that mean."""
    stats = curve(df)
    return stats.loc[stats.groupby("algorithm", sort=False)["mean"].idxmax()]


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    best = best_by_method(df).set_index("algorithm")
    short = {m: m.split(" with ")[0] for m in METHODS}
    text = "; ".join(
        f"{short[m]} {best.loc[m, 'parameter']}=2^{int(best.loc[m, 'log2_value'])}: "
        f"{best.loc[m, 'mean']:.2f}"
        for m in METHODS
    )
    return job.report(
        "best parameter and average reward per method",
        text,
        BOOK,
        **{f"best_{short[m].replace(' ', '_')}": float(best.loc[m, "mean"]) for m in METHODS},
    )


if __name__ == "__main__":
    main()
