"""Example 10.2 / Figure 10.5: differential semi-gradient Sarsa on the access-control queuing
task.

10 servers; customers of priority 1, 2, 4 or 8 (uniform) arrive one per step at the head of a
queue; accepting one (if a server is free) earns its priority and occupies a server; each busy
server frees with probability 0.06 per step. Differential semi-gradient Sarsa with one feature
per (free servers, priority, action) (tabular), alpha = 0.01, beta = 0.01, epsilon = 0.1,
q = 0 and R = 0 at the start, 2 million steps (`numbarl.approx.control.differential_sarsa`).
The book shows one run: the greedy policy (accept or reject, by priority and free servers) and
the value of the best action, max_a q(s, a), against free servers for each priority.

CSV ``access_control.csv``: ``run, priority, free_servers, accept (1/0, greedy), value
(max_a q; q(s, reject) with no free server, where rejecting is the only action), visits``;
the learned average reward is in the summary (``average_reward``).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.approx import control
from numbarl.runs import run_many

NAME = "access_control"
FIGURE = "Figure 10.5"
RUNS = 1
STEPS = 2_000_000
BOOK_R_BAR = 2.31  # "The value learned for R-bar was about 2.31" (Figure 10.5's caption)


def run(runs: int = RUNS, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """(policy and values, learned average reward float64[runs])."""
    cfg = control.make_access_control_config(steps=STEPS)
    q, r_bar, visits = run_many(control.differential_sarsa, runs, seed, cfg)
    frames = []
    free = np.arange(cfg.servers + 1)
    for r in range(runs):
        for k, priority in enumerate(control.PRIORITIES):
            qq = q[r][:, k, :]
            frames.append(
                pd.DataFrame(
                    {
                        "run": r,
                        "priority": int(priority),
                        "free_servers": free,
                        "accept": ((qq[:, 1] > qq[:, 0]) & (free > 0)).astype(int),
                        # with no free server the only action is to reject
                        "value": np.where(free > 0, qq.max(axis=1), qq[:, control.REJECT]),
                        "visits": visits[r][:, k],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True), np.asarray(r_bar)


def plot(df: pd.DataFrame, r_bar: np.ndarray):
    fig, (ax_p, ax_v) = common.new_figure(ncols=2, size=(6.0, 4.6))
    one = df[(df["run"] == 0) & (df["free_servers"] > 0)]
    table = one.pivot(index="priority", columns="free_servers", values="accept")
    ax_p.imshow(table.to_numpy(), cmap="Greys", origin="lower", aspect="auto", vmin=0, vmax=1.5)
    ax_p.set_xticks(range(table.shape[1]), table.columns)
    ax_p.set_yticks(range(table.shape[0]), table.index)
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            ax_p.text(j, i, "A" if table.iat[i, j] else "R", ha="center", va="center")
    ax_p.set_title("Policy (A: accept, R: reject)")
    ax_p.set_xlabel("Number of free servers")
    ax_p.set_ylabel("Priority")
    one = df[df["run"] == 0]
    for priority, sub in one.groupby("priority"):
        ax_v.plot(sub["free_servers"], sub["value"], marker="o", label=f"priority {priority}")
    common.finish_axes(
        ax_v,
        "Number of free servers",
        "Differential value of best action",
        f"Value function (learned R-bar = {float(r_bar[0]):.2f})",
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df, r_bar = job.result
    busy = df[df["free_servers"] > 0]
    accept8 = float(busy[busy["priority"] == 8]["accept"].mean())
    return job.report(
        "learned average reward R-bar (share of free-server states accepting priority 8)",
        f"{float(r_bar.mean()):.2f} ({accept8:.0%})",
        BOOK_R_BAR,
        average_reward=float(r_bar.mean()),
        accept_priority8=accept8,
    )


if __name__ == "__main__":
    main()
