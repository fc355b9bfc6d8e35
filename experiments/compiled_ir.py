"""How much LLVM IR a learner's cold start compiles, by kind of function: a deterministic measure
of compile work, next to ``cold_compile.py``'s seconds (which this machine's load spreads by
several seconds from one run to the next).

For each learner, a fresh child process runs ``numbarl train ALGO ENV --steps N`` (the learners
and step counts of ``cold_compile.LEARNERS``) on an empty ``NUMBA_CACHE_DIR`` with one compile
worker, then reads the optimised LLVM module of every function Numba compiled in it (each
dispatcher's libraries, callees linked in) and counts its lines by the function they belong to:
``main`` (the compiled functions themselves), ``cpython`` (the CPython wrappers that unbox
arguments for a call from Python), ``cfunc`` (the C wrappers a first-class function pointer
calls) and ``nrt`` (the reference-count helpers). The counts are the same in every run of one
checkout; LLVM's optimisation and code generation, about half of a cold start, grow with them.
It also counts the raw IR Numba hands LLVM (before any pass: what Numba builds and prints, and
LLVM parses) with its ``extractvalue`` reads, and with ``--python-calls`` the Python function
calls of the whole first run (``sys.setprofile``: deterministic, a measure of Numba's Python-side
work; the run is slower).

Usage (``--pythonpath`` measures another checkout, as in ``cold_compile.py``)::

    python experiments/compiled_ir.py --label after
    python experiments/compiled_ir.py --label before --pythonpath /path/to/old/checkout

Writes ``results/compiled_ir.csv`` (one row per label and learner; a label's rows for the
learners measured are replaced, others kept) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import common
import pandas as pd
from cold_compile import LEARNERS, _git_commit, _merge

from numbarl.results import write_csv

KINDS = ("main", "cpython", "cfunc", "nrt")

# Run in the child: train on a cold cache, then count the optimised IR of every compiled function.
_CHILD = r"""
import gc, json, os, re, sys
{preamble}
import numbarl
from numbarl import cli
from numba.core.dispatcher import Dispatcher
{raw_ir_counter}
calls = [0]
def profile(frame, event, arg):
    if event == "call":
        calls[0] += 1
if os.environ.get("COMPILED_IR_CALLS") == "1":
    sys.setprofile(profile)
code = cli.main(sys.argv[1:])
sys.setprofile(None)
lines = dict.fromkeys(("main", "cpython", "cfunc", "nrt"), 0)
functions = 0
for obj in gc.get_objects():
    if not isinstance(obj, Dispatcher):
        continue
    for cres in obj.overloads.values():
        functions += 1
        for part in re.split(r"\n(?=define )", cres.library.get_llvm_str()):
            match = re.match(r'define [^@]*@"?([^"(]+)', part)
            if match is None:
                continue
            name = match.group(1)
            kind = ("cpython" if name.startswith("_ZN7cpython") else "cfunc"
                    if name.startswith("cfunc.") else "nrt" if name.startswith("NRT_") else "main")
            lines[kind] += part.count("\n")
json.dump({"lines": lines, "functions": functions, "numbarl_file": numbarl.__file__,
           "raw": {"lines": raw[0], "extractvalue": raw[1]}, "calls": calls[0]},
          open(os.environ["COMPILED_IR_REPORT"], "w"))
sys.exit(code or 0)
"""


def measure(
    algo: str, label: str, pythonpath: str | None = None, python_calls: bool = False
) -> dict:
    """One cold ``numbarl train`` of ``algo`` in a child process: its IR lines by kind, the raw
    IR lines (and ``extractvalue`` reads) Numba handed LLVM, and with ``python_calls`` the Python
    function calls of the whole run (``sys.setprofile``; slower: off by default, 0)."""
    env_id, steps = LEARNERS[algo]
    with tempfile.TemporaryDirectory(prefix=f"ir_{algo}_") as tmp:
        work = Path(tmp)
        report = work / "report.json"
        child_env = common.cold_child_env(
            work / "numba_cache",
            1,  # every function compiled in the child, where it is read
            pythonpath,
            COMPILED_IR_REPORT=str(report),
            COMPILED_IR_CALLS="1" if python_calls else "0",
        )
        argv = ["train", algo, env_id, "--steps", str(steps), "--seed", "0"]
        argv += ["--out", str(work / "history.csv")]
        child = _CHILD.replace("{preamble}", common.CHECKOUT_PREAMBLE)
        child = child.replace("{raw_ir_counter}", common.RAW_IR_COUNTER)
        proc = subprocess.run(
            [sys.executable, "-c", child, *argv],
            cwd=work,
            env=child_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"numbarl train {algo} {env_id} failed:\n{proc.stderr[-3000:]}")
        out = json.loads(report.read_text())
    row = {"label": label, "commit": _git_commit(out["numbarl_file"]), "algorithm": algo}
    row.update({f"{k}_lines": out["lines"][k] for k in KINDS})
    row["total_lines"] = sum(out["lines"].values())
    row["functions"] = out["functions"]
    row["raw_lines"] = out["raw"]["lines"]
    row["raw_extractvalue"] = out["raw"]["extractvalue"]
    row["python_calls"] = out["calls"]
    return row


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", default="after", help="name of this measurement (before/after)")
    parser.add_argument("--pythonpath", default=None, help="PYTHONPATH holding the numbarl to read")
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS), choices=list(LEARNERS))
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument(
        "--python-calls", action="store_true", help="also count the run's Python function calls"
    )
    args = parser.parse_args(argv)
    rows = []
    for algo in args.learners:
        row = measure(algo, args.label, args.pythonpath, args.python_calls)
        print(
            f"{args.label:>8} {row['commit']} {algo:13s} "
            + ", ".join(f"{k} {row[f'{k}_lines']:,}" for k in KINDS)
            + f"; {row['total_lines']:,} lines, {row['functions']} functions; raw "
            + f"{row['raw_lines']:,} lines ({row['raw_extractvalue']:,} extractvalue)"
            + (f", {row['python_calls']:,} Python calls" if args.python_calls else ""),
            flush=True,
        )
        rows.append(row)
    path = args.out / "compiled_ir.csv"
    table = _merge(path, pd.DataFrame(rows))
    write_csv(table, path)
    print(table.pivot_table(index="algorithm", columns="label", values="total_lines"))
    return table


if __name__ == "__main__":
    main()
