"""Toy RLHF (Ziegler et al. 2019 at toy scale): does PPO against a learned reward model raise the
hidden preference while the KL to the SFT policy stays bounded, and what happens without the
KL penalty?

Four conditions, each the whole pipeline of ``numbarl.rlhf.run_rlhf`` (SFT, reward model, PPO):

- ``kl_adaptive``: the defaults (reward model from 4096 pairs; Ziegler's adaptive beta, 2 nats);
- ``beta0``: the same with beta = 0 (no KL penalty);
- ``weak_rm_kl_adaptive`` / ``weak_rm_beta0``: a weaker reward model (2048 pairs, learning rate
  1e-3: about 86% held-out accuracy instead of 91%), with and without the penalty.

Writes ``rlhf_toy.csv`` (one row per PPO step, condition and seed: rm_score, true_score, kl,
entropy, beta, ... and the config columns), ``rlhf_toy_eval.csv`` (one row per condition and
seed: reward-model accuracy and the final comparison on fresh samples) and ``rlhf_toy.png``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import common
import pandas as pd

from numbarl.rlhf import RLHFConfig, run_rlhf

NAME = "rlhf_toy"
FIGURE = "Ziegler et al. 2019 (toy)"
RUNS = 1

WEAK_RM = dict(rm_pairs=2048, rm_lr=1e-3)
NO_KL = dict(kl_coef=0.0, adaptive_kl=False)
CONDITIONS: dict[str, dict] = {
    "kl_adaptive": {},
    "beta0": NO_KL,
    "weak_rm_kl_adaptive": WEAK_RM,
    "weak_rm_beta0": {**WEAK_RM, **NO_KL},
}


def run(runs: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(history, evaluation) frames over every condition and seeds seed .. seed + runs - 1."""
    histories, rows = [], []
    for name, overrides in CONDITIONS.items():
        cfg = RLHFConfig()._replace(**overrides)
        for s in range(seed, seed + runs):
            result = run_rlhf(cfg, seed=s)
            h = result.history.copy()
            h.insert(0, "condition", name)
            histories.append(h)
            rows.append(
                {
                    "condition": name,
                    "seed": s,
                    "rm_accuracy": result.rm_accuracy,
                    **result.evaluation,
                    "peak_true_score": float(h["true_score"].rolling(5).mean().max()),
                    "seconds": result.seconds,
                }
            )
    return pd.concat(histories, ignore_index=True), pd.DataFrame(rows)


def plot(history: pd.DataFrame):
    fig, axes = common.new_figure(ncols=2, nrows=2, size=(5.5, 3.8))
    panels = [
        ("rm_score", "reward-model score (normalised)"),
        ("true_score", "true preference score"),
        ("kl", "KL(pi || pi_ref), nats / sequence"),
        ("beta", "beta"),
    ]
    for ax, (col, label) in zip(axes.ravel(), panels, strict=True):
        common.plot_mean_curves(ax, history, "step", col, "condition", label=str)
        common.finish_axes(ax, "PPO step", label, legend=col == "true_score")
    axes[1, 0].axhline(RLHFConfig().kl_target, color="grey", linestyle=":", linewidth=1)
    return fig


def describe(evaluation: pd.DataFrame) -> str:
    lines = []
    for name, g in evaluation.groupby("condition", sort=False):
        lines.append(
            f"  {name:<20} rm acc {g.rm_accuracy.mean():.3f} | true score "
            f"{g.ref_true_score.mean():.3f} -> {g.true_score.mean():.3f} "
            f"(+- {g.true_sem.mean():.3f} s.e.; peak during PPO {g.peak_true_score.mean():.3f}) "
            f"| rm score {g.ref_rm_score.mean():.2f} -> {g.rm_score.mean():.2f} "
            f"| KL {g.kl.mean():.2f} | {g.seconds.mean():.1f} s per pipeline"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict:
    args = common.parse_args(argv, NAME, RUNS, description=__doc__.splitlines()[0])
    if args.warmup:
        run_rlhf(RLHFConfig()._replace(ppo_steps=2, sft_demos=256, rm_pairs=128), seed=0)
    t0 = time.perf_counter()
    history, evaluation = run(args.runs, args.seed)
    seconds = time.perf_counter() - t0
    common.write_outputs(args.out, NAME, history, plot(history))
    common.write_outputs(args.out, NAME, evaluation.drop(columns="seconds"), None, suffix="_eval")
    main_row = evaluation[evaluation.condition == "kl_adaptive"]
    gain = float((main_row.true_score - main_row.ref_true_score).mean())
    out = common.summary(
        NAME,
        FIGURE,
        "true-score gain of PPO over SFT (adaptive KL)",
        gain,
        "rises, KL bounded",
        args.runs,
        seconds,
        evaluation=evaluation.to_dict(orient="list"),
    )
    print(describe(evaluation))
    print(common.summary_line(out))
    return out


if __name__ == "__main__":
    main()
