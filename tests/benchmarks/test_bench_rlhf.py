"""Toy RLHF: wall time of the whole pipeline (SFT + reward model + PPO + evaluation) and of one
PPO step, single-threaded (``run_rlhf`` keeps OpenBLAS on one thread; numba code is serial).

Target: the default pipeline runs in under 60 s on one core (warm Numba cache).
Run: .venv/bin/pytest tests/benchmarks/test_bench_rlhf.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import numpy as np

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
    4 epochs x 4 minibatches of actor and critic Adam updates."""
    cfg = RLHFConfig()
    arrays = run_rlhf(WARMUP, seed=0).arrays
    models = RLHFModels(
        arrays["actor"].copy(), arrays["ref"], arrays["critic"].copy(), arrays["reward"],
        arrays["policy_layout"], arrays["critic_layout"], arrays["reward_layout"],
        arrays["reward_norm"], np.array([cfg.kl_coef]), adam_init(arrays["actor"].shape[0]),
        adam_init(arrays["critic"].shape[0]),
    )  # fmt: skip
    rng = np.random.default_rng(0)
    metrics = np.zeros((10, len(METRICS)))
    with single_threaded_blas():
        run_ppo_steps(models, cfg, 1, rng, metrics)  # warm-up
        benchmark(run_ppo_steps, models, cfg, 10, rng, metrics)
    per_step = benchmark.stats.stats.mean / 10
    benchmark.extra_info["ms_per_step"] = 1e3 * per_step
    benchmark.extra_info["tokens_per_second"] = cfg.batch_prompts * cfg.seq_len / per_step
