"""Resumable sweeps: many seeds x a grid of config values, one tidy CSV per finished run.

``sweep(algo, env, seeds, grid, out)`` trains every (config, seed) combination with
``numbarl.train`` and writes each run's history atomically to ``out/<algo>__<env>__<key>.csv``,
where ``<key>`` names the grid point and seed. A run whose file exists is skipped, so a sweep that
is interrupted keeps every finished run and resumes where it stopped; `numbarl.results` reads the
directory into one DataFrame.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import api
from .results import read_results, write_csv


def grid_points(grid: Mapping[str, Sequence[Any]] | None) -> list[dict[str, Any]]:
    """Every combination of ``grid`` values, in the order the keys and values are given."""
    if not grid:
        return [{}]
    for key, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise ValueError(f"grid[{key!r}] must be a sequence of values, got {values!r}")
        if len(list(values)) == 0:
            raise ValueError(f"grid[{key!r}] is empty")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-")


def run_path(out: Path, algo: str, env: str, point: Mapping[str, Any], seed: int) -> Path:
    """Where the run of ``algo`` on ``env`` at grid ``point`` with ``seed`` is written."""
    parts = [f"{k}={point[k]}" for k in point] + [f"seed={seed}"]
    return out / f"{_slug(algo)}__{_slug(env)}__{_slug('_'.join(parts))}.csv"


def sweep(
    algo: str,
    env: str,
    seeds: Iterable[int],
    out: str | Path,
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    env_options: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    **config: Any,
) -> pd.DataFrame:
    """Train ``algo`` on ``env`` for every seed and grid point (fixed ``config`` fields apply to
    all), skipping runs already written to ``out``; returns every run's rows as one frame.

    Every configuration is checked before the first run starts, so a typo in the grid fails at
    once rather than after hours of finished runs. ``progress(done, total)`` is called per run."""
    seeds = [api.check_seed(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    points = grid_points(grid)
    overlap = sorted(set(config) & set(grid or {}))
    if overlap:
        raise ValueError(f"fields {overlap} are both fixed and swept; give each in one place")
    for point in points:  # validate everything first (raises ValueError/TypeError)
        api.build_config(algo, env, {**config, **point})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(point, seed) for point in points for seed in seeds]
    for done, (point, seed) in enumerate(jobs, start=1):
        path = run_path(out, algo, env, point, seed)
        if not path.exists():
            res = api.train(algo, env, seed=seed, env_options=env_options, **config, **point)
            write_csv(res.history, path)
        if progress is not None:
            progress(done, len(jobs))
    return read_results([run_path(out, algo, env, p, s) for p, s in jobs])
