"""PPO-clip on CartPole-v1 with its tuned config (no flags): greedy evaluation return against
environment steps, one curve per seed, and the wall time each seed takes to solve the task
(the design goal: under 2 s in at least 4 of 5 seeds). A seed counts as solved when the policy
training returns reaches a mean greedy return >= 475 over 20 episodes on an evaluation seed
(10,000 + seed) that training never used; the training-time evaluations only draw the curves.

CSV: ``algorithm, env, seed, step, eval_return, ..., fresh_return, seconds_to_solve`` plus the
config columns (``fresh_return``: the returned policy's mean over the 20 fresh episodes).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

import numbarl

NAME = "ppo_cartpole"
FIGURE = "PPO on CartPole-v1"
RUNS = 5
SOLVED = 475.0
EVAL_EVERY = 2048  # a finer learning curve than the tuned 4096
FRESH_SEED = 10_000  # evaluation seeds 10,000 + seed: never used in training


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """One training run per seed ``seed .. seed + runs - 1``; wall time per run recorded (after
    a tiny run that compiles or loads the kernels, so the times are warm-cache times)."""
    numbarl.train("ppo", "CartPole-v1", seed=seed, total_steps=256, eval_every=256, eval_episodes=1)
    frames = []
    for s in range(seed, seed + runs):
        t0 = time.perf_counter()
        res = numbarl.train("ppo", "CartPole-v1", seed=s, eval_every=EVAL_EVERY)
        seconds = time.perf_counter() - t0
        df = res.history.copy()
        fresh = float(numbarl.evaluate(res, episodes=20, seed=FRESH_SEED + s).mean())
        df["fresh_return"] = fresh
        df["seconds_to_solve"] = seconds if fresh >= SOLVED else np.nan
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def plot(df: pd.DataFrame):
    fig, ax = common.new_figure(size=(6.5, 4.5))
    for s, g in df.groupby("seed"):
        ax.plot(g["step"], g["eval_return"], marker="o", label=f"seed {s}")
    ax.axhline(SOLVED, color="gray", linestyle="--", label="solved (475)")
    common.finish_axes(
        ax,
        "Environment steps",
        "Mean greedy return (20 episodes)",
        "PPO-clip on CartPole-v1 (tuned config)",
        ylim=(0, 520),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    args = common.parse_args(argv, NAME, RUNS, __doc__)
    df, seconds = common.timed_run(run, args.runs, args.seed, args.warmup)
    common.write_outputs(args.out, NAME, df, plot(df))
    per_seed = df.groupby("seed")["seconds_to_solve"].first()
    fast = int((per_seed < 2.0).sum())
    s = common.summary(
        NAME,
        FIGURE,
        "seeds solved in under 2 s (median seconds)",
        f"{fast}/{len(per_seed)} ({np.nanmedian(per_seed.to_numpy()):.2f} s)",
        ">= 4/5 (design goal)",
        args.runs,
        seconds,
    )
    print(common.summary_line(s))
    return s


if __name__ == "__main__":
    main()
