"""Cold compile per deep learner: what a newcomer's first ``numbarl train ALGO ENV`` costs.

For each deep learner, a fresh child process runs ``python -m numbarl train ALGO ENV --steps N``
(a tabular learner named in ``--learners``: ``--episodes N``, the ``TABULAR`` table) with an
empty temporary ``NUMBA_CACHE_DIR`` (and ``NUMBARL_CACHE_DIR``), so every kernel is
compiled; then a second child runs the same command on the now-filled cache (warm: import,
cache loads and the training steps themselves). ``compile = cold - warm`` is what the empty
cache costs (``env_compile_wall_s``: the part of it spent building the env, whose check compiles
the env's functions). ``--pace`` adds ``pace_s``, the seconds this script takes for 10^7
Python additions before each learner: the machine's pace, which moves compile times by more
than most changes do. Times are the child's CPU seconds (user + system, from
``resource.getrusage(RUSAGE_CHILDREN)``, which includes the processes it forks to compile in
parallel) and wall seconds; prefer CPU when other work shares the machine.

``--workers N`` sets ``NUMBARL_COMPILE_WORKERS`` for the child: how many processes compile a
learner's kernels at once on a cold cache (``numbarl.precompile``; 1 = one after the other, as
a one-core machine would). The CPU seconds are the compile work, the wall seconds what a
newcomer waits for.

Where the time goes: the child listens to Numba's compile events (``numba:compile`` per
function, ``numba:run_pass`` per compiler pass) and attributes each event's time exclusive of
the events nested in it (a caller's type inference compiles its callees), summed by compiled
function and by pass (``native_lowering`` holds LLVM's optimisation and code generation);
with more than one worker only the kernels the child compiles itself are listed. That
listener costs ~5-10% of a cold start itself: ``--no-breakdown`` times the bare command (what a
newcomer waits for; no breakdown then). ``--numpy-first`` runs the child as a script that
imports NumPy before numbarl (NumPy's OpenBLAS pool running, as in most users' scripts).

The garbage collector: the child times every collection of its own process (``gc.callbacks``;
a forked compile worker's are not seen), reported as ``gc_s`` and ``gc_full`` (full
collections) of the cold run. ``--no-gc-pause`` runs the child with numbarl's compile-time
pause of the collector's full collections turned off (``numbarl.envs.compile_gc``), to
measure what the pause saves; a checkout without that module runs unchanged.

Usage (the numbarl measured is whichever ``import numbarl`` finds, so another checkout can be
measured with ``--pythonpath``)::

    python experiments/cold_compile.py --label after
    python experiments/cold_compile.py --label before --pythonpath /path/to/old/checkout_pkg

Writes ``results/cold_compile.csv`` (one row per label, learner and repeat; a label's rows for
the learners measured are replaced, others kept) and ``results/cold_compile_passes.csv``
(exclusive seconds per label, learner, compiled function and pass, for the cold runs), and
prints a table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import pandas as pd

from numbarl.results import write_csv

# learner -> (env, env steps): enough steps that every update path runs at least once
# (DQN/Rainbow start learning after 1,000 steps; DDPG/TD3/SAC after their 1,000 random steps).
LEARNERS: dict[str, tuple[str, int]] = {
    "ppo": ("CartPole-v1", 2048),
    "ppo_kl": ("CartPole-v1", 2048),
    "a2c": ("CartPole-v1", 2048),
    "trpo": ("CartPole-v1", 2048),
    "reinforce": ("CartPole-v1", 2048),
    "offpolicy_pg": ("CartPole-v1", 2048),
    "dqn": ("CartPole-v1", 1500),
    "rainbow": ("CartPole-v1", 1500),
    "ddpg": ("Pendulum-v1", 1200),
    "td3": ("Pendulum-v1", 1200),
    "sac": ("Pendulum-v1", 1200),
}

# tabular learner -> (env, episodes); measured when named in --learners (issue 11 is the deep
# learners'; these show what inlining the tabular drivers' episode loops costs a newcomer)
TABULAR: dict[str, tuple[str, int]] = {
    "q_learning": ("CliffWalking-v1", 100),
    "sarsa": ("CliffWalking-v1", 100),
    "expected_sarsa": ("CliffWalking-v1", 100),
    "double_q_learning": ("CliffWalking-v1", 100),
    "n_step_sarsa": ("CliffWalking-v1", 100),
    "mc_control": ("FrozenLake-v1", 100),
    "td_lambda": ("RandomWalk-v0", 100),
}


def train_argv(algo: str) -> list[str]:
    """The ``numbarl train`` arguments that measure ``algo``: its env and budget from
    ``LEARNERS`` (env steps) or ``TABULAR`` (episodes), seed 0."""
    env, budget = LEARNERS[algo] if algo in LEARNERS else TABULAR[algo]
    unit = "--episodes" if algo in TABULAR else "--steps"  # a tabular learner's budget: episodes
    return ["train", algo, env, unit, str(budget), "--seed", "0"]


# Run in the child: record Numba's compile events with exclusive times, then the CLI.
_CHILD = r"""
import json, os, sys, time
from collections import defaultdict
from numba.core import event as ev

