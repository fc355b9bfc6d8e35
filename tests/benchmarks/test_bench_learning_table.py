"""The learning table: every classic-control env solved by more than one learner.

Each (env, learner) pair trains with its tuned config (``numbarl.tuned``) on 5 seeds, evaluates
each *final* policy (what ``numbarl.train`` returns, never the best evaluation seen) greedily on
20 fresh episodes (evaluation seed 10,000 + seed, start states the run never drew), and asserts
that at least ``need`` seeds reach the env's threshold (Gymnasium's reward threshold: CartPole-v1
475, Acrobot-v1 -100, MountainCar-v0 -110, MountainCarContinuous-v0 90; Pendulum-v1 has none,
-200 is the usual bar). ``benchmark.extra_info`` records seeds solved and the median wall
seconds of the solving runs (warm: one short run compiles or loads the learner first; a run
stops at its tuned ``stop_at_return``, so its wall time is the time to solve).

The README's learning table is not this benchmark's output: it shows the 10-seed run of
``experiments/benchmark_table.py`` (docs/benchmark.md), one source for both. This benchmark is
the check that each pair still reaches its threshold in ``need`` of 5 seeds (its own table:
results/learning_table.md and .csv). Run:
    .venv/bin/pytest tests/benchmarks/test_bench_learning_table.py --benchmark-enable \
        --benchmark-only
One pair: add ``-k "MountainCar-v0 and dqn"``.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest

import numbarl
from numbarl.tuned import tuned_table

SEEDS = range(5)
FRESH_EPISODES = 20
THRESHOLDS = {
    "CartPole-v1": 475.0,
    "Acrobot-v1": -100.0,
    "MountainCar-v0": -110.0,
    "MountainCarContinuous-v0": 90.0,
    "Pendulum-v1": -200.0,
}
# (env, learner, seeds of 5 that must reach the threshold)
PAIRS = [
    ("CartPole-v1", "ppo", 4),
    ("CartPole-v1", "ppo_kl", 4),
    ("CartPole-v1", "a2c", 4),
    ("CartPole-v1", "trpo", 4),
    ("CartPole-v1", "reinforce", 4),
    ("CartPole-v1", "offpolicy_pg", 4),
    ("CartPole-v1", "dqn", 4),
    ("CartPole-v1", "rainbow", 4),
    ("Acrobot-v1", "dqn", 4),
    ("Acrobot-v1", "ppo", 4),
    ("Acrobot-v1", "a2c", 4),
    ("MountainCar-v0", "dqn", 3),
    ("MountainCar-v0", "ppo", 3),
    ("MountainCarContinuous-v0", "ddpg", 4),
    ("MountainCarContinuous-v0", "td3", 4),
    ("Pendulum-v1", "sac", 4),
    ("Pendulum-v1", "td3", 4),
    ("Pendulum-v1", "ddpg", 4),
    ("Pendulum-v1", "ppo", 4),
]
ROWS: list[dict] = []
OUT = Path(__file__).resolve().parents[2] / "results"


def _warm(algo: str, env: str) -> None:
    """Compile (or load from Numba's cache) the learner's loop with one short run."""
    row = (tuned_table(algo) or {}).get(env, {})
    every = int(row.get("eval_every", 1_000))
    numbarl.train(algo, env, seed=99, total_steps=every, eval_every=every, eval_episodes=1)


@pytest.mark.parametrize(("env", "algo", "need"), PAIRS, ids=[f"{e}-{a}" for e, a, _ in PAIRS])
def test_bench_learning_table(benchmark, env, algo, need):
    tuned = env in (tuned_table(algo) or {})
    _warm(algo, env)
    runs: list[tuple[float, int, float]] = []

    def five_seeds():
        runs.clear()
        for seed in SEEDS:
            start = time.perf_counter()
            res = numbarl.train(algo, env, seed=seed)
            seconds = time.perf_counter() - start
            fresh = numbarl.evaluate(res, episodes=FRESH_EPISODES, seed=10_000 + seed)
            runs.append((seconds, int(res.history["step"].iloc[-1]), float(fresh.mean())))

    benchmark.pedantic(five_seeds, rounds=1, iterations=1)
    seconds = np.array([r[0] for r in runs])
    fresh = np.array([r[2] for r in runs])
    solved = fresh >= THRESHOLDS[env]
    median = float(np.median(seconds[solved])) if solved.any() else float("nan")
    row = dict(
        env=env,
        algorithm=algo,
        tuned=tuned,
        threshold=THRESHOLDS[env],
        seeds_solved=int(solved.sum()),
        seeds=len(runs),
        need=need,
        median_seconds_to_solve=round(median, 2),
        median_env_steps=int(np.median([r[1] for r in runs])),
        fresh_returns=" ".join(f"{f:.0f}" for f in fresh),
    )
    benchmark.extra_info.update(row)
    ROWS.append(row)
    _write_table()
    assert tuned, f"no tuned {algo} row for {env}"
    assert solved.sum() >= need, f"{algo} on {env}: {solved.sum()} of 5 seeds, fresh {fresh}"


def _write_table() -> None:
    """results/learning_table.csv (tidy, one row per pair) and .md (the README's table). Rows of
    earlier runs of other pairs are kept (a run with ``-k`` updates only its own pairs), in the
    order of ``PAIRS``."""
    OUT.mkdir(exist_ok=True)
    path = OUT / "learning_table.csv"
    rows = {}
    if path.exists():
        with open(path, newline="") as f:
            rows = {(r["env"], r["algorithm"]): r for r in csv.DictReader(f)}
    rows.update({(r["env"], r["algorithm"]): r for r in ROWS})
    order = {(e, a): i for i, (e, a, _) in enumerate(PAIRS)}
    table = sorted(rows.values(), key=lambda r: order.get((r["env"], r["algorithm"]), len(order)))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    lines = [
        "| env (threshold) | learner | tuned config | seeds solved of 5 | median s to solve "
        "| fresh 20-episode means, seeds 0-4 |",
        "|---|---|---|---|---|---|",
    ]
    for r in table:
        tuned = r["tuned"] in (True, "True")
        lines.append(
            f"| {r['env']} ({float(r['threshold']):g}) | {r['algorithm']} | "
            f"{'yes' if tuned else 'no'} | {r['seeds_solved']} | "
            f"{float(r['median_seconds_to_solve']):g} | {r['fresh_returns']} |"
        )
    (OUT / "learning_table.md").write_text("\n".join(lines) + "\n")
