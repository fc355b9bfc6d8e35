"""Figure 5.3: off-policy Monte Carlo estimation of one blackjack state, the dealer showing 2
and the player's sum 13 with a usable ace (Example 5.4). The behaviour policy hits or sticks
with probability 0.5; the target policy sticks only on 20 or 21. The book's value of that state
under the target policy is -0.27726 (it averaged 100 million episodes); the exact value by DP
on the same game (``numbarl.dp.state_values``) is reported beside it.

``numbarl.tabular.off_policy.run_off_policy_prediction`` with ``start_state`` gives, after each
of 10,000 episodes, the ordinary and the weighted importance-sampling estimates from the same
episodes; 100 runs on threads via ``numbarl.runs``. The figure shows the mean squared error
over runs against episodes (log scale), measured against the book's value.

CSV ``blackjack_importance_sampling.csv``: ``method (ordinary|weighted), run, episode,
estimate`` (2 million rows with the book's runs); ``blackjack_importance_sampling_mse.csv``:
``method, episode, mse``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from blackjack_mc_prediction import book_blackjack, stick_on

from numbarl import dp
from numbarl.envs.toy_text import blackjack_state
from numbarl.runs import run_many
from numbarl.tabular import off_policy
from numbarl.tabular.policies import check_policy, uniform_policy

NAME = "blackjack_importance_sampling"
FIGURE = "Figure 5.3"
RUNS = 100
EPISODES = 10_000
START = (13, 2, 1)  # player sum, dealer card, usable ace
TRUE_VALUE = -0.27726  # the book's
METHODS = ("ordinary", "weighted")
LABELS = {"ordinary": "Ordinary importance sampling", "weighted": "Weighted importance sampling"}
KEY_EPISODES = (10, 100, 1_000, 10_000)
BOOK = "weighted below ordinary; both -> 0"


def estimates(runs: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(ordinary float64[runs, EPISODES], weighted float64[runs, EPISODES], exact value): the
    estimates of the start state after each episode, and its exact value under the target."""
    mdp = book_blackjack()
    target = check_policy(stick_on(mdp), mdp, "target")
    behaviour = check_policy(uniform_policy(mdp), mdp, "behaviour")
    off_policy.check_coverage(target, behaviour)
    start = blackjack_state(*START)
    cfg = off_policy.make_off_policy_config(mdp, episodes=EPISODES, start_state=start)
    out = run_many(off_policy.run_off_policy_prediction, runs, seed, mdp, target, behaviour, cfg)
    _, _, _, ordinary, weighted, _, n_done = out
    if np.any(n_done != EPISODES):
        raise RuntimeError("off-policy prediction stopped before its 10,000 episodes")
    exact = float(dp.state_values(mdp, target)[start])
    return ordinary, weighted, exact


def run(runs: int = RUNS, seed: int = 0) -> tuple[pd.DataFrame, float]:
    """(``method, run, episode, estimate``, the exact value of the state)."""
    ordinary, weighted, exact = estimates(runs, seed)
    n = runs * EPISODES
    df = pd.DataFrame(
        {
            "method": pd.Categorical.from_codes(np.repeat([0, 1], n), categories=list(METHODS)),
            "run": np.tile(np.repeat(np.arange(runs), EPISODES), 2),
            "episode": np.tile(np.arange(1, EPISODES + 1), 2 * runs),
            "estimate": np.concatenate([ordinary.ravel(), weighted.ravel()]),
        }
    )
    return df, exact


def mse(df: pd.DataFrame, true_value: float = TRUE_VALUE) -> pd.DataFrame:
    """``method, episode, mse``: the mean over runs of (estimate - true value)^2."""
    err = (df["estimate"] - true_value) ** 2
    out = err.groupby([df["method"], df["episode"]], observed=True).mean()
    return out.rename("mse").reset_index()


def plot(curve: pd.DataFrame, runs: int):
    """Mean squared error (over runs) against episodes on a log x axis, as in the book."""
    fig, ax = common.new_figure(size=(6.5, 4.5))
    for method in METHODS:
        sub = curve[curve["method"] == method]
        ax.plot(sub["episode"], sub["mse"], label=LABELS[method])
    ax.set_xscale("log")
    common.finish_axes(
        ax,
        "Episodes (log scale)",
        f"Mean square error (average over {runs} runs)",
        "Figure 5.3: off-policy estimation of one blackjack state",
        ylim=(-0.1, 5),
        xlim=(1, EPISODES),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__)
    df, exact = job.result
    curve = mse(df)
    job.write(df, plot(curve, job.runs))
    job.write(curve, None, suffix="_mse")
    at = curve.set_index(["method", "episode"])["mse"]
    last = EPISODES
    return job.report(
        f"MSE after {last:,} episodes: ordinary / weighted",
        f"{at['ordinary', last]:.4f} / {at['weighted', last]:.4f}",
        BOOK,
        exact_value=exact,
        book_value=TRUE_VALUE,
        **{f"mse_{m}_{e}": float(at[m, e]) for m in METHODS for e in KEY_EPISODES},
    )


if __name__ == "__main__":
    main()
