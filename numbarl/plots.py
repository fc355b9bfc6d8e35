"""Learning curves and summary tables of a results folder (``numbarl plot``, ``numbarl summarise``).

A results folder holds tidy CSV files, one per run (as `numbarl.sweep` writes them). `curves`
turns them into one mean curve per group with a 95% bootstrap band (SciPy's
``scipy.stats.bootstrap``, percentile method, seeded), `plot` draws them with matplotlib (the Agg
canvas: no display needed, no global pyplot state) and `summarise_runs` gives the
`numbarl.results.summarise` table over runs, each run counted once.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .results import check_tidy, read_results, summarise

__all__ = ["check_groups", "curves", "load_runs", "plot", "summarise_runs"]

RUN = "source"  # the column naming each row's run (its file)
_BOOT_ELEMENTS = 4_000_000  # resamples x runs x points per bootstrap batch (bounds memory)


def load_runs(directory: str | Path) -> pd.DataFrame:
    """Every ``*.csv`` in ``directory`` as one frame with a ``source`` column (the run's file)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"results folder {str(directory)!r} does not exist")
    files = sorted(directory.glob("*.csv"))
    if not files:
        raise ValueError(f"results folder {str(directory)!r} holds no CSV file")
    return read_results(files, source=True)


def _as_list(by: Sequence[str] | str | None) -> list[str]:
    if by is None:
        return []
    items = [by] if isinstance(by, str) else list(by)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def check_groups(df: pd.DataFrame, by: Sequence[str]) -> None:
    """ValueError if the runs mix algorithms or envs that ``by`` does not keep apart, or if a
    ``by`` column is missing."""
    check_tidy(df, list(by))
    for column in ("algorithm", "env"):
        if column in df.columns and column not in by and df[column].nunique() > 1:
            names = ", ".join(map(str, sorted(df[column].dropna().unique())))
            raise ValueError(
                f"the results mix {column}s ({names}); group them with --by {column} "
                f"(by=[{column!r}, ...])"
            )


def _column(df: pd.DataFrame, name: str | None, defaults: tuple[str, str], flag: str) -> str:
    """``name``, or the first of ``defaults`` the results have; ValueError naming the numeric
    columns (and the ``flag`` that picks one) if there is none."""
    if name is None:
        name = next((c for c in defaults if c in df.columns), None)
    if name not in df.columns:
        numeric = ", ".join(c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]))
        if name is None:
            raise ValueError(
                f"no {' or '.join(defaults)} column; name one with {flag} (numeric: {numeric})"
            )
        raise ValueError(f"no column {name!r} in the results; numeric columns: {numeric}")
    return name


def _value_column(df: pd.DataFrame, y: str | None) -> str:
    return _column(df, y, ("eval_return", "return"), "--y")


def _x_column(df: pd.DataFrame, x: str | None) -> str:
    return _column(df, x, ("step", "episode"), "--x")


