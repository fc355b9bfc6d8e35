"""Example 6.5: Sarsa on the windy gridworld (7x10, start (3, 0), goal (3, 7), upward wind
``0 0 0 1 1 1 2 2 1 0`` per column, -1 per step), epsilon = 0.1, alpha = 0.5, Q = 0 initially;
episodes completed against time steps over 8,000 steps (``numbarl.tabular.control.run_sarsa``
with a step budget, ``episodes_by_step``). Variants: king's moves (Exercise 6.9), king's moves
plus a ninth action that stays put (Exercise 6.9), king's moves with stochastic wind
(Exercise 6.10). Every variant sees the same spawned seeds.

After the 8,000 steps the greedy policy (ties shared uniformly, as the learner breaks them) is
scored by its expected number of steps from the start, exactly, by ``numbarl.dp.state_values``
(states it never reaches act uniformly at random, which changes nothing from the start; a greedy
policy that loops from the start scores infinity). The optimum comes from value iteration.
The book's single run has a 15-step greedy path; across runs Sarsa's greedy policy at 8,000
steps is often not yet optimal (alpha = 0.5 keeps the near-tied values noisy), which the summary
reports as the share of runs with an optimal greedy path.

CSV ``windy_gridworld.csv``: ``variant, run, time_step, episodes`` (episodes completed by each
time step 0..8000); ``windy_gridworld_greedy.csv``: ``variant, run, greedy_steps, optimal_steps,
episodes, late_length`` (mean length of the episodes that ended after step `LATE_FROM`);
``windy_gridworld_paths.csv``: ``variant, step, row, col``, the greedy paths of run 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl import dp
from numbarl.envs import TabularMDP, make
from numbarl.runs import run_many
from numbarl.tabular import control
from numbarl.tabular.policies import uniform_policy

NAME = "windy_gridworld"
FIGURE = "Example 6.5"
RUNS = 1
STEPS = 8000
ALPHA = 0.5
EPSILON = 0.1
SHAPE = (7, 10)
WIND = (0, 0, 0, 1, 1, 1, 2, 2, 1, 0)
PATH_CAP = 30  # a greedy path longer than this is cut (it loops)
LATE_FROM = 7000  # episodes ending after this step give the "late" mean episode length
VARIANTS: dict[str, dict[str, bool]] = {
    "standard": {},
    "king": {"king_moves": True},
    "king_stay": {"king_moves": True, "stay": True},
    "king_stochastic": {"king_moves": True, "stochastic_wind": True},
}
LABELS = {
    "standard": "4 moves (Example 6.5)",
    "king": "king's moves (Ex. 6.9)",
    "king_stay": "king's moves + stay (Ex. 6.9)",
    "king_stochastic": "king's moves, stochastic wind (Ex. 6.10)",
}
BOOK_GREEDY = 15  # the book: a greedy path of 15 steps, about 170 episodes by step 8,000
BOOK_EPISODES = "~170"


def greedy_steps(mdp: TabularMDP, q: np.ndarray) -> float:
    """Expected steps to the goal from the start under the greedy policy of ``q`` float64[S, A]
    (ties shared uniformly), exact; ``inf`` if that policy does not end from the start."""
    pi = dp.greedy_policy(mdp, q, ties="uniform")
    p_pi = np.einsum("sa,sat->st", pi, mdp.p)
    p_pi[mdp.terminal] = 0.0
    reach = mdp.start > 0.0
    while True:
        grown = reach | (reach.astype(np.float64) @ p_pi > 0.0)
        if np.array_equal(grown, reach):
            break
        reach = grown
    pi[~reach] = uniform_policy(mdp)[~reach]  # never entered from the start
    try:
        v = dp.state_values(mdp, pi)
    except ValueError:  # the greedy policy loops on a state it reaches
        return float("inf")
    return float(-(mdp.start @ v))


def optimal_steps(mdp: TabularMDP) -> float:
    """Expected steps from the start under an optimal policy (value iteration)."""
    v, _ = dp.value_iteration(mdp, gamma=1.0, theta=1e-12)
    return float(-(mdp.start @ v))


def learn(
    mdp: TabularMDP, runs: int, seed: int, steps: int = STEPS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sarsa for ``steps`` time steps in each run: (q float64[R, S, A], curve int64[R, steps + 1]
    of episodes completed by each step, greedy steps float64[R], late mean length float64[R])."""
    cfg = control.make_control_config(
        alpha=ALPHA, epsilon=EPSILON, episodes=steps, max_total_steps=steps
    )
    q, _, lengths, _, n_done = run_many(control.run_sarsa, runs, seed, mdp, cfg)
    curves = np.stack([control.episodes_by_step(lengths[i], n_done[i], steps) for i in range(runs)])
    greedy = np.array([greedy_steps(mdp, q[i]) for i in range(runs)])
    late = np.empty(runs)
    for i in range(runs):
        done = lengths[i, : n_done[i]]
        ends = np.cumsum(done)
        late[i] = done[ends > LATE_FROM].mean() if np.any(ends > LATE_FROM) else np.nan
    return q, curves, greedy, late


