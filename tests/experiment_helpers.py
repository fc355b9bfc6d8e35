"""What the experiment-script tests (test_experiments_*.py) share: loading a script from
experiments/, the smoke run's checks, the same-bytes-whatever-the-threads run, and the paired
statistical comparisons.

Statistical bounds: a claimed ordering must hold by more than `Z` standard errors of the
per-run difference, so a chance ordering fails with probability below ~0.1%."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numba
import numpy as np
import pandas as pd
import pytest

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
if str(EXPERIMENTS) not in sys.path:
    sys.path.insert(0, str(EXPERIMENTS))  # the scripts import `common` as a sibling
common = importlib.import_module("common")

Z = 3.0
SEED = 0
SUMMARY_KEYS = ("experiment", "figure", "key", "ours", "book", "runs", "seconds")


def script(name: str) -> ModuleType:
    """The experiment script ``experiments/<name>.py`` as a module."""
    return common.load(name)


def mean_se(x: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error (ddof 1)."""
    x = np.asarray(x, dtype=float)
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))


def assert_above(diff: np.ndarray, what: str) -> None:
    """The per-run differences ``diff`` average above 0 by more than `Z` standard errors."""
    gap, se = mean_se(diff)
    assert gap > Z * se, f"{what}: gap {gap:.4f} is not > {Z} SE ({se:.4f})"


def assert_below(low: np.ndarray, high: np.ndarray, what: str) -> None:
    """Paired per run: ``low`` below ``high`` by more than `Z` standard errors."""
    assert_above(np.asarray(high, float) - np.asarray(low, float), what)


def assert_discovered(names: Sequence[str]) -> dict[str, ModuleType]:
    """Every script of ``names`` is found by `common.discover` (so `make demo` runs it) and has
    its ``NAME``, a ``FIGURE`` and ``RUNS`` >= 1; returns everything discovered."""
    found = common.discover()
    for name in names:
        assert name in found, f"{name} is not discovered"
        module = found[name]
        assert module.NAME == name and module.RUNS >= 1 and module.FIGURE, name
    return found


def smoke_run(
    name: str,
    columns: Sequence[str],
    suffixes: Sequence[str],
    out: Path,
    capsys,
    check_runs: bool = True,
) -> pd.DataFrame:
    """``main`` with 2 runs and seed 3 into ``out``: the CSV has ``columns`` (and, where it has
    a ``run`` column and ``check_runs``, runs 0 and 1; an exact or single-run script has only
    run 0), every ``<name><suffix>.csv`` has rows, the PNG is a real
    picture, the summary dict has every key and one summary line is printed. Returns the CSV."""
    summary = script(name).main(["--runs", "2", "--seed", "3", "--out", str(out)])
    df = pd.read_csv(out / f"{name}.csv")
    assert set(columns) <= set(df.columns)
    assert len(df) > 0
    if check_runs and "run" in df.columns:
        assert sorted(df["run"].unique()) == [0, 1]
    for suffix in suffixes:
        assert len(pd.read_csv(out / f"{name}{suffix}.csv")) > 0
    png = out / f"{name}.png"
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for key in SUMMARY_KEYS:
        assert key in summary
    assert summary["experiment"] == name
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith(name) and "book:" in printed[0]
    return df


def assert_same_csv_whatever_the_threads(
    name: str, out: Path, monkeypatch: pytest.MonkeyPatch, runs: int = 5
) -> None:
    """``main`` (``runs`` runs, seed 11) on 1 and then 2 threads, both numbarl.runs' pool
    (NUMBARL_THREADS) and Numba's prange threads, writes the same CSV bytes."""
    blobs = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            monkeypatch.setenv("NUMBARL_THREADS", str(threads))
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            script(name).main(
                ["--runs", str(runs), "--seed", "11", "--out", str(out / f"{threads}")]
            )
            blobs.append((out / f"{threads}" / f"{name}.csv").read_bytes())
    finally:
        numba.set_num_threads(before)
    assert blobs[0] == blobs[1]


def bench_books_runs(benchmark, module: ModuleType, rounds: int = 3):
    """Benchmark ``module.run(module.RUNS, 0)``, the script's computation at the book's scale
    without I/O or plotting, after an untimed call with 2 runs (compiling or loading from
    Numba's cache); records ``runs`` in ``extra_info`` and returns what ``run`` returned."""
    module.run(min(2, module.RUNS), 0)
    result = benchmark.pedantic(module.run, args=(module.RUNS, 0), rounds=rounds, iterations=1)
    benchmark.extra_info["runs"] = module.RUNS
    return result
