"""Two variants of one cold start, run at the same time on the machine's two cores: a comparison
that this machine's pace cannot skew.

The 2-core machine of these measurements changes its compile pace by up to 2x within an hour
(docs/cold_compile.md): two cold starts measured minutes apart compare the hours more than the
variants. This script starts both variants' ``numbarl train ALGO ENV`` together, each with one
compile worker and an empty cache of its own, so both meet the same pace; then runs both again
together on their now-filled caches (warm: import, cache loads and the run), and repeats with
the variants' start order swapped. ``compile = cold - warm`` per variant, in CPU seconds of the
child (``os.wait4``), and the ratio B/A per pair. A variant is one of:

- ``base``: the interpreter running this script, nothing changed;
- ``python=PATH``: another interpreter (its environment must import numbarl);
- ``pythonpath=DIR``: another checkout's numbarl (``git worktree add``);
- ``env=NAME=VALUE[,NAME=VALUE...]``: variables set for the child (``env=NUMBA_OPT=1``).

Usage::

    python experiments/compile_pairs.py --a base --b python=/usr/bin/python3.11 \\
        --learner trpo --pairs 4

Writes ``results/compile_pairs.csv`` (one row per label, pair and variant; a label's rows are
replaced) and prints each pair's compile CPU and the median ratio B/A.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import common
import pandas as pd
from cold_compile import LEARNERS, TABULAR, train_argv

from numbarl.results import write_csv


class Variant(NamedTuple):
    """How a child is started: its interpreter, the checkout it imports (None: the installed
    numbarl) and the variables set for it."""

    spec: str
    python: str
    pythonpath: str | None
    env: dict[str, str]


def parse_variant(spec: str) -> Variant:
    """A ``--a``/``--b`` value as a ``Variant`` (module docstring); a malformed one raises a
    ValueError naming the forms accepted."""
    kind, _, value = spec.partition("=")
    if spec == "base":
        return Variant(spec, sys.executable, None, {})
    if kind == "python" and value:
        if not Path(value).exists():
            raise ValueError(f"variant {spec!r}: no interpreter at {value}")
        return Variant(spec, value, None, {})
    if kind == "pythonpath" and value:
        if not (Path(value) / "numbarl").is_dir():
            raise ValueError(f"variant {spec!r}: {value} holds no numbarl package")
        return Variant(spec, sys.executable, value, {})
    if kind == "env" and value:
        env = {}
        for item in value.split(","):
            name, eq, setting = item.partition("=")
            if not name or not eq:
                raise ValueError(f"variant {spec!r}: {item!r} is not NAME=VALUE")
            env[name] = setting
        return Variant(spec, sys.executable, None, env)
    raise ValueError(
        f"variant {spec!r}: expected base, python=PATH, pythonpath=DIR or env=NAME=VALUE[,...]"
    )


def run_together(variants: list[Variant], caches: list[Path], algo: str) -> list[dict]:
    """Start one child per variant at once (each on its cache folder), wait for all, and
    return each child's CPU seconds (user + system, ``os.wait4``) and wall seconds."""
    children = []
    for variant, cache in zip(variants, caches, strict=True):
        log = open(cache.parent / f"{cache.name}.stderr", "w+b")  # noqa: SIM115 - closed below
        env = common.cold_child_env(cache, 1, variant.pythonpath, **variant.env)
        start = time.perf_counter()
        proc = subprocess.Popen(
            [variant.python, "-c", common.CLI_CHILD, *train_argv(algo)],
            env=env,
            cwd=cache.parent,  # outside the repository: the numbarl measured is the one imported
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        children.append((variant, proc, start, log))
    pids, done = {proc.pid for _, proc, _, _ in children}, {}
    while pids - done.keys():  # reaped in the order they end, so each wall time is its own
        pid, status, usage = os.wait4(-1, 0)
        done[pid] = (status, usage, time.perf_counter())
    out = []
    for variant, proc, start, log in children:
        status, usage, end = done[proc.pid]
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        err = log.read().decode(errors="replace")
        log.close()
        if proc.returncode != 0:
            raise RuntimeError(
                f"{variant.spec}: numbarl train {algo} failed ({proc.returncode}):\n{err[-2000:]}"
            )
        out.append({"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": end - start})
    return out


def measure(a: Variant, b: Variant, algo: str, pairs: int, label: str) -> pd.DataFrame:
    """``pairs`` runs of both variants side by side, cold then warm, A started first in even
    pairs and B in odd ones."""
    rows = []
    for pair in range(pairs):
        order = [a, b] if pair % 2 == 0 else [b, a]
        with tempfile.TemporaryDirectory(prefix="numbarl-pairs-") as tmp:
            caches = [Path(tmp) / f"cache{i}" for i in range(2)]
            cold = run_together(order, caches, algo)
            warm = run_together(order, caches, algo)
        for variant, c, w in zip(order, cold, warm, strict=True):
            rows.append(
                {
                    "label": label,
                    "algorithm": algo,
                    "pair": pair,
                    "variant": "a" if variant is a else "b",
                    "spec": variant.spec,
                    "cold_cpu_s": round(c["cpu_s"], 2),
                    "warm_cpu_s": round(w["cpu_s"], 2),
                    "compile_cpu_s": round(c["cpu_s"] - w["cpu_s"], 2),
                    "cold_wall_s": round(c["wall_s"], 2),
                }
            )
    return pd.DataFrame(rows)


def ratios(table: pd.DataFrame) -> pd.Series:
    """Per pair, variant B's compile CPU over variant A's."""
    wide = table.pivot_table(index="pair", columns="variant", values="compile_cpu_s")
    return (wide["b"] / wide["a"]).rename("b_over_a")


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", default="base", help="variant A (default: base)")
    parser.add_argument("--b", required=True, help="variant B")
    parser.add_argument("--learner", default="trpo", choices=[*LEARNERS, *TABULAR])
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--label", default="pairs")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    if args.pairs < 1:
        raise ValueError(f"--pairs must be at least 1, got {args.pairs}")
    a, b = parse_variant(args.a), parse_variant(args.b)

    table = measure(a, b, args.learner, args.pairs, args.label)
    path = args.out / "compile_pairs.csv"
    args.out.mkdir(parents=True, exist_ok=True)
    kept = pd.read_csv(path) if path.exists() else pd.DataFrame()
    if len(kept):
        kept = kept[kept["label"] != args.label]
    write_csv(pd.concat([kept, table], ignore_index=True), path)
    r = ratios(table)
    for pair, ratio in r.items():
        cpu = table[table["pair"] == pair].set_index("variant")["compile_cpu_s"]
        print(f"pair {pair}: compile CPU A {cpu['a']:.2f} s, B {cpu['b']:.2f} s, B/A {ratio:.3f}")
    print(f"{args.learner}: B ({b.spec}) / A ({a.spec}), median of {len(r)}: {r.median():.3f}")
    return table


if __name__ == "__main__":
    main()
