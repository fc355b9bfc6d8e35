"""Figure 8.4: Dyna-Q and Dyna-Q+ on the blocking maze (Example 8.2). A 6x9 grid, start (5, 3),
goal (0, 8), +1 on reaching the goal; a wall across row 3 leaves a gap at its right end for the
first 1,000 steps, then the gap moves to the left end (a longer path); 3,000 steps in all.
Cumulative reward (goals reached) against time steps, averaged over runs
(``numbarl.tabular.planning.run_dyna`` with a step budget and a maze switch).

The book gives neither the step size, the planning steps, kappa nor the number of runs for
this figure; we use those of the book's reference code (Zhang's): alpha = 1 (the maze is
deterministic), n = 10 planning steps, kappa = 1e-4 (a small bonus, as the goal pays only 1),
20 runs; gamma = 0.95 and epsilon = 0.1 as in the Dyna maze. Dyna-Q+ adds ``kappa *
sqrt(tau)`` to modelled rewards and plans untried actions as "stay, reward 0" (the book's
footnote). Both methods see the same spawned seeds.

CSV ``dyna_blocking.csv``: ``algorithm (dyna_q|dyna_q_plus), run, time_step, cumulative_reward,
alpha, planning_steps, kappa`` every `RECORD_EVERY` steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.runs import run_many
from numbarl.tabular import planning

NAME = "dyna_blocking"
FIGURE = "Figure 8.4"
RUNS = 20
STEPS = 3000
SWITCH = 1000
ALPHA = 1.0
GAMMA = 0.95
EPSILON = 0.1
PLANNING_STEPS = 10
KAPPA = 1e-4
RECORD_EVERY = 10
ALGORITHMS = ("dyna_q", "dyna_q_plus")
LABELS = {"dyna_q": "Dyna-Q", "dyna_q_plus": "Dyna-Q+"}
BOOK = "Dyna-Q+ above Dyna-Q (figure)"


def changing_maze_rewards(
    before: planning.Maze,
    after: planning.Maze,
    switch: int,
    steps: int,
    planning_steps: int,
    kappa: float,
    runs: int,
    seed: int,
    alpha: float = ALPHA,
) -> dict[str, np.ndarray]:
    """Cumulative reward float64[runs, steps + 1] of Dyna-Q and Dyna-Q+ (same seeds)."""
    out = {}
    for algorithm in ALGORITHMS:
        cfg = planning.make_dyna_config(
            alpha=alpha,
            gamma=GAMMA,
            epsilon=EPSILON,
            planning_steps=planning_steps,
            kappa=kappa if algorithm == "dyna_q_plus" else 0.0,
            episodes=steps,  # every episode takes a step, so the budget ends the run
            max_total_steps=steps,
        )
        _, _, cum, _, _ = run_many(planning.run_dyna, runs, seed, before, after, switch, cfg)
        out[algorithm] = cum
    return out


def tidy(
    cum: dict[str, np.ndarray], planning_steps: int, kappa: float, alpha: float = ALPHA
) -> pd.DataFrame:
    """The tidy frame of `changing_maze_rewards`, every `RECORD_EVERY` steps."""
    frames = []
    for algorithm, c in cum.items():
        runs, n = c.shape
        idx = np.arange(0, n, RECORD_EVERY)
        frames.append(
            pd.DataFrame(
                {
                    "algorithm": algorithm,
                    "run": np.repeat(np.arange(runs), idx.size),
                    "time_step": np.tile(idx, runs),
                    "cumulative_reward": c[:, idx].ravel(),
                    "alpha": alpha,
                    "planning_steps": planning_steps,
                    "kappa": kappa if algorithm == "dyna_q_plus" else 0.0,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    before = planning.maze_from_text(planning.BLOCKING_MAZE)
    after = planning.maze_from_text(planning.BLOCKING_MAZE_AFTER)
    cum = changing_maze_rewards(before, after, SWITCH, STEPS, PLANNING_STEPS, KAPPA, runs, seed)
    return tidy(cum, PLANNING_STEPS, KAPPA)


def gain_after(df: pd.DataFrame, switch: int) -> pd.DataFrame:
    """Per algorithm and run: reward collected after the switch, and in all."""
    end = df["time_step"].max()
    at = df[df["time_step"].isin([switch, end])].pivot_table(
        index=["algorithm", "run"], columns="time_step", values="cumulative_reward"
    )
    return pd.DataFrame({"after": at[end] - at[switch], "total": at[end]}).reset_index()


def plot_changing(df: pd.DataFrame, switch: int, title: str):
    fig, ax = common.new_figure(size=(6.5, 4.5))
    common.plot_mean_curves(
        ax, df, "time_step", "cumulative_reward", "algorithm", label=lambda a: LABELS[a]
    )
    ax.axvline(switch, color="0.5", linewidth=0.8, linestyle=":")
    common.finish_axes(
        ax, "Time steps", "Cumulative reward", title, xlim=(0, df["time_step"].max())
    )
    return fig


def summarise(
    job: common.Job, df: pd.DataFrame, switch: int, book: str, **extra: float
) -> common.Summary:
    """The summary dict (printed): cumulative reward at the end and gained after the switch."""
    g = gain_after(df, switch).groupby("algorithm")
    after, total = g["after"].mean(), g["total"].mean()
    return job.report(
        "cumulative reward at the end, Dyna-Q / Dyna-Q+",
        f"{total['dyna_q']:.1f} / {total['dyna_q_plus']:.1f}",
        book,
        **{f"{a}_total": float(total[a]) for a in ALGORITHMS},
        **{f"{a}_after_switch": float(after[a]) for a in ALGORITHMS},
        **extra,
    )


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__)
    df = job.result
    fig = plot_changing(df, SWITCH, f"Figure 8.4: blocking maze ({df['run'].nunique()} runs)")
    job.write(df, fig)
    return summarise(job, df, SWITCH, BOOK)


if __name__ == "__main__":
    main()
