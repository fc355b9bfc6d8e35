"""numbarl against Stable-Baselines3, side by side in one process (comparison extras only).

The design's numbers (issue 11), each side on one thread, CPU seconds of this process:
- same work as rl-zoo3's row at SB3's own widths: PPO CartPole (64x64) >= 6x, DQN CartPole
  (256x256) >= 2.5x, TD3 and DDPG Pendulum (400x300) >= 1.5x;
- time to solve with each side's best config (SB3's evaluations off its clock, numbarl's on it),
  median of 5 seeds: PPO >= 20x, DQN >= 20x, TD3 >= 10x.

One implementation with ``experiments/vs_sb3.py`` (which writes results/vs_sb3.csv and prints
the table): these tests call its functions. The timed figures are in each test's extra_info
(``sb3_cpu_s``, ``numbarl_cpu_s``, ``ratio``); pytest-benchmark's own time is of the whole
comparison. Skipped cleanly without torch and stable-baselines3; ``make bench`` runs them
(about 15 minutes on a quiet machine; the measured figures are in the README).

Run: .venv/bin/pytest tests/benchmarks/test_bench_vs_sb3.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
if str(EXPERIMENTS) not in sys.path:
    sys.path.insert(0, str(EXPERIMENTS))

import vs_sb3  # noqa: E402

pytestmark = pytest.mark.extras

SAME_WORK_RATIO = {"ppo": 6.0, "dqn": 2.5, "td3": 1.5, "ddpg": 1.5}
SOLVE_RATIO = {"ppo": 20.0, "dqn": 20.0, "td3": 10.0}
SOLVE_SEEDS = range(5)


def _record(benchmark, df) -> dict:
    line = vs_sb3.summary(df).iloc[0].to_dict()
    benchmark.extra_info.update(
        {k: (round(v, 3) if isinstance(v, float) else v) for k, v in line.items()}
    )
    benchmark.extra_info["differences"] = vs_sb3.DIFFERENCES[line["algorithm"]]
    return line


@pytest.mark.parametrize("algo", list(SAME_WORK_RATIO))
def test_bench_vs_sb3_same_work(benchmark, algo):
    """rl-zoo3's row run by both sides (one seed each, alternating), ratio of CPU seconds."""
    out = {}

    def run():
        out["df"] = vs_sb3.compare([algo], ["same_work"], seeds=(0,))

    benchmark.pedantic(run, rounds=1, iterations=1)
    line = _record(benchmark, out["df"])
    assert line["ratio"] >= SAME_WORK_RATIO[algo], (
        f"{algo}: SB3 {line['sb3_cpu_s']:.1f} s / numbarl {line['numbarl_cpu_s']:.1f} s"
        f" = {line['ratio']:.2f}x < {SAME_WORK_RATIO[algo]}x"
    )


@pytest.mark.parametrize("algo", list(SOLVE_RATIO))
def test_bench_vs_sb3_time_to_solve(benchmark, algo):
    """Each side's best config until a greedy evaluation reaches the goal, 5 seeds alternating;
    ratio of the median CPU seconds (a side that misses the goal counts its whole budget)."""
    out = {}

    def run():
        out["df"] = vs_sb3.compare([algo], ["solve"], seeds=SOLVE_SEEDS)

    benchmark.pedantic(run, rounds=1, iterations=1)
    line = _record(benchmark, out["df"])
    df = out["df"]
    numbarl_runs = df[df["side"] == "numbarl"]
    assert numbarl_runs["solved"].astype(bool).sum() >= 4  # numbarl reaches the goal
    assert line["ratio"] >= SOLVE_RATIO[algo], (
        f"{algo}: SB3 {line['sb3_cpu_s']:.1f} s / numbarl {line['numbarl_cpu_s']:.2f} s"
        f" = {line['ratio']:.1f}x < {SOLVE_RATIO[algo]}x"
    )
