"""What passing a record of arrays by value costs a cold compile, against one reference.

numbarl's kernels take records of arrays (``Policy``, ``Rollout``, ``VecEnv``, a learner's
state: ``NamedTuple``s) by value: Numba lowers every use of such a record to moves of the whole
struct (``extractvalue``, ``insertvalue``, ``load``, ``store``, ``alloca``: such moves are about
two thirds of the IR a deep learner's cold start hands LLVM, most of them Numba's own array
indexing rather than records), and a kernel called from Python gets a CPython
wrapper that unboxes each of its arrays. A Numba structref (``numba.experimental.structref``)
holding the same arrays is passed as one reference-counted pointer, and its fields are loaded
where they are used. This script measures that difference on a synthetic kernel. numbarl's
kernels behind pointers now take their records by reference (``numbarl.nn.recref``, a pointer
without reference counts), which saved the learners far less than this kernel's halving
(docs/cold_compile.md, "Records by reference": those kernels have no CPython wrapper, this
one's largest saving, and read their records once).

For each form (``tuple``: a ``NamedTuple`` of ``--arrays`` float64 arrays; ``struct``: a
structref with the same fields, built by its Python constructor), a fresh child process with an
empty ``NUMBA_CACHE_DIR`` builds the record and compiles one kernel that reads a third of the
arrays in an inlined helper called three times per step and half of them in its own loop body,
then calls it. Reported per run: the kernel's compile CPU seconds (the first call), the raw IR
lines Numba handed LLVM for it, its optimised IR lines and the CPython wrapper's share of them,
the CPU seconds the structref's constructor took to compile (0 for the tuple), the seconds of
200 warm calls of 1,000 steps, and the kernel's result (the same in both forms).

Usage::

    python experiments/record_vs_structref.py [--arrays 40] [--repeats 2]

Writes ``results/record_vs_structref.csv`` (one row per form and repeat) and prints a table.
The line counts are the same in every run; the seconds move with the machine's pace, so the
forms alternate (tuple, struct, struct, tuple, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import common
import pandas as pd

from numbarl.results import write_csv

FORMS = ("tuple", "struct")

# Run in the child: ``{n}`` arrays, the record in form ``{form}``, one kernel compiled cold.
_CHILD = r"""
import json, re, sys, time
from typing import NamedTuple
import numpy as np
from numba import njit, types
from numba.experimental import structref

N, FORM = {n}, "{form}"
{raw_ir_counter}

names = [f"a{i}" for i in range(N)]
arrays = [np.arange(8.0) + i for i in range(N)]
constructor_cpu = 0.0
if FORM == "tuple":
    Rec = NamedTuple("Rec", [(name, np.ndarray) for name in names])
    record = Rec(*arrays)
else:
    @structref.register
    class RecType(types.StructRef):
        def preprocess_fields(self, fields):
            return tuple((name, types.unliteral(t)) for name, t in fields)
    class Rec(structref.StructRefProxy):
        pass
    structref.define_proxy(Rec, RecType, names)
    start = time.process_time()
    record = Rec(*arrays)
    constructor_cpu = time.process_time() - start

lines = ["def helper(r, k):", "    s = 0.0"]
lines += [f"    s += r.a{i}[k % 8]" for i in range(0, N, 3)]
lines += ["    r.a1[0] = s", "    return s", "def kernel(r, n):", "    t = 0.0",
          "    for k in range(n):", "        t += helper(r, k)", "        t += helper(r, k + 1)",
          "        t += helper(r, k + 2)"]
lines += [f"        t += r.a{i}[k % 8] * r.a{(i + 1) % N}[(k + 1) % 8]" for i in range(0, N, 2)]
lines += ["    return t"]
scope = {}
exec("\n".join(lines), scope)
scope["helper"] = njit(inline="always")(scope["helper"])
kernel = njit(scope["kernel"])

raw[0] = 0
start = time.process_time()
result = kernel(record, 100)
compile_cpu = time.process_time() - start
text = kernel.overloads[kernel.signatures[0]].library.get_llvm_str()
wrapper = sum(part.count("\n") for part in re.split(r"\n(?=define )", text)
              if part.startswith("define") and "_ZN7cpython" in part.split("(")[0])
start = time.perf_counter()
for _ in range(200):
    kernel(record, 1000)
run_s = time.perf_counter() - start
print(json.dumps(dict(compile_cpu_s=compile_cpu, raw_lines=raw[0],
                      optimised_lines=text.count("\n"), wrapper_lines=wrapper,
                      constructor_cpu_s=constructor_cpu, run_s=run_s, result=result)))
"""


def measure(form: str, arrays: int) -> dict:
    """One cold compile of the synthetic kernel with its record in ``form``, in a fresh child
    process on an empty Numba cache."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if arrays < 2:
        raise ValueError(f"arrays must be at least 2, got {arrays}")
    code = _CHILD.replace("{n}", str(int(arrays))).replace("{form}", form)
    code = code.replace("{raw_ir_counter}", common.RAW_IR_COUNTER)
    with tempfile.TemporaryDirectory(prefix="record_vs_structref_") as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "cache"), "NUMBA_NUM_THREADS": "1"}
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True, text=True
        )
    if proc.returncode != 0:
        raise RuntimeError(f"the {form} child failed:\n{proc.stderr[-3000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"form": form, "arrays": int(arrays), **row}


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arrays", type=int, default=40, help="arrays in the record")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each form, alternating")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    rows = []
    for r in range(args.repeats):
        for form in FORMS if r % 2 == 0 else FORMS[::-1]:
            row = {"repeat": r, **measure(form, args.arrays)}
            print(
                f"{form:6s} compile {row['compile_cpu_s']:.2f} CPU s, raw IR {row['raw_lines']:,}"
                f" lines, optimised {row['optimised_lines']:,} (CPython wrapper"
                f" {row['wrapper_lines']:,}), constructor {row['constructor_cpu_s']:.2f} CPU s,"
                f" 200 runs {row['run_s']:.3f} s",
                flush=True,
            )
            rows.append(row)
    table = pd.DataFrame(rows)
    write_csv(table, args.out / "record_vs_structref.csv")
    columns = ["compile_cpu_s", "raw_lines", "optimised_lines", "wrapper_lines"]
    columns += ["constructor_cpu_s", "run_s"]
    print(table.groupby("form")[columns].median().round(3).to_string())
    return table


if __name__ == "__main__":
    main()
