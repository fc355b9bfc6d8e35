"""Figure 10.1: the cost-to-go -max_a q(s, a) learned by semi-gradient Sarsa on Mountain Car.

One run of semi-gradient Sarsa (8 tilings, the book's ``tiles()``, weights 0, epsilon 0) for
9,000 episodes; the cost-to-go on a `GRID` x `GRID` grid of positions and velocities after
episodes 1, 12, 104, 1,000 and 9,000 (the book's first panel is taken at step 428 of episode 1;
ours after episode 1). The book does not state alpha for this figure; we use 0.3/8, as the
reference code of the figures does. Cost-to-go look-ups are read-only: tiles the run never saw
count 0 and are not added to the hash table.

CSV ``mountain_car_cost_to_go.csv``: ``run, episode, position, velocity, cost_to_go``;
``mountain_car_cost_to_go_steps.csv``: ``run, episode, steps``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from mountain_car import steps_frame

from numbarl.approx import control
from numbarl.runs import run_many

NAME = "mountain_car_cost_to_go"
FIGURE = "Figure 10.1"
RUNS = 1
EPISODES = 9000
SNAPSHOTS = (1, 12, 104, 1000, 9000)
ALPHA = 0.3 / 8
GRID = 41
POSITIONS = np.linspace(-1.2, 0.5, GRID)
VELOCITIES = np.linspace(-0.07, 0.07, GRID)
BOOK = "one run's surfaces (no number given)"


def run(runs: int = RUNS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cost-to-go snapshots, steps per episode)."""
    cfg = control.make_sarsa_config(alpha=ALPHA, n=1, episodes=EPISODES)
    snaps = np.array(SNAPSHOTS, dtype=np.int64)
    steps, _, _, costs = run_many(
        control.n_step_sarsa, runs, seed, cfg, snaps, POSITIONS, VELOCITIES
    )
    x, v = np.meshgrid(POSITIONS, VELOCITIES, indexing="ij")
    frames = []
    for r in range(runs):
        for k, episode in enumerate(SNAPSHOTS):
            frames.append(
                pd.DataFrame(
                    {
                        "run": r,
                        "episode": episode,
                        "position": x.ravel(),
                        "velocity": v.ravel(),
                        "cost_to_go": costs[r, k].ravel(),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True), steps_frame({}, steps)


def plot(costs: pd.DataFrame, steps: pd.DataFrame):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * (len(SNAPSHOTS) + 1), 4.2), layout="constrained")
    one = costs[costs["run"] == 0]
    for k, episode in enumerate(SNAPSHOTS):
        ax = fig.add_subplot(1, len(SNAPSHOTS) + 1, k + 1, projection="3d")
        sub = one[one["episode"] == episode]
        z = sub["cost_to_go"].to_numpy().reshape(GRID, GRID)
        x, v = np.meshgrid(POSITIONS, VELOCITIES, indexing="ij")
        ax.plot_surface(x, v, z, cmap="viridis", linewidth=0, antialiased=False)
        ax.set_title(f"Episode {episode}")
        ax.set_xlabel("Position")
        ax.set_ylabel("Velocity")
        ax.set_zlabel("-max_a q(s, a)")
    ax = fig.add_subplot(1, len(SNAPSHOTS) + 1, len(SNAPSHOTS) + 1)
    run0 = steps[steps["run"] == 0]
    ax.plot(run0["episode"], run0["steps"], lw=0.5)
    ax.set_yscale("log")
    common.finish_axes(ax, "Episode", "Steps per episode", "Figure 10.1: one run")
    return fig


def start_cost(costs: pd.DataFrame, episode: int) -> float:
    """Mean cost-to-go over the start states (position in [-0.6, -0.4], velocity 0)."""
    sub = costs[
        (costs["episode"] == episode)
        & costs["position"].between(-0.6, -0.4)
        & np.isclose(costs["velocity"], 0.0)
    ]
    return float(sub["cost_to_go"].mean())


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    costs, steps = job.result
    job.write(steps, None, suffix="_steps")
    last = costs[costs["episode"] == SNAPSHOTS[-1]]["cost_to_go"].max()
    start = start_cost(costs, SNAPSHOTS[-1])
    tail = steps[steps["episode"] > EPISODES - 100]["steps"].mean()
    return job.report(
        "after 9,000 episodes: max cost-to-go; at the start states; steps (last 100)",
        f"{last:.0f}; {start:.0f}; {tail:.0f}",
        BOOK,
        max_cost_to_go=float(last),
        start_cost_to_go=start,
        late_steps=float(tail),
    )


if __name__ == "__main__":
    main()