def _bootstrap(data: np.ndarray, ci: float, n_boot: int, seed: int) -> tuple[np.ndarray, ...]:
    """Percentile bootstrap interval of the mean of each column of ``data`` [runs, points]."""
    kwargs = {
        "rng"
        if "rng" in inspect.signature(stats.bootstrap).parameters
        else "random_state": np.random.default_rng(seed)
    }
    batch = max(1, _BOOT_ELEMENTS // max(1, data.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant columns: a zero-width interval is right
        res = stats.bootstrap(
            (data,),
            np.mean,
            axis=0,
            vectorized=True,
            n_resamples=n_boot,
            batch=batch,
            confidence_level=ci,
            method="percentile",
            **kwargs,
        )
    return res.confidence_interval.low, res.confidence_interval.high


def curves(
    df: pd.DataFrame,
    y: str | None = None,
    x: str | None = None,
    by: Sequence[str] | str | None = None,
    *,
    smooth: int = 1,
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (group, x): ``mean`` of ``y`` over runs, the ``ci`` bootstrap band
    ``ci_low``/``ci_high`` and ``n`` runs. Runs are told apart by ``source`` (else by
    ``seed``). A run that ended early (e.g. stopped once solved) keeps its last value for later
    x, so every run counts at every x; ``smooth`` > 1 first takes a trailing rolling mean of
    that many points within each run (noisy per-episode returns)."""
    by = _as_list(by)
    y, x = _value_column(df, y), _x_column(df, x)
    check_groups(df, by)
    run = RUN if RUN in df.columns else "seed"
    check_tidy(df, [run])
    if isinstance(smooth, bool) or not isinstance(smooth, int) or smooth < 1:
        raise ValueError(f"smooth must be an integer >= 1, got {smooth!r}")
    rows = []
    groups = df.groupby(by, sort=True, dropna=False) if by else [((), df)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        wide = group.pivot_table(index=run, columns=x, values=y, aggfunc="mean", dropna=False)
        if smooth > 1:
            wide = wide.T.rolling(smooth, min_periods=1).mean().T
        wide = wide.ffill(axis=1)  # a run that stopped early keeps its last value
        data = wide.to_numpy(dtype=np.float64)
        xs = wide.columns.to_numpy()
        n = (~np.isnan(data)).sum(axis=0)
        mean = np.nanmean(np.where(n > 0, data, 0.0), axis=0) if data.size else data
        low, high = mean.copy(), mean.copy()
        full = n == data.shape[0]
        if data.shape[0] >= 2 and full.any():
            low[full], high[full] = _bootstrap(data[:, full], ci, n_boot, seed)
        for j in np.flatnonzero(~full & (n >= 2)):  # points some runs have not reached
            col = data[~np.isnan(data[:, j]), j]
            low[j], high[j] = (v[0] for v in _bootstrap(col[:, None], ci, n_boot, seed))
        frame = pd.DataFrame({x: xs, "mean": mean, "ci_low": low, "ci_high": high, "n": n})
        for name, value in zip(by, key, strict=True):
            frame.insert(by.index(name), name, value)
        rows.append(frame[n > 0])
    return pd.concat(rows, ignore_index=True)


def plot(
    df_or_dir: pd.DataFrame | str | Path,
    y: str | None = None,
    x: str | None = None,
    by: Sequence[str] | str | None = None,
    out: str | Path = "fig.png",
    *,
    smooth: int = 1,
    title: str | None = None,
    seed: int = 0,
) -> Path:
    """Draw one mean curve per group of ``by`` with its 95% bootstrap band and write a PNG to
    ``out``; returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    df = df_or_dir if isinstance(df_or_dir, pd.DataFrame) else load_runs(df_or_dir)
    by = _as_list(by)
    y, x = _value_column(df, y), _x_column(df, x)
    table = curves(df, y, x, by, smooth=smooth, seed=seed)
    fig = Figure(figsize=(7.0, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    groups = table.groupby(by, sort=True) if by else [((), table)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(map(str, key)) or None  # the legend's title names the columns
        (line,) = ax.plot(group[x], group["mean"], label=label, lw=1.5)
        ax.fill_between(
            group[x], group["ci_low"], group["ci_high"], color=line.get_color(), alpha=0.2, lw=0
        )
    runs = df[RUN].nunique() if RUN in df.columns else df["seed"].nunique()
    what = " on ".join(
        ", ".join(map(str, sorted(df[c].dropna().unique())))
        for c in ("algorithm", "env")
        if c in df.columns
    )
    smooth_text = f", rolling mean of {smooth}" if smooth > 1 else ""
    ax.set_title(title or f"{what}: {y} ({runs} runs{smooth_text})")
    ax.set_xlabel(x)
    ax.set_ylabel(f"{y} (mean, 95% bootstrap CI)")
    ax.grid(alpha=0.3)
    if by:
        ax.legend(title=", ".join(by), fontsize="small")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    tmp.replace(out)
    return out


def summarise_runs(
    df_or_dir: pd.DataFrame | str | Path,
    y: str | None = None,
    by: Sequence[str] | str | None = None,
    last: int | None = None,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """`numbarl.results.summarise` over runs: each run's ``y`` averaged over its last ``last``
    rows (all rows if None), then mean, sem, bootstrap CI, IQM and n over runs per group."""
    df = df_or_dir if isinstance(df_or_dir, pd.DataFrame) else load_runs(df_or_dir)
    by = _as_list(by)
    y = _value_column(df, y)
    check_groups(df, by)
    run = RUN if RUN in df.columns else "seed"
    if last is not None:
        if isinstance(last, bool) or not isinstance(last, int) or last < 1:
            raise ValueError(f"last must be an integer >= 1, got {last!r}")
        df = df[df[y].notna()].groupby(run, sort=False).tail(last)
    return summarise(df, by=by, value=y, over=run, seed=seed)
