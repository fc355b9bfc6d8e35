"""`make demo`: the main job.

Solves every tabular env exactly, reproduces every Sutton & Barto experiment of
docs/textbook.md (each script in experiments/ with the book's number of runs), trains PPO on
CartPole and runs the toy RLHF pipeline (as they land), writing CSV and PNG to results/ and
printing one summary table."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from numbarl import dp  # noqa: E402
from numbarl.envs import make, names  # noqa: E402
from numbarl.results import write_csv  # noqa: E402


def dp_table() -> pd.DataFrame:
    """Value iteration on every tabular env: optimal value from the start distribution."""
    rows = []
    for name in names("tabular"):
        mdp = make(name)
        t0 = time.perf_counter()
        v, sweeps = dp.value_iteration(mdp, gamma=1.0)
        wall = time.perf_counter() - t0
        rows.append(
            {
                "env": name,
                "states": mdp.n_states,
                "actions": mdp.n_actions,
                "gamma": 1.0,
                "optimal_start_value": float(mdp.start @ v),
                "sweeps": int(sweeps),
                "seconds": wall,
            }
        )
    return pd.DataFrame(rows)


def parallel_sweep(out: Path) -> pd.DataFrame:
    """A small parallel sweep (Q-learning on CliffWalking, 3 step sizes x 5 seeds on 2 worker
    processes, one CSV per run under out/sweep_cliff/) and its learning curves as a PNG."""
    from numbarl.plots import plot, summarise_runs
    from numbarl.sweep import sweep

    runs = out / "sweep_cliff"
    t0 = time.perf_counter()
    print("\nParallel sweep (Q-learning on CliffWalking, 15 runs on 2 workers) ...", flush=True)
    with common.heartbeat("parallel sweep"):
        sweep(
            "q_learning", "CliffWalking-v1", range(5), runs, {"alpha": [0.02, 0.1, 0.5]}, workers=2
        )
    wall = time.perf_counter() - t0
    fig = plot(runs, y="return", by="alpha", smooth=10, out=out / "sweep_cliff_alpha.png")
    table = summarise_runs(runs, "return", by="alpha", last=50)
    print(f"\nParallel sweep, 15 runs on 2 workers in {wall:.1f} s ({runs}/, {fig.name}):")
    print("mean return of each run's last 50 episodes, over 5 seeds")
    with pd.option_context("display.width", 140, "display.float_format", "{:.2f}".format):
        print(table.to_string(index=False))
    return table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results")
    ap.add_argument("--runs", type=int, default=None, help="override every experiment's runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", default=None, help="run only these experiments")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    table = dp_table()
    write_csv(table, out / "dp_optimal_values.csv")
    with pd.option_context("display.width", 140, "display.float_format", "{:.4f}".format):
        print("Exact dynamic programming (value iteration, gamma = 1):")
        print(table.to_string(index=False))
    parallel_sweep(out)

    print("\nSutton & Barto experiments (book's runs unless --runs):", flush=True)
    summaries = common.run_all(out, runs=args.runs, seed=args.seed, names=args.only)
    summary = common.summary_table(summaries)
    write_csv(summary, out / "summary.csv")
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print()
        print(summary.to_string(index=False))
    print(f"\nwrote {out}/ in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
