"""Figure 12.11: true online Sarsa(lambda) against Sarsa(lambda) with accumulating traces,
replacing traces, and replacing traces with clearing, on Mountain Car (lambda = 0.9).

The setup of Figure 12.10 (8 tilings, weights 0, epsilon 0, gamma 1); reward per episode
(-steps) averaged over the first 20 episodes and 100 runs, against alpha x 8. Each method has
its own alpha grid (`ALPHAS`, accumulating traces diverge at smaller alpha). An episode is cut
at `MAX_STEPS` steps (the count is in the summary). Every setting sees the same spawned seeds.

CSV ``mountain_car_lambda_true_online.csv``: ``method, alpha, run, reward`` (alpha x 8;
reward: mean over the first 20 episodes).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import mountain_car as mc
import pandas as pd
from mountain_car import best_alphas

from numbarl.approx import control

NAME = "mountain_car_lambda_true_online"
FIGURE = "Figure 12.11"
RUNS = 100
EPISODES = 20
LAMBDA = 0.9
MAX_STEPS = 10_000
_GRID = (0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8)
ALPHAS = {
    "true_online": _GRID,
    "replacing": _GRID[:8],
    "replacing_clearing": _GRID[:8],
    "accumulating": (0.1, 0.2, 0.3, 0.4),  # some runs diverge from 0.5 on
}
LABELS = {
    "true_online": "True online Sarsa(lambda)",
    "replacing": "Sarsa(lambda), replacing traces",
    "replacing_clearing": "Sarsa(lambda), replacing with clearing",
    "accumulating": "Sarsa(lambda), accumulating traces",
}
BOOK = "true online best, then replacing, clearing; accumulating worst"


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    def learn(method: str, alpha: float):
        return control.sarsa_lambda_many(
            runs, seed, alpha=alpha, lam=LAMBDA, trace=method, episodes=EPISODES,
            max_steps=MAX_STEPS,
        )  # fmt: skip

    return mc.alpha_sweep(ALPHAS, "method", learn, MAX_STEPS, y="reward")


def best_rewards(df: pd.DataFrame) -> pd.DataFrame:
    """Per method: the alpha with the highest mean reward, that mean and its standard error."""
    neg = df.assign(cost=-df["reward"])
    best = best_alphas(neg, "method", y="cost")
    best["mean"] = -best["mean"]
    return best


def plot(df: pd.DataFrame):
    title = f"Figure 12.11: lambda = {LAMBDA}"
    return mc.plot_alpha_sweep(df, "method", LABELS.get, EPISODES, title, (-550, -150), "reward")


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    best = best_rewards(df).set_index("method")
    return job.report(
        "best reward/episode: true online / replacing / clearing / accumulating",
        " / ".join(f"{best.loc[m, 'mean']:.0f}" for m in ALPHAS),
        BOOK,
        cut_episodes=int(df["cut"].sum()),
        **{f"best_reward_{m}": float(best.loc[m, "mean"]) for m in ALPHAS},
    )


if __name__ == "__main__":
    main()
