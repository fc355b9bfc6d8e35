"""Toy RLHF: wall time of the whole pipeline (SFT + reward model + PPO + evaluation) and of one
PPO step, single-threaded (``run_rlhf`` keeps OpenBLAS on one thread; numba code is serial), and
the pipeline's CPU time with float32 networks (the default) against float64 side by side.

Target: the default pipeline runs in under 60 s on one core (warm Numba cache); float32 is no
slower than float64 at the default width (64) and clearly faster at 256.
Run: .venv/bin/pytest tests/benchmarks/test_bench_rlhf.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from numbarl.nn import adam_init
from numbarl.rlhf import (
    METRICS,
    RLHFConfig,
    RLHFModels,
    run_ppo_steps,
    run_rlhf,
    single_threaded_blas,
)

WARMUP = dict(sft_demos=256, sft_epochs=1, rm_pairs=128, rm_eval_pairs=64, rm_epochs=1, ppo_steps=2)


def test_bench_rlhf_pipeline(benchmark):
    run_rlhf(WARMUP, seed=0)  # load every kernel from the cache outside the timed part
    result = benchmark.pedantic(run_rlhf, args=(None, 0), rounds=3, iterations=1)
    cfg = RLHFConfig()
    tokens = cfg.ppo_steps * cfg.batch_prompts * cfg.seq_len
    benchmark.extra_info["seconds_max"] = benchmark.stats.stats.max
    benchmark.extra_info["ppo_tokens"] = tokens
    benchmark.extra_info["rm_accuracy"] = result.rm_accuracy
    benchmark.extra_info["true_score_gain"] = (
        result.evaluation["true_score"] - result.evaluation["ref_true_score"]
    )
    assert benchmark.stats.stats.max < 60.0


def test_bench_ppo_step(benchmark):
    """One PPO step on 64 sampled completions (512 tokens): generation, scoring, GAE and
    4 epochs x 4 minibatches of actor and critic Adam updates (float32 networks)."""
    cfg = RLHFConfig()
    arrays = run_rlhf(WARMUP, seed=0).arrays
    actor, critic = arrays["actor"].copy(), arrays["critic"].copy()
    models = RLHFModels(
        actor, arrays["ref"], critic, arrays["reward"], arrays["policy_layout"],
        arrays["critic_layout"], arrays["reward_layout"], arrays["reward_norm"],
        np.array([cfg.kl_coef]), adam_init(actor.shape[0], actor.dtype),
        adam_init(critic.shape[0], critic.dtype),
    )  # fmt: skip
    rng = np.random.default_rng(0)
    metrics = np.zeros((10, len(METRICS)))
    with single_threaded_blas():
        run_ppo_steps(models, cfg, 1, rng, metrics)  # warm-up
        benchmark(run_ppo_steps, models, cfg, 10, rng, metrics)
    per_step = benchmark.stats.stats.mean / 10
    benchmark.extra_info["ms_per_step"] = 1e3 * per_step
    benchmark.extra_info["tokens_per_second"] = cfg.batch_prompts * cfg.seq_len / per_step


@pytest.mark.parametrize(
    ("overrides", "speedup"),
    [({}, 1.0), (dict(hidden=256, rm_hidden=256, ppo_steps=30), 1.3)],
    ids=["hidden64", "hidden256"],
)
def test_bench_rlhf_float32_vs_float64(benchmark, overrides, speedup):
    """CPU time (``time.process_time``: the machine is shared) of the whole pipeline in each
    dtype, alternating in one process, 3 rounds each; float32 must be at least ``speedup`` times
    faster (median against median)."""
    for dtype in ("float64", "float32"):
        run_rlhf(dict(WARMUP, **overrides, dtype=dtype), seed=0)
    cpu: dict[str, list[float]] = {"float64": [], "float32": []}

    def rounds() -> None:
        for _ in range(3):
            for dtype in cpu:
                t0 = time.process_time()
                run_rlhf(dict(overrides, dtype=dtype), seed=0)
                cpu[dtype].append(time.process_time() - t0)

    benchmark.pedantic(rounds, rounds=1, iterations=1)
    f64, f32 = (float(np.median(cpu[d])) for d in ("float64", "float32"))
    benchmark.extra_info.update(cpu_float64=f64, cpu_float32=f32, ratio=f64 / f32)
    print(f"\nCPU s (median of 3): float64 {f64:.2f}, float32 {f32:.2f}, {f64 / f32:.2f}x")
    assert f64 / f32 > speedup, cpu