import gc

stack, by_fn, by_pass, n_compiled = [], defaultdict(float), defaultdict(float), [0]
gc_seconds, gc_counts, gc_start = [0.0], [0, 0, 0], [0.0]

def on_gc(phase, info):
    if phase == "start":
        gc_start[0] = time.perf_counter()
    else:
        gc_seconds[0] += time.perf_counter() - gc_start[0]
        gc_counts[info["generation"]] += 1

gc.callbacks.append(on_gc)

class Exclusive(ev.Listener):
    def on_start(self, e):
        stack.append([time.process_time(), 0.0])
    def on_end(self, e):
        start, nested = stack.pop()
        spent = time.process_time() - start
        if stack:
            stack[-1][1] += spent
        own = spent - nested
        if e.kind == "numba:compile":
            d = e.data["dispatcher"]
            n_compiled[0] += 1
            by_fn[f"{d.py_func.__module__}.{d.py_func.__qualname__}"] += own
            by_pass[("(dispatch)", f"{d.py_func.__module__}.{d.py_func.__qualname__}")] += own
        else:
            name = e.data["name"].split(" [")[0]
            by_fn[f"{e.data['module']}.{e.data['qualname']}"] += own
            by_pass[(name, f"{e.data['module']}.{e.data['qualname']}")] += own

if os.environ.get("COLD_COMPILE_BREAKDOWN", "1") == "1":  # off: no listener's own cost
    listener = Exclusive()
    ev.register("numba:compile", listener)
    ev.register("numba:run_pass", listener)
if os.environ.get("COLD_COMPILE_NUMPY_FIRST") == "1":  # as a script importing NumPy first
    import numpy as np

    np.ones((64, 64)) @ np.ones((64, 64))  # NumPy's OpenBLAS starts its thread pool
t0 = time.process_time()
{preamble}
import numbarl
from numbarl import cli
import numbarl.envs as _envs
t_import = time.process_time() - t0
env_wall = [0.0]
_make = _envs.make

def timed_make(*args, **kwargs):  # the env's construction: its check compiles its functions
    start = time.perf_counter()
    try:
        return _make(*args, **kwargs)
    finally:
        env_wall[0] += time.perf_counter() - start

_envs.make = timed_make
if os.environ.get("COLD_COMPILE_GC_PAUSE", "1") == "0":
    try:
        from numbarl.envs.compile_gc import pause_full_gc_while_compiling
    except ImportError:  # a checkout from before the pause
        pass
    else:
        pause_full_gc_while_compiling(False)
