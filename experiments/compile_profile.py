"""Where one cold start's compile work goes, by phase: a sampling profile of ``numbarl train
ALGO ENV`` on an empty Numba cache with one compile worker, its samples sorted into LLVM's
phases and Numba's Python passes.

The profiler is py-spy (``.venv/bin/pip install py-spy``; not a dependency of numbarl), sampling
the child's Python stacks at ``--rate`` Hz. A sample whose stack is inside a call into LLVM
(llvmlite's ``ffi`` call) counts for LLVM's phase: the per-function pre-pass
(``_optimize_functions``), the module passes (``_optimize_final_module``), machine-code
emission (``finalize_object``), parsing the IR text (``parse_assembly``) or other calls. The
rest counts for Numba's IR printed as text (llvmlite's ``Module.__repr__``), the innermost
Numba compiler pass on the stack (``numba: BaseNativeLowering``: Numba lowering its IR to LLVM
IR, in Python; ``numba: BaseTypeInference``, ...), imports, or ``other`` (the run itself, the
CLI). The profiler slows the child by a few percent; the shares are what to read.

Usage::

    python experiments/compile_profile.py --learner trpo

Writes ``results/compile_profile.csv`` (label, algorithm, phase, seconds, share; a label's rows
for the learner are replaced) and prints the phases, largest first.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import common
import pandas as pd
from cold_compile import LEARNERS, TABULAR, train_argv

from numbarl.results import write_csv

_PASS = re.compile(r"^(\w+)\.run_pass ")


def classify(frames: list[str]) -> str:
    """The phase of one sample, from its stack (outermost frame first, each ``function (file:
    line)`` as py-spy writes them)."""
    if any(f.startswith("_lib_fn_wrapper.__call__ ") for f in frames):  # inside LLVM
        if any("_optimize_functions " in f for f in frames):
            return "llvm: function pre-pass"
        if any("_optimize_final_module " in f for f in frames):
            return "llvm: module passes"
        if any(f.startswith("ExecutionEngine.finalize_object ") for f in frames):
            return "llvm: machine code"
        if any(f.startswith("parse_assembly ") for f in frames):
            return "llvm: parse IR text"
        return "llvm: other"
    if any(f.startswith("Module.__repr__ ") for f in frames):
        return "numba: IR printed as text"
    innermost = None
    for f in frames:
        match = _PASS.match(f)
        if match:
            innermost = match.group(1)
    if innermost is not None:
        return f"numba: {innermost}"
    if any(f.startswith("_find_and_load ") for f in frames):
        return "imports"
    return "other"


def phases(raw_lines: Iterable[str], rate: float) -> pd.DataFrame:
    """Seconds and share per phase from py-spy's raw output (``stack count`` per line, frames
    separated by ``;``), sampled at ``rate`` Hz."""
    counts: Counter[str] = Counter()
    for line in raw_lines:
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, n = line.rpartition(" ")
        counts[classify(stack.split(";"))] += int(n)
    total = sum(counts.values())
    if total == 0:
        raise ValueError("the profile holds no samples")
    rows = [
        {"phase": phase, "seconds": round(n / rate, 2), "share": round(n / total, 4)}
        for phase, n in counts.most_common()
    ]
    return pd.DataFrame(rows)


def find_py_spy() -> str | None:
    """py-spy next to this interpreter, else on PATH; None if neither."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def profile(algo: str, rate: int) -> pd.DataFrame:
    """One cold start of ``algo`` under py-spy, with one compile worker: its phases."""
    py_spy = find_py_spy()
    if py_spy is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    with tempfile.TemporaryDirectory(prefix="numbarl-profile-") as tmp:
        raw = Path(tmp) / "profile.raw"
        env = common.cold_child_env(Path(tmp) / "cache", 1, None)
        cmd = [py_spy, "record", "--rate", str(rate), "--format", "raw", "--output", str(raw)]
        cmd += ["--", sys.executable, "-m", "numbarl", *train_argv(algo)]
        done = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0 or not raw.exists():
            raise RuntimeError(f"py-spy failed ({done.returncode}):\n{done.stderr[-2000:]}")
        with raw.open() as lines:
            return phases(lines, rate)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learner", default="trpo", choices=[*LEARNERS, *TABULAR])
    parser.add_argument("--rate", type=int, default=200, help="samples a second")
    parser.add_argument("--label", default="profile")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    if args.rate <= 0:
        raise ValueError(f"--rate must be positive, got {args.rate}")

    table = profile(args.learner, args.rate)
    table.insert(0, "algorithm", args.learner)
    table.insert(0, "label", args.label)
    path = args.out / "compile_profile.csv"
    args.out.mkdir(parents=True, exist_ok=True)
    kept = pd.read_csv(path) if path.exists() else pd.DataFrame()
    if len(kept):
        kept = kept[(kept["label"] != args.label) | (kept["algorithm"] != args.learner)]
    write_csv(pd.concat([kept, table], ignore_index=True), path)
    for row in table.itertuples():
        print(f"{row.seconds:7.2f} s  {row.share:6.1%}  {row.phase}")
    return table


if __name__ == "__main__":
    main()
