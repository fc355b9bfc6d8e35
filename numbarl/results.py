"""Tidy results: write CSV atomically, read many files into one frame, summarise across runs.

A results frame has one row per observation and one column per variable (``algorithm``, ``env``,
``seed`` or ``run``, the x variable ``episode`` or ``step``, metrics, config fields), never wide
per-seed columns. `summarise` turns it into one row per group with the mean, the standard error,
a seeded bootstrap percentile confidence interval of the mean, the interquartile mean and n.
"""

from __future__ import annotations

import glob
import io
import math
import numbers
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "check_tidy",
    "concat_results",
    "csv_text",
    "read_csv_text",
    "read_results",
    "summarise",
    "write_csv",
    "write_text",
]

PathLike = str | os.PathLike

# Bootstrap resamples are drawn in blocks of at most this many indices to bound memory.
_BOOT_BLOCK = 2_000_000


def _format_float(value: float) -> str:
    """Shortest text that reads back as the same float64 (Python's repr): deterministic."""
    return repr(float(value))


def check_tidy(df: pd.DataFrame, required: Sequence[str] | str = ()) -> pd.DataFrame:
    """Return ``df`` if it is a DataFrame with unique column names including every column in
    ``required``; else raise TypeError/ValueError naming what is wrong."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    required = [required] if isinstance(required, str) else list(required)
    duplicated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if duplicated:
        raise ValueError(f"results have duplicated column(s): {', '.join(duplicated)}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(
            f"results are missing required column(s): {', '.join(map(str, missing))}; "
            f"columns present: {', '.join(map(str, df.columns)) or 'none'}"
        )
    return df


def csv_text(df: pd.DataFrame) -> str:
    """The text `write_csv` writes for ``df``: no index, floats as their shortest round-trip
    text, lines ending in ``\\n``; the same frame always gives the same text. Lets a worker
    process format a run's file and send only the text back (`write_text`)."""
    check_tidy(df)
    return df.to_csv(index=False, lineterminator="\n", float_format=_format_float)


def write_text(text: str, path: PathLike) -> Path:
    """Write ``text`` to ``path`` atomically: into a temporary file in the same directory,
    flushed to disk, then renamed over ``path`` with ``os.replace``, so readers see the old
    file or the new one, never half a file. Creates missing parent directories. Returns the
    path."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise ValueError(f"path {str(path)!r} is a directory; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_csv(df: pd.DataFrame, path: PathLike) -> Path:
    """Write ``df`` (without its index) to ``path`` atomically (`write_text` of `csv_text`):
    readers see the old file or the new one, never half a file, and the same frame always
    gives the same bytes. Creates missing parent directories. Returns the path."""
    return write_text(csv_text(df), path)


def _expand(paths_or_glob: PathLike | Iterable[PathLike]) -> list[str]:
    items = [paths_or_glob] if isinstance(paths_or_glob, str | os.PathLike) else list(paths_or_glob)
    if not items:
        raise ValueError("no results files given")
    files: list[str] = []
    for item in items:
        text = os.fspath(item)
        if glob.has_magic(text):
            matched = sorted(glob.glob(text, recursive=True))
            if not matched:
                raise FileNotFoundError(f"no results files match {text!r}")
            files.extend(matched)
        elif os.path.isfile(text):
            files.append(text)
        else:
            raise FileNotFoundError(f"results file {text!r} does not exist")
    return list(dict.fromkeys(files))  # each file once, in order


def read_results(
    paths_or_glob: PathLike | Iterable[PathLike], source: bool = False
) -> pd.DataFrame:
    """Read CSV files into one DataFrame (rows in file order, files in the order given, a glob's
    matches sorted; columns are the union, missing values NaN). ``source=True`` adds a column
    ``source`` with each row's file path."""
    frames = []
    for file in _expand(paths_or_glob):
        frame = pd.read_csv(file)
        if source:
            if "source" in frame.columns:
                raise ValueError(f"{file!r} already has a column 'source'; use source=False")
            frame["source"] = file
        frames.append(frame)
    return concat_results(frames)


