"""Figure 8.8: uniform against on-policy distribution of expected updates. Random episodic
tasks: every state has 2 actions, each leading to one of ``b`` next states drawn at random per
task (equally likely) with an expected reward drawn from N(0, 1), and any transition ends the
episode with probability 0.1. Uniform updates cycle through all state-action pairs in order;
on-policy updates follow simulated epsilon-greedy episodes (epsilon = 0.1) from the start state.
Both use expected updates from Q = 0. The measure is the start state's value under the greedy
policy (exact policy evaluation), against the number of updates, averaged over 200 sample tasks
(the book): 1,000 states with b = 1, 3 and 10 over 20,000 updates, and 10,000 states with b = 1
over 200,000 updates (``numbarl.tabular.planning.run_trajectory_sampling``, both methods on the
same task, tasks on threads).

Details the book leaves open: the reward of a transition is paid whether or not it ends the
episode (so an expected update is ``mean_j [r_j + 0.9 max_a Q(s_j, a)]``); ties in the greedy
choice go to the first action in the evaluation and are broken at random in the simulation; the
value is measured every ``eval_every`` updates of each panel (`PANELS`; values of many states
must be re-evaluated each time, so the b = 3 and b = 10 panels use a coarser grid).

The book: on-policy sampling is ahead early, most of all with b = 1 and many states; uniform
updates catch up and pass it later (b = 1 and 3 with 1,000 states).

CSV ``trajectory_sampling.csv``: ``method (uniform|on_policy), n_states, branching, run,
updates, value``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.runs import run_many
from numbarl.tabular import planning

NAME = "trajectory_sampling"
FIGURE = "Figure 8.8"
RUNS = 200
# (states, branching, updates, eval_every)
PANELS = (
    (1000, 1, 20_000, 500),
    (1000, 3, 20_000, 1000),
    (1000, 10, 20_000, 1000),
    (10_000, 1, 200_000, 5000),
)
TERMINATION = 0.1
EPSILON = 0.1
METHODS = ("uniform", "on_policy")
LABELS = {"uniform": "uniform", "on_policy": "on-policy"}
KEY = (1000, 1, 1000)  # states, branching, updates of the key number
BOOK = "on-policy ahead early (figure)"


def run(runs: int = RUNS, seed: int = 0, panels=None) -> pd.DataFrame:
    """Start values per method, panel (`PANELS` unless given), task and evaluation point."""
    frames = []
    for n_states, b, updates, every in PANELS if panels is None else panels:
        cfg = planning.make_trajectory_sampling_config(
            n_states=n_states,
            branching=b,
            termination=TERMINATION,
            epsilon=EPSILON,
            updates=updates,
            eval_every=every,
        )
        uniform, on_policy = run_many(planning.run_trajectory_sampling, runs, seed, cfg)
        x = np.arange(uniform.shape[1]) * every
        for method, values in (("uniform", uniform), ("on_policy", on_policy)):
            frames.append(
                pd.DataFrame(
                    {
                        "method": method,
                        "n_states": n_states,
                        "branching": b,
                        "run": np.repeat(np.arange(runs), x.size),
                        "updates": np.tile(x, runs),
                        "value": values.ravel(),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def plot(df: pd.DataFrame):
    """Top: 1,000 states, b = 1, 3, 10; bottom: 10,000 states, b = 1 (the book's two panels)."""
    fig, (top, bottom) = common.new_figure(nrows=2, size=(6.5, 4.0))
    n_runs = df["run"].nunique()
    for ax, n_states in ((top, 1000), (bottom, 10_000)):
        sub = df[df["n_states"] == n_states]
        for k, (b, g) in enumerate(sub.groupby("branching")):
            for method, style in (("on_policy", "-"), ("uniform", "--")):
                m = g[g["method"] == method].groupby("updates")["value"].mean()
                ax.plot(
                    m.index,
                    m.to_numpy(),
                    linestyle=style,
                    color=f"C{k}",
                    label=f"b = {b}, {LABELS[method]}",
                )
        common.finish_axes(
            ax,
            "Computation time, in expected updates",
            "Value of start state under greedy policy",
            f"Figure 8.8: {n_states:,} states ({n_runs} tasks)",
        )
    return fig


def key_values(df: pd.DataFrame, key=None) -> pd.Series:
    """Mean start value per method at `KEY` (states, branching, updates) unless given."""
    n_states, b, updates = KEY if key is None else key
    sub = df[(df["n_states"] == n_states) & (df["branching"] == b) & (df["updates"] == updates)]
    return sub.groupby("method")["value"].mean()


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    key = key_values(df)
    end = df[df["updates"] == df.groupby(["n_states", "branching"])["updates"].transform("max")]
    final = end.groupby(["n_states", "branching", "method"])["value"].mean()
    return job.report(
        "start value after 1,000 updates, 1,000 states, b = 1: on-policy / uniform",
        f"{key['on_policy']:.2f} / {key['uniform']:.2f}",
        BOOK,
        **{f"final_{m}_{n}_b{b}": float(v) for (n, b, m), v in final.items()},
    )


if __name__ == "__main__":
    main()