def run(runs: int = RUNS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(episodes completed by each time step, per variant and run; greedy scores per run; the
    greedy path of run 0 in the deterministic variants)."""
    curves, scores, paths = [], [], []
    for variant, options in VARIANTS.items():
        mdp = make("WindyGridworld-v0", **options)
        q, curve, greedy, late = learn(mdp, runs, seed)
        if not options.get("stochastic_wind", False):
            rows, cols = np.divmod(np.array(common.greedy_path(mdp, q[0], PATH_CAP)), SHAPE[1])
            paths.append(
                pd.DataFrame(
                    {"variant": variant, "step": np.arange(len(rows)), "row": rows, "col": cols}
                )
            )
        curves.append(
            common.per_run_frame(curve, "episodes", "time_step", first=0, variant=variant)
        )
        scores.append(
            pd.DataFrame(
                {
                    "variant": variant,
                    "run": np.arange(runs),
                    "greedy_steps": greedy,
                    "optimal_steps": optimal_steps(mdp),
                    "episodes": curve[:, -1],
                    "late_length": late,
                }
            )
        )
    return (
        pd.concat(curves, ignore_index=True),
        pd.concat(scores, ignore_index=True),
        pd.concat(paths, ignore_index=True),
    )


def plot(curves: pd.DataFrame, scores: pd.DataFrame, paths: pd.DataFrame):
    """Left: episodes against time steps (run average), as in the book; right: the grid, its
    wind and the greedy paths of run 0 (cut after `PATH_CAP` steps if they loop)."""
    fig, (left, right) = common.new_figure(ncols=2, size=(5.5, 4.5))
    n_runs = curves["run"].nunique()
    for variant in VARIANTS:
        mean = curves[curves["variant"] == variant].groupby("time_step")["episodes"].mean()
        left.plot(mean.index, mean.to_numpy(), label=LABELS[variant])
    common.finish_axes(
        left,
        "Time steps",
        "Episodes",
        f"Example 6.5: Sarsa, eps = {EPSILON}, alpha = {ALPHA} ({n_runs} run{'s' * (n_runs > 1)})",
        xlim=(0, STEPS),
    )
    rows, cols = SHAPE
    grid = np.tile(np.array(WIND, dtype=float), (rows, 1))
    right.imshow(grid, cmap="Blues", vmin=0, vmax=4, alpha=0.5)
    right.text(0, 3, "S", ha="center", va="center", fontweight="bold")
    right.text(7, 3, "G", ha="center", va="center", fontweight="bold")
    right.set_xticks(range(cols), [f"{c}\nwind {w}" for c, w in enumerate(WIND)], fontsize=7)
    right.set_yticks(range(rows))
    for k, (variant, path) in enumerate(paths.groupby("variant", sort=False)):
        sub = scores[scores["variant"] == variant]
        g = sub["greedy_steps"].to_numpy()
        share = np.mean(np.isclose(g, sub["optimal_steps"].to_numpy()))
        offset = (k - 1) * 0.1
        right.plot(
            path["col"] + offset,
            path["row"] + offset,
            marker=".",
            color=f"C{list(VARIANTS).index(variant)}",
            label=f"{variant}: {g[0]:.4g} steps (optimal {sub['optimal_steps'].iloc[0]:.4g}; "
            f"{100 * share:.0f}% of runs optimal)",
        )
    common.finish_axes(right, "column", "row", "Greedy paths after 8,000 steps (run 0)")
    right.grid(False)
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    curves, scores, paths = job.result
    job.write(scores, None, suffix="_greedy")
    job.write(paths, None, suffix="_paths")
    by = {v: g for v, g in scores.groupby("variant")}
    std = by["standard"]
    optimal = std["greedy_steps"].to_numpy() == std["optimal_steps"].to_numpy()
    extra = {}
    for variant, g in by.items():
        extra[f"{variant}_greedy_steps_run0"] = float(g["greedy_steps"].iloc[0])
        extra[f"{variant}_optimal_steps"] = float(g["optimal_steps"].iloc[0])
        extra[f"{variant}_share_optimal"] = float(
            np.mean(np.isclose(g["greedy_steps"], g["optimal_steps"]))
        )
    return job.report(
        "greedy path steps after 8,000 steps (run 0); episodes completed by then",
        f"{std['greedy_steps'].iloc[0]:.4g}; {std['episodes'].mean():.0f}",
        f"{BOOK_GREEDY}; {BOOK_EPISODES}",
        share_runs_optimal=float(optimal.mean()),
        episodes_by_8000=float(std["episodes"].mean()),
        late_length=float(std["late_length"].mean()),
        **extra,
    )


if __name__ == "__main__":
    main()