def read_csv_text(text: str) -> pd.DataFrame:
    """The frame `read_results` reads from a file holding ``text`` (a `csv_text`), without the
    file: a sweep parses each run's text as it arrives, while workers still compute."""
    return pd.read_csv(io.StringIO(text))


def concat_results(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Frames of several files as `read_results` joins them: rows in order, columns the union,
    missing values NaN."""
    return pd.concat(frames, ignore_index=True, sort=False)


def _bootstrap_ci(x: np.ndarray, ci: float, n_boot: int, seed: int) -> tuple[float, float]:
    """Percentile interval of the mean over ``n_boot`` resamples of ``x`` with replacement."""
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    block = max(1, _BOOT_BLOCK // n)
    for start in range(0, n_boot, block):
        stop = min(n_boot, start + block)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = x[idx].mean(axis=1)
    low, high = np.percentile(means, [50.0 * (1.0 - ci), 50.0 * (1.0 + ci)])
    return float(low), float(high)


def _stats(x: np.ndarray, ci: float, n_boot: int, seed: int) -> dict[str, float | int]:
    n = x.shape[0]
    if n == 0:
        nan = float("nan")
        return {"mean": nan, "sem": nan, "ci_low": nan, "ci_high": nan, "iqm": nan, "n": 0}
    # Imported here: scipy.stats costs ~1 s of import, paid by every sweep worker and CLI
    # command that only writes results otherwise.
    from scipy.stats import trim_mean

    low, high = _bootstrap_ci(x, ci, n_boot, seed)
    return {
        "mean": float(x.mean()),
        "sem": float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
        "ci_low": low,
        "ci_high": high,
        "iqm": float(trim_mean(x, 0.25)),
        "n": n,
    }


def summarise(
    df: pd.DataFrame,
    by: Sequence[str] | str = (),
    value: str = "return",
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    over: str | None = None,
) -> pd.DataFrame:
    """One row per group of ``by`` (sorted; all rows form one group if ``by`` is empty) with:

    - ``mean`` and ``sem`` (sample standard deviation / sqrt(n)) of ``value``;
    - ``ci_low``, ``ci_high``: the ``ci`` bootstrap percentile interval of the mean from
      ``n_boot`` resamples with replacement, drawn from ``np.random.default_rng(seed)`` afresh
      for each group, so a group's interval depends only on its values and the seed;
    - ``iqm``: the interquartile mean, the mean after cutting floor(n / 4) values from each end
      (``scipy.stats.trim_mean(x, 0.25)``, as rliable computes it);
    - ``n``: the number of values (NaN values are left out).

    Each row is one observation (one run). With ``over`` (e.g. ``"run"``) the rows are first
    averaged within each (``by``, ``over``) pair, so every run counts once, e.g.
    ``summarise(df, by="algorithm", over="run")`` for a mean over episodes and then runs."""
    by = [by] if isinstance(by, str) else list(by)
    required = [*by, value] + ([over] if over is not None else [])
    check_tidy(df, required)
    if over is not None and over in by:
        raise ValueError(f"over={over!r} must not be one of the grouping columns by={by}")
    if not pd.api.types.is_numeric_dtype(df[value]) or pd.api.types.is_bool_dtype(df[value]):
        raise TypeError(f"value column {value!r} must be numeric, got dtype {df[value].dtype}")
    if isinstance(ci, bool) or not isinstance(ci, numbers.Real) or not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be a number in (0, 1), got {ci!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")

    data = df[required]
    if over is not None:
        data = data.groupby([*by, over], sort=True, dropna=False)[value].mean().reset_index()
    groups = data.groupby(by, sort=True, dropna=False) if by else [((), data)]
    rows = []
    for key, group in groups:
        x = group[value].to_numpy(dtype=np.float64)
        x = x[~np.isnan(x)]
        row = dict(zip(by, key, strict=True))
        row.update(_stats(x, float(ci), int(n_boot), int(seed)))
        rows.append(row)
    columns = [*by, "mean", "sem", "ci_low", "ci_high", "iqm", "n"]
    out = pd.DataFrame(rows, columns=columns)
    out["n"] = out["n"].astype(np.int64)
    return out
