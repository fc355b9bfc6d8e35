"""What every experiment script shares: its command line, output paths, timing, the summary
line and dict, tidy frames, plotting helpers, and discovery of the scripts for the `make demo`
driver.

The convention of a script ``experiments/<name>.py`` (see ``gridworld_policy_evaluation.py``):

- module constants ``NAME`` (= the file's stem), ``FIGURE`` (the book's figure or example, e.g.
  ``"Figure 6.2"``) and ``RUNS`` (the book's number of runs; 1 for exact DP);
- ``run(runs, seed) -> pandas.DataFrame`` (or a tuple of frames): all the computing, through
  numbarl, with seeds from ``numbarl.runs`` (``np.random.SeedSequence(seed).spawn``), no I/O;
- ``plot(...) -> matplotlib.figure.Figure``: the figure, from the frame(s) only;
- ``main(argv=None) -> dict``: parses ``[--runs N] [--seed S] [--out DIR] [--warmup]``, times
  ``run``, writes ``DIR/<name>.csv`` (`numbarl.results.write_csv`, atomic and byte-stable) and
  ``DIR/<name>.png``, prints one `summary_line` and returns the `summary` dict: `start` does
  all of it but the summary's numbers, which the script hands to `Job.report`.

Shared by several scripts: tidy per-run frames (`per_run_frame`, `per_run_means`), tabular
control runs checked for early stops (`control_runs`) and greedy paths (`greedy_path`).

A driver runs every script with `discover` and `run_all`, and prints `summary_table`.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple, TypeVar

import matplotlib

matplotlib.use("Agg")  # no display; figures are built with matplotlib.figure.Figure (no pyplot)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from numbarl.results import write_csv  # noqa: E402

__all__ = [
    "DEFAULT_OUT",
    "best_alphas",
    "control_runs",
    "EXPERIMENTS_DIR",
    "Summary",
    "discover",
    "finish_axes",
    "greedy_path",
    "group_means",
    "Job",
    "load",
    "new_figure",
    "output_paths",
    "parse_args",
    "per_run_frame",
    "per_run_means",
    "plot_mean_curves",
    "run_all",
    "save_figure",
    "start",
    "summary",
    "summary_line",
    "summary_table",
    "timed",
    "timed_run",
    "write_outputs",
]

EXPERIMENTS_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = Path("results")
# Files in experiments/ that are not experiment scripts.
_NOT_EXPERIMENTS = frozenset({"common", "demo", "__init__"})

Summary = dict[str, Any]
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Command line and paths


def _int_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: the text as an int, rejected below ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
        return value

    return parse


def parse_args(
    argv: Sequence[str] | None, name: str, runs: int, description: str | None = None
) -> argparse.Namespace:
    """Parse ``[--runs N] [--seed S] [--out DIR] [--warmup]``: ``runs`` defaults to the book's
    number, ``seed`` to 0, ``out`` to ``results``. ``--warmup`` calls the computation once with
    few runs before the timed call, so the time printed excludes compiling / cache loading.
    ``argv=None`` reads ``sys.argv[1:]``."""
    ap = argparse.ArgumentParser(prog=f"{name}.py", description=description)
    ap.add_argument(
        "--runs", type=_int_at_least(1), default=runs, help=f"independent runs (book: {runs})"
    )
    ap.add_argument("--seed", type=_int_at_least(0), default=0, help="root seed (default 0)")
    ap.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})"
    )
    ap.add_argument(
        "--warmup",
        action="store_true",
        help="compile/load the kernels with a short call first, so the time shown is compute only",
    )
    return ap.parse_args(None if argv is None else list(argv))


def output_paths(out: str | os.PathLike, name: str, suffix: str = "") -> tuple[Path, Path]:
    """(``out/<name><suffix>.csv``, ``out/<name><suffix>.png``); creates ``out``."""
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{name}{suffix}"
    return directory / f"{stem}.csv", directory / f"{stem}.png"


# ---------------------------------------------------------------------------------------------
# Timing


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """(``fn(*args, **kwargs)``, wall seconds)."""
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def timed_run(
    run: Callable[[int, int], T], runs: int, seed: int, warmup: bool = False
) -> tuple[T, float]:
    """``run(runs, seed)`` timed; with ``warmup`` a first ``run(min(runs, 2), seed)`` untimed."""
    if warmup:
        run(min(runs, 2), seed)
    return timed(run, runs, seed)


# ---------------------------------------------------------------------------------------------
# Summary line and dict


def summary(
    name: str,
    figure: str,
    key: str,
    ours: float | str,
    book: float | str,
    runs: int,
    seconds: float,
    **extra: Any,
) -> Summary:
    """The dict every ``main`` returns: experiment, figure, key (what the number is), ours,
    book, runs, seconds (compute, without I/O), plus any ``extra`` key numbers."""
    if isinstance(ours, np.generic):
        ours = ours.item()
    return {
        "experiment": name,
        "figure": figure,
        "key": key,
        "ours": ours,
        "book": book,
        "runs": int(runs),
        "seconds": float(seconds),
        **extra,
    }


def _fmt(x: float | str) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, int | np.integer):
        return str(int(x))
    x = float(x)
    if math.isfinite(x) and x == round(x) and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.4g}"


def summary_line(s: Summary) -> str:
    """One line: ``<experiment> (<figure>): <key> = <ours> (book: <book>); <runs> runs,
    <seconds> s``."""
    return (
        f"{s['experiment']} ({s['figure']}): {s['key']} = {_fmt(s['ours'])} "
        f"(book: {_fmt(s['book'])}); {s['runs']} runs, {s['seconds']:.2f} s"
    )


def summary_table(summaries: Sequence[Summary]) -> pd.DataFrame:
    """One row per experiment: experiment, figure, key, ours, book, runs, seconds."""
    cols = ["experiment", "figure", "key", "ours", "book", "runs", "seconds"]
    rows = [{c: s.get(c) for c in cols} for s in summaries]
    for row in rows:  # mixed numbers and strings: show as text
        row["ours"] = _fmt(row["ours"])
        row["book"] = _fmt(row["book"])
    return pd.DataFrame(rows, columns=cols)


class Job(NamedTuple):
    """One command-line run of a script: its parsed arguments, what ``run`` returned and the
    seconds it took. Made by `start`; `write` and `report` fill in the script's name, figure,
    output directory and run count."""

    name: str
    figure: str
    args: argparse.Namespace
    result: Any
    seconds: float

    @property
    def runs(self) -> int:
        return self.args.runs

    def write(
        self, df: pd.DataFrame, fig: Figure | None, suffix: str = ""
    ) -> tuple[Path, Path | None]:
        """`write_outputs` into ``--out`` under the script's name."""
        return write_outputs(self.args.out, self.name, df, fig, suffix)

    def report(
        self, key: str, ours: float | str, book: float | str, runs: int | None = None, **extra: Any
    ) -> Summary:
        """The `summary` dict (``runs`` defaults to ``--runs``), printed as its `summary_line`."""
        s = summary(
            self.name, self.figure, key, ours, book, self.runs if runs is None else runs,
            self.seconds, **extra,
        )  # fmt: skip
        print(summary_line(s))
        return s