code = cli.main(sys.argv[1:])
json.dump(
    {
        "numbarl_file": numbarl.__file__,
        "import_cpu_s": t_import,
        "env_wall_s": env_wall[0],
        "compiled": n_compiled[0],
        "gc_s": gc_seconds[0],
        "gc_counts": gc_counts,
        "by_function": sorted(by_fn.items(), key=lambda kv: -kv[1]),
        "by_pass": sorted(([p, f, s] for (p, f), s in by_pass.items()), key=lambda r: -r[2]),
    },
    open(os.environ["COLD_COMPILE_REPORT"], "w"),
)
sys.exit(code or 0)
"""


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_child(
    algo: str,
    cache: Path,
    pythonpath: str | None,
    workdir: Path,
    workers: int,
    breakdown: bool = True,
    numpy_first: bool = False,
    gc_pause: bool = True,
) -> dict:
    """One ``numbarl train`` in a child process on the cache folder ``cache``: wall and CPU
    seconds, and the child's report of its Numba compile events (none without
    ``breakdown``). ``numpy_first``: the child imports NumPy and runs a product before numbarl,
    with NumPy's OpenBLAS threads left at their default, as a user's script does.
    ``gc_pause`` False: numbarl's compile-time pause of full collections turned off."""
    report = workdir / "report.json"
    child_env = common.cold_child_env(
        cache,
        workers,
        pythonpath,
        COLD_COMPILE_REPORT=str(report),
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        COLD_COMPILE_BREAKDOWN="1" if breakdown else "0",
        COLD_COMPILE_NUMPY_FIRST="1" if numpy_first else "0",
        COLD_COMPILE_GC_PAUSE="1" if gc_pause else "0",
    )
    if numpy_first:  # OpenBLAS reads the first of these that is set
        for var in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"):
            child_env.pop(var, None)
    child_env.pop("NUMBA_DEBUG_CACHE", None)
    argv = [*train_argv(algo), "--out", str(workdir / "history.csv")]
    cpu0, wall0 = _child_cpu(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD.replace("{preamble}", common.CHECKOUT_PREAMBLE), *argv],
        cwd=workdir,  # not the repository: `import numbarl` must find the measured package
        env=child_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall, cpu = time.perf_counter() - wall0, _child_cpu() - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"numbarl {' '.join(argv)} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(report.read_text())
    out.update(wall_s=wall, cpu_s=cpu)
    return out


