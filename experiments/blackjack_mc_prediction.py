"""Figure 5.1: first-visit Monte Carlo prediction of the policy that sticks only on 20 or 21, on
the book's blackjack (Example 5.1: infinite deck, the dealer sticks on 17 or more, no bonus for
a natural), after 10,000 and 500,000 episodes.

The game is ``numbarl.envs.toy_text.blackjack(natural=False, sab=False)``: the book's dealer, a
natural scored like any other 21. States are Gymnasium's observations ``(player_sum,
dealer_card, usable_ace)``; the policy hits below 20 everywhere, including sums below 12, where
the book's player always hits. A natural first hand is its own state in that MDP (with these
rules it behaves exactly like ``(21, d, usable ace)``), so the book's ``(21, d, usable ace)``
panel here averages only the soft 21s reached by hitting.

``numbarl.tabular.prediction.evaluate_many("mc_first_visit", ...)`` runs the episodes; the
10,000-episode estimate uses the same seed as the 500,000-episode one, so it is the first
10,000 episodes of the same run. ``true_value`` is the exact v_pi by ``numbarl.dp.state_values``.

CSV: ``episodes, run, usable_ace, player_sum, dealer_card, value, true_value`` over the book's
200 states (player sum 12-21, dealer showing 1-10, usable ace or not).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from numbarl import dp
from numbarl.envs import TabularMDP, make
from numbarl.envs.toy_text import blackjack_decode, blackjack_state
from numbarl.tabular import prediction

NAME = "blackjack_mc_prediction"
FIGURE = "Figure 5.1"
RUNS = 1
EPISODES = (10_000, 500_000)
STICK, HIT = 0, 1
PLAYER_SUMS = tuple(range(12, 22))
DEALER_CARDS = tuple(range(1, 11))
# The book shows surfaces only; after 500,000 episodes they are smooth (converged).
BOOK = "noisy / converged (figure)"


def book_blackjack() -> TabularMDP:
    """The book's game: the book's dealer, no natural bonus (Blackjack-v1 with sab=False)."""
    return make("Blackjack-v1", natural=False, sab=False)


def book_states() -> pd.DataFrame:
    """The book's 200 states: ``state, usable_ace, player_sum, dealer_card`` (usable ace first,
    then player sum and dealer card ascending)."""
    rows = [
        (blackjack_state(p, d, u), u, p, d)
        for u in (1, 0)
        for p in PLAYER_SUMS
        for d in DEALER_CARDS
    ]
    return pd.DataFrame(rows, columns=["state", "usable_ace", "player_sum", "dealer_card"])


def stick_on(mdp: TabularMDP, threshold: int = 20) -> np.ndarray:
    """float64[S, 2]: stick when the player's sum is at least ``threshold``, else hit (natural
    states hold 21 and stick; the end state and impossible observations get stick)."""
    pi = np.zeros((mdp.n_states, 2))
    pi[:, STICK] = 1.0
    for s in range(mdp.n_states):
        if mdp.terminal[s]:
            continue
        player_sum, _, _ = blackjack_decode(s)
        if player_sum < threshold:
            pi[s] = (0.0, 1.0)
    return pi


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """``episodes, run, usable_ace, player_sum, dealer_card, value, true_value``."""
    mdp = book_blackjack()
    pi = stick_on(mdp)
    truth = dp.state_values(mdp, pi)
    states = book_states()
    frames = []
    for episodes in EPISODES:
        res = prediction.evaluate_many(
            "mc_first_visit",
            mdp,
            pi,
            0.0,
            runs=runs,
            seed=seed,
            true_values=truth,
            history=False,
            episodes=episodes,
        )
        for r in range(runs):
            frame = states.drop(columns="state").assign(
                value=res.v[r, states["state"]], true_value=truth[states["state"]]
            )
            frames.append(frame.assign(episodes=episodes, run=r))
    df = pd.concat(frames, ignore_index=True)
    cols = ["episodes", "run", "usable_ace", "player_sum", "dealer_card", "value", "true_value"]
    return df[cols]


def rms_by_episodes(df: pd.DataFrame) -> pd.Series:
    """RMS error over the 200 states against the exact values, per episode count (averaged
    over runs)."""
    sq = (df["value"] - df["true_value"]) ** 2
    per_run = sq.groupby([df["episodes"], df["run"]]).mean() ** 0.5
    return per_run.groupby(level="episodes").mean()


def surface(ax, sub: pd.DataFrame, column: str = "value") -> None:
    """A 3-D surface of ``column`` over dealer card x player sum, in the book's orientation."""
    grid = sub.pivot(index="player_sum", columns="dealer_card", values=column)
    d, p = np.meshgrid(grid.columns.to_numpy(), grid.index.to_numpy())
    ax.plot_surface(
        d,
        p,
        grid.to_numpy(),
        cmap="viridis",
        vmin=-1,
        vmax=1,
        linewidth=0.2,
        edgecolor="k",
        antialiased=True,
    )
    ax.set_zlim(-1, 1)
    ax.set_xticks([1, 10], ["A", "10"])
    ax.set_yticks([12, 21])
    ax.set_zticks([-1, 0, 1])
    ax.set_xlabel("Dealer showing")
    ax.set_ylabel("Player sum")
    ax.view_init(elev=30, azim=-120)


def plot(df: pd.DataFrame) -> Figure:
    """Rows usable ace / no usable ace, columns after 10,000 / 500,000 episodes (run 0)."""
    fig = Figure(figsize=(10, 8.5), layout="constrained")
    run0 = df[df["run"] == 0]
    for i, usable in enumerate((1, 0)):
        for j, episodes in enumerate(EPISODES):
            ax = fig.add_subplot(2, 2, 2 * i + j + 1, projection="3d")
            sub = run0[(run0["usable_ace"] == usable) & (run0["episodes"] == episodes)]
            surface(ax, sub)
            ax.set_title(f"After {episodes:,} episodes\n{'Usable' if usable else 'No usable'} ace")
    fig.suptitle("Figure 5.1: first-visit MC estimate of v for the policy that sticks on 20 or 21")
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    rms = rms_by_episodes(df)
    key_state = df[(df["usable_ace"] == 1) & (df["player_sum"] == 13) & (df["dealer_card"] == 2)]
    return job.report(
        "RMS error vs exact v_pi over the 200 states after 10,000 / 500,000 episodes",
        " / ".join(f"{rms[e]:.3f}" for e in EPISODES),
        BOOK,
        **{f"rms_{e}": float(rms[e]) for e in EPISODES},
        exact_v_13_2_usable=float(key_state["true_value"].iloc[0]),
        book_v_13_2_usable=-0.27726,
    )


if __name__ == "__main__":
    main()