def start(
    argv: Sequence[str] | None,
    name: str,
    figure: str,
    runs: int,
    run: Callable[[int, int], Any],
    description: str | None = None,
    plot: Callable[..., Figure] | None = None,
) -> Job:
    """What every ``main`` does first: `parse_args`, then ``run(--runs, --seed)`` timed by
    `timed_run` (``--warmup`` honoured). With ``plot``, also writes the script's CSV and PNG:
    ``run``'s frame (the first, if it returns a tuple of frames) and ``plot(*frames)``."""
    args = parse_args(argv, name, runs, description)
    result, seconds = timed_run(run, args.runs, args.seed, args.warmup)
    job = Job(name, figure, args, result, seconds)
    if plot is not None:
        frames = result if isinstance(result, tuple) else (result,)
        job.write(frames[0], plot(*frames))
    return job


# ---------------------------------------------------------------------------------------------
# Tidy frames


def per_run_frame(
    values: np.ndarray, column: str, index: str = "episode", first: int = 1, **labels: Any
) -> pd.DataFrame:
    """Tidy ``**labels, run, <index>, <column>`` from ``values[runs, n]``: one row per run and
    entry, ``index`` counting from ``first``."""
    runs, n = values.shape
    return pd.DataFrame(
        {
            **labels,
            "run": np.repeat(np.arange(runs), n),
            index: np.tile(np.arange(first, first + n), runs),
            column: values.ravel(),
        }
    )


