"""A learner's cold-start compile work counted in instructions: a measure this machine's pace
cannot move.

Compile seconds on this 2-core machine swing by up to 2x within an hour, and even two variants
run side by side (``compile_pairs.py``) differ by +-10% pair to pair, more than the levers of
the last rounds are worth. Valgrind's callgrind counts every instruction a process runs, the
same count whatever the load; this script runs ``numbarl train ALGO ENV`` (``cold_compile``'s
arguments) under ``valgrind --tool=callgrind`` twice in one fresh cache, cold then warm, with
one compile worker, and reports the instructions of each, their difference (the compile work),
and the cold run's instructions by shared object (CPython's library, LLVM's, the C library).
``--pythonpath`` counts another checkout; ``--b-pythonpath`` counts a second one at the same
time on the other core (callgrind is single-threaded, so both take the same wall time).

It is slow: a TRPO cold start is ~80 G instructions, about 15 minutes under callgrind (the warm
run about one). valgrind is a Debian package, not a numbarl dependency.

Usage::

    python experiments/compile_instructions.py --learner trpo
    python experiments/compile_instructions.py --learner trpo --pythonpath /path/to/old \\
        --b-pythonpath /path/to/new

Writes ``results/compile_instructions.csv``: one row per checkout.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import common
import pandas as pd
from cold_compile import LEARNERS, TABULAR, train_argv

from numbarl.results import write_csv

# the shared objects reported by name; everything else is summed as "other"
OBJECTS = {"python": "libpython", "llvm": "libllvmlite", "libc": "libc.so"}


def find_valgrind() -> str:
    """The valgrind executable, or a ValueError saying how to install it."""
    path = shutil.which("valgrind")
    if path is None:
        raise ValueError("valgrind not found: install it (Debian: apt-get install valgrind)")
    return path


def total_instructions(log: str) -> int:
    """The ``I   refs`` total a callgrind run prints at its end."""
    match = re.search(r"I\s+refs:\s+([\d,]+)", log)
    if match is None:
        raise ValueError("no instruction total in callgrind's output")
    return int(match.group(1).replace(",", ""))


def by_object(annotated: str) -> dict[str, int]:
    """Instructions per shared object (``OBJECTS``, the rest as "other") from
    ``callgrind_annotate --threshold=100`` output: each function's exclusive count."""
    sums = dict.fromkeys([*OBJECTS, "other"], 0)
    line = re.compile(r"^\s*([\d,]+) \([ \d.]+%\)\s+(.*)$")
    for text in annotated.splitlines():
        match = line.match(text)
        if match is None or "PROGRAM TOTALS" in text:
            continue
        count = int(match.group(1).replace(",", ""))
        where = match.group(2)
        key = next((k for k, name in OBJECTS.items() if name in where), "other")
        sums[key] += count
    return sums


def count(algo: str, pythonpath: str | None, workdir: Path) -> dict:
    """Cold then warm ``numbarl train`` of ``algo`` under callgrind in ``workdir``'s fresh
    cache: instructions of each, and the cold run's by object."""
    valgrind = find_valgrind()
    env = common.cold_child_env(
        workdir / "cache", 1, pythonpath, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"
    )
    out: dict = {}
    for run in ("cold", "warm"):
        cg_file = workdir / f"{run}.callgrind"
        proc = subprocess.run(
            [
                valgrind, "--tool=callgrind", "--smc-check=all-non-file",
                f"--callgrind-out-file={cg_file}",
                sys.executable, "-c", common.CLI_CHILD, *train_argv(algo),
            ],
            cwd=workdir,  # not the repository: `import numbarl` must find the measured package
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"{run} run of {algo} failed:\n{proc.stderr[-2000:]}")
        out[f"{run}_instructions"] = total_instructions(proc.stderr)
        if run == "cold":
            annotate = shutil.which("callgrind_annotate") or "callgrind_annotate"
            text = subprocess.run(
                [annotate, "--threshold=100", str(cg_file)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            out.update({f"cold_{k}": v for k, v in by_object(text).items()})
        cg_file.unlink()
    out["compile_instructions"] = out["cold_instructions"] - out["warm_instructions"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learner", default="trpo", choices=[*LEARNERS, *TABULAR])
    parser.add_argument("--pythonpath", default=None, help="the checkout to count (A)")
    parser.add_argument("--b-pythonpath", default=None, help="a second checkout, counted alongside")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    find_valgrind()  # before anything runs
    sides = [("a", args.pythonpath)] + ([("b", args.b_pythonpath)] if args.b_pythonpath else [])
    with tempfile.TemporaryDirectory(prefix="compile_instructions_") as tmp:
        dirs = {name: Path(tmp) / name for name, _ in sides}
        for d in dirs.values():
            d.mkdir()
        with ThreadPoolExecutor(len(sides)) as pool:
            futures = {name: pool.submit(count, args.learner, pp, dirs[name]) for name, pp in sides}
            counted = {name: f.result() for name, f in futures.items()}
    rows = []
    for name, pp in sides:
        row = {"side": name, "algorithm": args.learner, "pythonpath": pp or "", **counted[name]}
        rows.append(row)
        print(
            f"{name} {args.learner} ({pp or 'installed numbarl'}): compile "
            f"{row['compile_instructions'] / 1e9:.2f} G instructions (cold "
            f"{row['cold_instructions'] / 1e9:.2f} G, warm {row['warm_instructions'] / 1e9:.2f} G;"
            f" cold by object: CPython {row['cold_python'] / 1e9:.2f} G, LLVM "
            f"{row['cold_llvm'] / 1e9:.2f} G, libc {row['cold_libc'] / 1e9:.2f} G)"
        )
    if len(rows) == 2:
        ratio = rows[1]["compile_instructions"] / rows[0]["compile_instructions"]
        print(f"B/A compile instructions: {ratio:.4f}")
    write_csv(pd.DataFrame(rows), args.out / "compile_instructions.csv")


if __name__ == "__main__":
    main()
