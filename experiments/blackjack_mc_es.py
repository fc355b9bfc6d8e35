"""Figure 5.2: Monte Carlo with exploring starts (Section 5.3) on the book's blackjack; the
optimal policy and V* it finds, beside value iteration's on the same MDP.

``numbarl.tabular.control.run_mc_exploring_starts``: every episode starts from a (state, action)
pair drawn uniformly over the MDP's live states (player sums 4-21 with or without a usable ace,
and the natural first hands) and both actions, then follows the greedy policy (random ties),
averaging first-visit returns; `EPISODES` = 500,000 episodes. The game and the 200 states are
those of `blackjack_mc_prediction` (the book's dealer, no natural bonus). Value iteration
(``numbarl.dp``) gives q*, hence the optimal action and its margin ``action_gap = |q*(s, stick)
- q*(s, hit)|``: where the margin is tiny, Monte Carlo needs many more episodes to rank the two
actions, so a disagreement there is noise, not an error.

CSV: ``run, usable_ace, player_sum, dealer_card, value, action, optimal_value, optimal_action,
action_gap`` over the 200 states (``action``: 0 stick, 1 hit; ``value`` = max_a Q(s, a)).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from blackjack_mc_prediction import DEALER_CARDS, PLAYER_SUMS, book_blackjack, book_states, surface
from matplotlib.figure import Figure

from numbarl import dp
from numbarl.tabular import control

NAME = "blackjack_mc_es"
FIGURE = "Figure 5.2"
RUNS = 1
EPISODES = 500_000
BOOK_MISMATCHES = 0  # the book's MC ES policy is the optimal one


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """``run, usable_ace, player_sum, dealer_card, value, action, optimal_value,
    optimal_action, action_gap`` over the book's 200 states."""
    mdp = book_blackjack()
    cfg = control.make_control_config(episodes=EPISODES)
    q, *_ = common.control_runs("mc_exploring_starts", runs, seed, mdp, cfg)
    v_star, _ = dp.value_iteration(mdp, gamma=1.0, theta=1e-12)
    q_star = dp.q_from_v(mdp, v_star, gamma=1.0)
    states = book_states()
    s = states["state"].to_numpy()
    optimal = states.drop(columns="state").assign(
        optimal_value=v_star[s],
        optimal_action=control.greedy_actions(q_star[s]),
        action_gap=np.abs(q_star[s, 0] - q_star[s, 1]),
    )
    frames = []
    for r in range(runs):
        frames.append(
            optimal.assign(run=r, value=q[r][s].max(axis=1), action=control.greedy_actions(q[r][s]))
        )
    df = pd.concat(frames, ignore_index=True)
    cols = ["run", "usable_ace", "player_sum", "dealer_card", "value", "action"]
    return df[cols + ["optimal_value", "optimal_action", "action_gap"]]


def mismatches(df: pd.DataFrame) -> pd.DataFrame:
    """The rows whose Monte Carlo greedy action differs from value iteration's."""
    return df[df["action"] != df["optimal_action"]]


def policy_panel(ax, sub: pd.DataFrame, title: str) -> None:
    """The policy as a grid (player sum up, dealer card across): HIT shaded, STICK white; an
    'x' marks a state where value iteration disagrees."""
    grid = sub.pivot(index="player_sum", columns="dealer_card", values="action")
    ax.imshow(
        grid.to_numpy(),
        origin="lower",
        cmap="Greys",
        vmin=0,
        vmax=2,
        extent=(0.5, 10.5, 11.5, 21.5),
        aspect="auto",
    )
    for _, row in mismatches(sub).iterrows():
        ax.text(row["dealer_card"], row["player_sum"], "x", ha="center", va="center", color="r")
    ax.text(9.5, 20.5, "STICK", ha="right", va="center")
    ax.text(9.5, 12.5, "HIT", ha="right", va="center")
    ax.set_xticks(DEALER_CARDS, ["A", *map(str, DEALER_CARDS[1:])])
    ax.set_yticks(PLAYER_SUMS)
    ax.set_xlabel("Dealer showing")
    ax.set_ylabel("Player sum")
    ax.set_title(title)


def plot(df: pd.DataFrame) -> Figure:
    """Left: pi* (usable ace above, no usable ace below); right: V*, as in the book (run 0)."""
    fig = Figure(figsize=(10, 8.5), layout="constrained")
    run0 = df[df["run"] == 0]
    for i, usable in enumerate((1, 0)):
        sub = run0[run0["usable_ace"] == usable]
        ace = "Usable ace" if usable else "No usable ace"
        policy_panel(fig.add_subplot(2, 2, 2 * i + 1), sub, f"pi*, {ace} (x: differs from DP)")
        ax = fig.add_subplot(2, 2, 2 * i + 2, projection="3d")
        surface(ax, sub)
        ax.set_title(f"v*, {ace}")
    fig.suptitle(f"Figure 5.2: Monte Carlo ES on blackjack, {EPISODES:,} episodes")
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    bad = mismatches(df)
    per_run = bad.groupby("run").size().reindex(range(job.runs), fill_value=0)
    rms = float(np.sqrt(((df["value"] - df["optimal_value"]) ** 2).mean()))
    return job.report(
        "states (of 200) where MC ES's greedy action differs from value iteration's",
        f"{per_run.mean():.4g} (largest margin {bad['action_gap'].max() if len(bad) else 0:.3f})",
        BOOK_MISMATCHES,
        mismatches=float(per_run.mean()),
        mismatch_max_gap=float(bad["action_gap"].max()) if len(bad) else 0.0,
        value_rms_error=rms,
    )


if __name__ == "__main__":
    main()