def control_runs(
    algorithm: str, runs: int, seed: Any, mdp: Any, cfg: Any
) -> tuple[np.ndarray, ...]:
    """``numbarl.tabular.control.run_<algorithm>`` over ``runs`` spawned seeds (`run_many`):
    its outputs stacked over runs (q, returns, lengths, first actions, episodes done). A run
    that stopped early for any reason but its step budget raises (``control.check_finished``)."""
    from numbarl.runs import run_many
    from numbarl.tabular import control

    out = run_many(getattr(control, f"run_{algorithm}"), runs, seed, mdp, cfg)
    lengths, n_done = out[2], out[-1]
    for n, steps in zip(n_done, lengths.sum(axis=1), strict=True):
        control.check_finished(algorithm, cfg, int(n), int(steps))
    return out


def per_run_means(
    df: pd.DataFrame,
    column: str,
    by: Sequence[str],
    window: tuple[int, int],
    index: str = "episode",
) -> pd.DataFrame:
    """Per (``by``, run): the mean of ``column`` over the rows whose ``index`` is in ``window``
    (first, last; inclusive). Columns ``*by, run, <column>``."""
    sub = df[df[index].between(*window)]
    return sub.groupby([*by, "run"], as_index=False, observed=True)[column].mean()


def group_means(
    df: pd.DataFrame, by: str | Sequence[str], y: str, sort: bool = True
) -> pd.DataFrame:
    """Per group of ``by``: the mean of ``y``, its standard deviation, the group's size and the
    mean's standard error (columns ``*by, mean, std, count, sem``; groups in sorted order, or in
    order of appearance with ``sort=False``)."""
    by = [by] if isinstance(by, str) else list(by)
    stats = df.groupby(by, sort=sort)[y].agg(["mean", "std", "count"]).reset_index()
    stats["sem"] = stats["std"] / np.sqrt(stats["count"])
    return stats


def best_alphas(df: pd.DataFrame, by: str | Sequence[str], y: str) -> pd.DataFrame:
    """Per group of ``by``: the ``alpha`` with the lowest mean ``y``, that mean and its standard
    error over runs (columns ``*by, alpha, mean, sem``)."""
    by = [by] if isinstance(by, str) else list(by)
    stats = group_means(df, [*by, "alpha"], y)
    best = stats.groupby(by)["mean"].idxmin()
    return stats.loc[best, [*by, "alpha", "mean", "sem"]].reset_index(drop=True)


def greedy_path(mdp: Any, q: np.ndarray, cap: int) -> list[int]:
    """States visited by the greedy policy of ``q`` (first action on ties) from the start state
    of a deterministic tabular MDP, the start included, until a terminal state or ``cap`` steps
    (a looping path is cut there)."""
    from numbarl.tabular.control import greedy_actions  # only the tabular scripts need it

    actions = greedy_actions(q, mdp.allowed)
    s = int(np.argmax(mdp.start))
    path = [s]
    while not mdp.terminal[s] and len(path) <= cap:
        s = int(np.argmax(mdp.p[s, actions[s]]))
        path.append(s)
    return path


# ---------------------------------------------------------------------------------------------
# Plotting