def _git_commit(package_file: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(Path(package_file).resolve().parent), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _pass_seconds(report: dict, name: str) -> float:
    return round(sum(s for p, _, s in report["by_pass"] if p == name), 2)


def measure(
    algo: str,
    label: str,
    pythonpath: str | None = None,
    repeat: int = 0,
    workers: int = 1,
    breakdown: bool = True,
    numpy_first: bool = False,
    gc_pause: bool = True,
) -> tuple[dict, pd.DataFrame]:
    """Cold then warm ``numbarl train`` of ``algo`` on a fresh cache: one results row, and the
    cold run's exclusive compile seconds per function and pass (empty without ``breakdown``:
    the listener that times every compiler pass adds ~5-10% to a cold start)."""
    env, budget = LEARNERS[algo] if algo in LEARNERS else TABULAR[algo]
    with tempfile.TemporaryDirectory(prefix=f"cold_{algo}_") as tmp:
        work = Path(tmp)
        cache = work / "numba_cache"
        cache.mkdir()
        args = (pythonpath, work, workers, breakdown, numpy_first, gc_pause)
        cold = run_child(algo, cache, *args)
        warm = run_child(algo, cache, *args)
    commit = _git_commit(cold["numbarl_file"])
    row = {
        "label": label,
        "commit": commit,
        "algorithm": algo,
        "env": env,
        "repeat": repeat,
        "compile_workers": workers,
        "numpy_first": numpy_first,
        "gc_pause": gc_pause,
        "steps": budget if algo in LEARNERS else None,
        "episodes": budget if algo in TABULAR else None,
        "cold_cpu_s": round(cold["cpu_s"], 2),
        "cold_wall_s": round(cold["wall_s"], 2),
        "warm_cpu_s": round(warm["cpu_s"], 2),
        "warm_wall_s": round(warm["wall_s"], 2),
        "compile_cpu_s": round(cold["cpu_s"] - warm["cpu_s"], 2),
        "compile_wall_s": round(cold["wall_s"] - warm["wall_s"], 2),
        "env_compile_wall_s": round(cold["env_wall_s"] - warm["env_wall_s"], 3),
        "functions_compiled": cold["compiled"],
        "warm_functions_compiled": warm["compiled"],
        "lowering_cpu_s": _pass_seconds(cold, "native_lowering"),
        "typing_cpu_s": _pass_seconds(cold, "nopython_type_inference"),
        "gc_s": round(cold["gc_s"], 2),
        "gc_full": cold["gc_counts"][2],
        "top_functions": "; ".join(f"{f} {s:.1f}" for f, s in cold["by_function"][:5]),
    }
    passes = pd.DataFrame(cold["by_pass"], columns=["pass", "function", "cpu_s"])
    passes.insert(0, "algorithm", algo)
    passes.insert(0, "label", label)
    passes = passes[passes["cpu_s"] >= 0.05].round({"cpu_s": 3})
    return row, passes


def machine_pace(n: int = 10**7) -> float:
    """Seconds this process takes for ``n`` Python additions: a reading of the machine's pace
    (on the 2-core machine of these measurements it moved by nearly a factor of two within a
    day, 0.34-0.61 s in one quarter hour, and the compile times with it), to tell two
    measurements' machines apart."""
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return time.perf_counter() - start


def _merge(path: Path, new: pd.DataFrame) -> pd.DataFrame:
    """``new`` plus the rows of ``path`` of other (label, learner) pairs: a learner measured
    again under a label replaces its old rows there, the label's other learners stay (so
    learners can be measured one at a time, before and after alternating)."""
    if path.exists():
        old = pd.read_csv(path)
        key = ["label", "algorithm"]
        measured = old[key].merge(new[key].drop_duplicates(), how="left", indicator=True)
        kept = old[(measured["_merge"] == "left_only").to_numpy()]
        new = pd.concat([kept, new], ignore_index=True)
    return new


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", default="after", help="name of this measurement (before/after)")
    parser.add_argument("--pythonpath", default=None, help="PYTHONPATH holding the numbarl to time")
    parser.add_argument(
        "--learners", nargs="+", default=list(LEARNERS), choices=[*LEARNERS, *TABULAR]
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument(
        "--workers", type=int, default=1, help="NUMBARL_COMPILE_WORKERS for the child (default 1)"
    )
    parser.add_argument(
        "--no-breakdown",
        action="store_true",
        help="time the bare command: no listener timing each compiled function and pass",
    )
    parser.add_argument(
        "--numpy-first",
        action="store_true",
        help="the child imports NumPy (OpenBLAS threads at their default) before numbarl",
    )
    parser.add_argument(
        "--pace",
        action="store_true",
        help="time 10^7 Python additions before each learner (pace_s): this machine's pace",
    )
    parser.add_argument(
        "--no-gc-pause",
        action="store_true",
        help="turn off numbarl's pause of full garbage collections while compiling",
    )
    args = parser.parse_args(argv)

    rows, passes = [], []
    for repeat in range(args.repeats):
        for algo in args.learners:
            pace = machine_pace() if args.pace else float("nan")
            row, p = measure(
                algo,
                args.label,
                args.pythonpath,
                repeat,
                args.workers,
                not args.no_breakdown,
                args.numpy_first,
                not args.no_gc_pause,
            )
            row["pace_s"] = round(pace, 3)
            rows.append(row)
            passes.append(p)
            print(
                f"{args.label:>8} {row['commit']} {algo:<13} cold {row['cold_cpu_s']:6.1f} s CPU"
                f" ({row['cold_wall_s']:.1f} s wall), warm {row['warm_cpu_s']:5.1f} s CPU,"
                f" compile {row['compile_cpu_s']:5.1f} s CPU ({row['compile_wall_s']:.1f} s wall,"
                f" {args.workers} workers); {row['functions_compiled']} functions,"
                f" LLVM lowering {row['lowering_cpu_s']:.1f} s; collector {row['gc_s']:.2f} s"
                f" ({row['gc_full']} full collections)",
                flush=True,
            )
    args.out.mkdir(parents=True, exist_ok=True)
    table = _merge(args.out / "cold_compile.csv", pd.DataFrame(rows))
    write_csv(table, args.out / "cold_compile.csv")
    write_csv(
        _merge(args.out / "cold_compile_passes.csv", pd.concat(passes)),
        args.out / "cold_compile_passes.csv",
    )
    summary = table.groupby(["algorithm", "label"])[
        ["cold_cpu_s", "warm_cpu_s", "compile_cpu_s", "cold_wall_s", "compile_wall_s"]
    ].median()
    print(summary.unstack("label").round(1).to_string())
    return table


if __name__ == "__main__":
    main()
