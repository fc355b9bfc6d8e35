"""Step time per deep learner on a warm cache: the CPU seconds of a fixed training run.

For each learner a child process trains once briefly (compiling or loading the kernels), then
``--repeats`` times ``numbarl.train(algo, env, seed=0, total_steps=N, stop_at_return=1e9)``
(no early stop: the same work every time; ``--set key=value`` adds config fields) and reports
the fastest and the median CPU time.
``--pythonpath`` measures another checkout the same way, so two trees can be compared back to
back (``--alternate`` runs the learners of both trees in turns).

Usage::

    python experiments/step_time.py --learners td3 ddpg --steps 20000
    python experiments/step_time.py --learners reinforce --pythonpath /path/to/old --alternate 2

Prints one line per learner and tree, and writes ``results/step_time.csv``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import common
import pandas as pd

from numbarl.results import write_csv

ENVS = {
    "ppo": "CartPole-v1",
    "ppo_kl": "CartPole-v1",
    "a2c": "CartPole-v1",
    "trpo": "CartPole-v1",
    "reinforce": "CartPole-v1",
    "offpolicy_pg": "CartPole-v1",
    "dqn": "CartPole-v1",
    "rainbow": "CartPole-v1",
    "ddpg": "Pendulum-v1",
    "td3": "Pendulum-v1",
    "sac": "Pendulum-v1",
}

_CHILD = r"""
import json, sys, time
import numbarl
algo, env, steps, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cfg = json.loads(sys.argv[5])
numbarl.train(algo, env, seed=0, total_steps=min(steps, 2000), stop_at_return=1e9, **cfg)  # warm
times = []
for _ in range(repeats):
    t = time.process_time()
    numbarl.train(algo, env, seed=0, total_steps=steps, stop_at_return=1e9, **cfg)
    times.append(time.process_time() - t)
print(json.dumps(sorted(times)))
"""


def measure(
    algo: str, steps: int, repeats: int, pythonpath: str | None, cfg: dict | None = None
) -> list[float]:
    """Sorted CPU seconds of ``repeats`` fixed runs of ``algo`` (config fields ``cfg``) in one
    child process."""
    env = dict(os.environ, NUMBARL_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env = common.checkout_env(env, pythonpath)
    if pythonpath:
        if "NUMBA_CACHE_DIR" in env:  # the other tree's kernels in a cache of their own
            env["NUMBA_CACHE_DIR"] += "_other"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            common.CHECKOUT_PREAMBLE + _CHILD,
            algo,
            ENVS[algo],
            str(steps),
            str(repeats),
            json.dumps(cfg or {}),
        ],  # fmt: skip
        env=env,
        cwd="/" if pythonpath else None,  # another tree: not this repository's numbarl
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pythonpath", default=None, help="another checkout to compare with")
    parser.add_argument("--alternate", type=int, default=1, help="turns of the two trees")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config field, e.g. hidden=400",
    )
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    cfg = {}
    for pair in args.set:
        key, _, value = pair.partition("=")
        try:
            cfg[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            cfg[key] = value  # a string choice, e.g. activation=relu
    trees = [("this", None)] + ([("other", args.pythonpath)] if args.pythonpath else [])
    rows = []
    for turn in range(args.alternate):
        for algo in args.learners:
            for name, path in trees:
                times = measure(algo, args.steps, args.repeats, path, cfg)
                best, median = times[0], times[len(times) // 2]
                rows.append(
                    {"turn": turn, "algorithm": algo, "tree": name, "steps": args.steps,
                     "config": json.dumps(cfg), "best_cpu_s": round(best, 3),
                     "median_cpu_s": round(median, 3)}
                )  # fmt: skip
                print(f"{algo:<13} {name:<6} best {best:.3f} s, median {median:.3f} s CPU")
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(table, args.out / "step_time.csv")
    return table


if __name__ == "__main__":
    main()