def new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (6.0, 4.5)):
    """A ``Figure`` (no pyplot state) with an ``nrows`` x ``ncols`` grid of axes, each panel
    ``size`` inches; returns (fig, axes) where axes is one Axes or an array of them."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def finish_axes(
    ax: Axes,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    legend: bool | str = True,
    ylim: tuple[float, float] | None = None,
    xlim: tuple[float, float] | None = None,
) -> Axes:
    """Labels, optional title/limits, a light grid and (``legend`` True or a title string) a
    legend if anything is labelled."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if xlim is not None:
        ax.set_xlim(*xlim)
    ax.grid(True, alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(title=legend if isinstance(legend, str) else None, fontsize="small")
    return ax


def plot_mean_curves(
    ax: Axes,
    df: pd.DataFrame,
    x: str,
    y: str,
    by: str | Sequence[str],
    label: Callable[[Any], str] | None = None,
    band: bool = True,
    **line_kwargs: Any,
) -> pd.DataFrame:
    """Plot the mean of ``y`` against ``x`` for each group of ``by`` (one line each, averaged
    over every other column, e.g. runs), with a shaded +-1 standard error band if ``band``.
    ``label(key)`` names a group's line (default ``"<by>=<key>"``). Returns the means frame
    (columns ``by``, ``x``, ``mean``, ``sem``)."""
    by = [by] if isinstance(by, str) else list(by)
    stats = group_means(df, [*by, x], y)
    for key, g in stats.groupby(by if len(by) > 1 else by[0], sort=True):
        if label is not None:
            text = label(key)
        else:
            text = ", ".join(f"{b}={k}" for b, k in zip(by, np.atleast_1d(key), strict=True))
        (line,) = ax.plot(g[x], g["mean"], label=text, **line_kwargs)
        if band and (g["count"] > 1).any():
            ax.fill_between(
                g[x],
                g["mean"] - g["sem"],
                g["mean"] + g["sem"],
                color=line.get_color(),
                alpha=0.2,
                linewidth=0,
            )
    return stats[[*by, x, "mean", "sem"]]


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Save ``fig`` as PNG atomically (temporary file, then rename); no timestamp metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_outputs(
    out: str | os.PathLike, name: str, df: pd.DataFrame, fig: Figure | None, suffix: str = ""
) -> tuple[Path, Path | None]:
    """Write ``df`` to ``out/<name><suffix>.csv`` and ``fig`` to ``.png``; returns the paths."""
    csv_path, png_path = output_paths(out, name, suffix)
    write_csv(df, csv_path)
    if fig is None:
        return csv_path, None
    save_figure(fig, png_path)
    return csv_path, png_path


# ---------------------------------------------------------------------------------------------
# Child processes that measure a compile

# Child-process code that counts the raw LLVM IR Numba hands LLVM (each module as it is added
# to a library, before any pass): its lines into ``raw[0]``, its ``extractvalue`` reads into
# ``raw[1]``; for probes of how much IR a compile builds (experiments/compiled_ir.py,
# experiments/record_vs_structref.py, tests/test_nrt_meminfos.py).
RAW_IR_COUNTER = r"""
from numba.core import codegen as _codegen
raw = [0, 0]
_add_ir_module = _codegen.CPUCodeLibrary.add_ir_module
def _counting(self, module):
    text = str(module)
    raw[0] += text.count("\n")
    raw[1] += text.count(" = extractvalue ")
    return _add_ir_module(self, module)
_codegen.CPUCodeLibrary.add_ir_module = _counting
"""


# ---------------------------------------------------------------------------------------------
# Timing another checkout


# A child process timing another checkout (``--pythonpath`` of cold_compile.py and
# step_time.py) runs this before anything of numbarl's. ``numbarl.envs`` is the repository's
# ``envs/`` folder mapped into the package (pyproject's package-dir), so PYTHONPATH alone gives
# the other checkout's ``numbarl`` with this environment's installed ``numbarl.envs``: loaded
# here from ``$NUMBARL_CHECKOUT_ENVS`` instead (its submodules then follow its ``__path__``).
CHECKOUT_PREAMBLE = r"""
import os as _os, sys as _sys
_envs = _os.environ.get("NUMBARL_CHECKOUT_ENVS")
if _envs:
    import importlib.util as _util
    import numbarl as _numbarl
    _spec = _util.spec_from_file_location(
        "numbarl.envs", _os.path.join(_envs, "__init__.py"), submodule_search_locations=[_envs]
    )
    _module = _util.module_from_spec(_spec)
    _sys.modules["numbarl.envs"] = _module
    _numbarl.envs = _module
    _spec.loader.exec_module(_module)
"""


# A child that runs numbarl's CLI (``python -c CLI_CHILD train ...``) on the checkout
# ``CHECKOUT_PREAMBLE`` maps in: what the cold-start probes run.
CLI_CHILD = CHECKOUT_PREAMBLE + "from numbarl import cli\n_sys.exit(cli.main(_sys.argv[1:]) or 0)\n"


def checkout_env(env: dict[str, str], pythonpath: str | None) -> dict[str, str]:
    """``env`` for a child that runs ``CHECKOUT_PREAMBLE`` and times the numbarl of the checkout
    at ``pythonpath`` (its root; None: the installed one): ``PYTHONPATH`` and
    ``NUMBARL_CHECKOUT_ENVS`` set (or dropped)."""
    env = dict(env)
    env.pop("NUMBARL_CHECKOUT_ENVS", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
        envs = Path(pythonpath) / "envs"
        if (envs / "__init__.py").exists():
            env["NUMBARL_CHECKOUT_ENVS"] = str(envs)
    return env


def cold_child_env(
    cache: Path, workers: int, pythonpath: str | None, **extra: str
) -> dict[str, str]:
    """The environment of a child ``numbarl train`` that compiles from scratch: Numba's and
    numbarl's caches in the empty folder ``cache``, ``workers`` compile workers, one thread for
    Numba and numbarl, ``extra`` variables set, and the checkout at ``pythonpath`` timed
    (``checkout_env``). Run the child with ``cwd`` outside the repository, so that ``import
    numbarl`` finds the measured package, not the current directory's."""
    env = dict(os.environ)
    env.update(
        NUMBA_CACHE_DIR=str(cache),
        NUMBARL_CACHE_DIR=str(cache / "numbarl"),
        NUMBARL_COMPILE_WORKERS=str(workers),
        NUMBARL_THREADS="1",
        NUMBA_NUM_THREADS="1",
        **extra,
    )
    return checkout_env(env, pythonpath)


# ---------------------------------------------------------------------------------------------
# Discovery, for a driver that runs every script


def _ensure_importable() -> None:
    """Scripts import this module as ``common`` when run as files; make that work when they are
    loaded from elsewhere too."""
    if str(EXPERIMENTS_DIR) not in sys.path:
        sys.path.insert(0, str(EXPERIMENTS_DIR))


def load(name: str, directory: str | os.PathLike = EXPERIMENTS_DIR) -> ModuleType:
    """Import the script ``<directory>/<name>.py`` as a module (cached in ``sys.modules`` as
    ``experiments_<name>``)."""
    path = Path(directory) / f"{name}.py"
    if not path.is_file():
        raise ValueError(f"no experiment script {path}")
    return _load(path)


def _load(path: Path) -> ModuleType:
    _ensure_importable()
    name = f"experiments_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def discover(directory: str | os.PathLike = EXPERIMENTS_DIR) -> dict[str, ModuleType]:
    """Every experiment script in ``directory``: ``{NAME: module}`` sorted by name, for files
    that define ``NAME``, ``FIGURE``, ``RUNS`` and ``main``."""
    found: dict[str, ModuleType] = {}
    for path in sorted(Path(directory).glob("*.py")):
        if path.stem in _NOT_EXPERIMENTS or path.stem.startswith("_"):
            continue
        module = _load(path)
        if all(hasattr(module, a) for a in ("NAME", "FIGURE", "RUNS", "main")):
            found[module.NAME] = module
    return found


def run_all(
    out: str | os.PathLike = DEFAULT_OUT,
    runs: int | None = None,
    seed: int = 0,
    names: Sequence[str] | None = None,
    warmup: bool = False,
) -> list[Summary]:
    """Run the scripts found by `discover` (or only ``names``) into ``out``, each with its
    book's runs (or ``runs``), and return their summary dicts in name order."""
    scripts = discover()
    chosen = sorted(scripts) if names is None else list(names)
    unknown = [n for n in chosen if n not in scripts]
    if unknown:
        raise ValueError(f"unknown experiment(s) {unknown}; known: {', '.join(sorted(scripts))}")
    summaries = []
    for i, name in enumerate(chosen, 1):
        argv = ["--out", os.fspath(out), "--seed", str(seed)]
        if runs is not None:
            argv += ["--runs", str(runs)]
        if warmup:
            argv.append("--warmup")
        print(f"[{i}/{len(chosen)}] {scripts[name].FIGURE}: {name} ...", flush=True)
        with heartbeat(name):
            summaries.append(scripts[name].main(argv))
    return summaries


class heartbeat:
    """While the block runs, print "<name> still running (N s)" every ``every`` seconds, so a
    long experiment never leaves the terminal silent."""

    def __init__(self, name: str, every: float = 10.0) -> None:
        import threading

        self.name, self.every = name, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        start = time.perf_counter()
        while not self.stop.wait(self.every):
            print(
                f"    {self.name} still running ({time.perf_counter() - start:.0f} s)", flush=True
            )

    def __enter__(self) -> heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
