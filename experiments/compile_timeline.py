"""Where a cold start's wall time goes: a per-process timeline of one ``numbarl train``.

Runs ``numbarl train ALGO ENV --steps N`` in a fresh process on an empty Numba cache (as
``cold_compile.py`` does) with Numba's dispatcher compile and disk-cache load wrapped: every
top-level compile (a kernel, not the callees compiled inside it) and every cache load is
recorded with its start and end, in the process that ran it (the training process and the
compile workers it forks, ``numbarl.precompile``). Prints, from the training process's start:

- when ``main`` started (the imports before it) and ended;
- the compiles before the first worker was forked (an env's check compiles its functions there);
- each process's compiles in the workers' phase, in order, with their seconds;
- the tail: how long one process still compiled after the other had finished.

Usage::

    python experiments/compile_timeline.py trpo CartPole-v1 2048 [--workers 2] [--pythonpath P]

Writes nothing to ``results/``: the timeline is printed (and kept in a temporary directory only
while the run lasts).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

_CHILD = r"""
import json, os, sys, time
{preamble}
from numba.core import caching, dispatcher

T0 = float(os.environ["TIMELINE_T0"])
LOG = os.environ["TIMELINE_DIR"]
depth = [0]


def record(kind, name, start, end):
    with open(os.path.join(LOG, f"{os.getpid()}.jsonl"), "a") as f:
        f.write(json.dumps([kind, name, start - T0, end - T0, depth[0]]) + "\n")


compile_ = dispatcher._FunctionCompiler.compile


def compile(self, args, return_type):
    start = time.time()
    depth[0] += 1
    try:
        return compile_(self, args, return_type)
    finally:
        depth[0] -= 1
        name = f"{self.py_func.__module__}.{self.py_func.__qualname__}"
        record("compile", name, start, time.time())


dispatcher._FunctionCompiler.compile = compile
load_ = caching.Cache.load_overload


def load(self, sig, target_context):
    start = time.time()
    result = load_(self, sig, target_context)
    record("load" if result is not None else "miss", self._name, start, time.time())
    return result


caching.Cache.load_overload = load
from numbarl import cli

start = time.time()
code = cli.main(sys.argv[1:])
record("main", "main", start, time.time())
sys.exit(code or 0)
"""


def read(directory: Path) -> dict[int, list[list]]:
    """Each process's records (kind, name, start, end, depth), by pid."""
    out = {}
    for path in directory.glob("*.jsonl"):
        out[int(path.stem)] = [json.loads(line) for line in path.read_text().splitlines()]
    return out


def summary(records: dict[int, list[list]]) -> str:
    """The printed timeline (module docstring)."""
    main_pid = next(pid for pid, rows in records.items() if any(r[0] == "main" for r in rows))
    rows = records[main_pid]
    main = next(r for r in rows if r[0] == "main")
    top = [r for r in rows if r[0] == "compile" and r[4] == 0]
    workers = [pid for pid in records if pid != main_pid]
    fork = min((r[2] for pid in workers for r in records[pid]), default=None)
    before = [r for r in top if fork is None or r[3] <= fork]
    lines = [
        f"main {main[2]:.2f} -> {main[3]:.2f} s (imports before it)",
        f"compiled before the first fork: {sum(r[3] - r[2] for r in before):.2f} s "
        f"({', '.join(r[1].rsplit('.', 1)[-1] for r in before) or 'nothing'})",
    ]
    ends = []
    for pid in [main_pid, *workers]:
        own = [r for r in records[pid] if r[0] == "compile" and r[4] == 0 and r not in before]
        if not own:
            continue
        ends.append(max(r[3] for r in own))
        who = "training process" if pid == main_pid else f"worker {pid}"
        units = " ".join(f"{r[1].rsplit('.', 1)[-1]}:{r[3] - r[2]:.2f}" for r in own)
        lines.append(f"{who}: {units} (last ends at {ends[-1]:.2f} s)")
    if len(ends) > 1:
        lines.append(f"tail: {max(ends) - min(ends):.2f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("algo")
    parser.add_argument("env")
    parser.add_argument("steps", type=int)
    parser.add_argument("--workers", type=int, default=2, help="NUMBARL_COMPILE_WORKERS")
    parser.add_argument("--pythonpath", default=None, help="PYTHONPATH holding the numbarl to time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="timeline_") as tmp:
        work = Path(tmp)
        (work / "log").mkdir()
        env = common.cold_child_env(
            work / "numba_cache",
            args.workers,
            args.pythonpath,
            TIMELINE_DIR=str(work / "log"),
            TIMELINE_T0=repr(time.time()),
        )
        command = ["train", args.algo, args.env, "--steps", str(args.steps), "--seed", "0"]
        command += ["--out", str(work / "history.csv")]
        child = _CHILD.replace("{preamble}", common.CHECKOUT_PREAMBLE)
        subprocess.run(
            [sys.executable, "-c", child, *command],
            cwd=work,  # not the repository: `import numbarl` must find the measured package
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        text = summary(read(work / "log"))
    print(text)
    return text


if __name__ == "__main__":
    main()
