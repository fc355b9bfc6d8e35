"""Learning and speed regression checks: ``numbarl check SUITE.toml`` and `run_suite`.

A suite is a TOML file of cases. Each case trains one algorithm on one env for several seeds and
states what must hold::

    name = "my-suite"              # optional (default: the file's stem); baselines carry it
    import = ["my_envs"]           # optional: modules that register envs (numbarl.envs.load_module)
    alpha = 0.01                   # optional: false-alarm rate of the baseline test, per case
    speed_ratio = 1.5              # optional: slower than baseline by more than this is reported

    [[case]]
    name = "ppo-cartpole"          # optional (default: "<algo>-<env>")
    algo = "ppo"
    env = "CartPole-v1"
    seeds = 5                      # a count (seeds first_seed, first_seed+1, ...) or a list
    threshold = 475.0              # the final policy's mean return on fresh episodes
    need = 4                       # seeds that must reach it (default: all)
    max_steps = 50_000             # optional budget of env steps (sets total_steps)
    no_worse_than_baseline = true  # optional: compare with --baseline FILE.csv
    metric = "final_return"        # what the baseline test compares (or "steps_to_threshold")
    eval_episodes = 20             # fresh episodes per final policy (seeded 1_000_000 + seed)
    config = { lr = 3e-4 }         # config overrides on top of the tuned defaults
    env_options = {}               # options of numbarl.envs.make

Every (case, seed) job runs through `numbarl.sweep`'s runners (local worker processes, or Ray),
all cases at once; each worker imports the suite's ``import`` modules (and ``--import`` ones)
before its first run, so a user's envs exist there too. Each run records its final return, env
steps, training seconds, env steps per second, and the step (and seconds) at which its greedy
evaluation during training first reached the threshold (learners that evaluate during training:
the deep ones).

**Baseline test.** "No worse than baseline" is a one-sided Mann-Whitney U test of the new seeds'
values against the baseline's seeds (``scipy.stats.mannwhitneyu``, alternative: the new values
are stochastically smaller for ``final_return``, larger for ``steps_to_threshold``, exact p-value
without ties and for samples under 8, normal approximation with tie correction otherwise). A case
fails when p < ``alpha`` (default 0.01). If new and baseline seeds come from the same
distribution, a case fails with probability at most about ``alpha``: measured over 4,000
simulated pairs of 10-seed samples, 0.65% for continuous returns and 0.85% for returns with heavy
ties at a cap (tests/test_check.py checks <= alpha + 3 standard errors). With ``K`` such cases,
expect about ``K x alpha`` false alarms per suite run. Seeds are not paired: a rerun with new
seeds is a fair comparison.

**Speed.** Runs are timed after each worker has loaded the learner (no compile or cache time).
Against a baseline recorded on the same machine (``machine`` column), a median env-steps-per-
second more than ``speed_ratio`` times lower is a warning, or a failure with ``strict_speed``.
On another machine the speed comparison is skipped (absolute times move between machines).

Bad input (unknown algorithm, env, field, metric, config value, malformed TOML, a baseline of
another suite or missing a case) raises `SuiteError` naming the case and field before any run.
"""

from __future__ import annotations

import math
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import api
from .results import summarise, write_csv

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "Case",
    "CheckReport",
    "Suite",
    "SuiteError",
    "judge",
    "load_suite",
    "no_worse_than",
    "read_baseline",
    "run_suite",
]

METRICS = {"final_return": "less", "steps_to_threshold": "greater"}
SUITE_FIELDS = ("name", "import", "alpha", "speed_ratio", "case")
CASE_FIELDS = (
    "name",
    "algo",
    "env",
    "seeds",
    "first_seed",
    "threshold",
    "need",
    "max_steps",
    "no_worse_than_baseline",
    "metric",
    "eval_episodes",
    "config",
    "env_options",
)
RUN_COLUMNS = (
    "suite",
    "case",
    "algorithm",
    "env",
    "seed",
    "final_return",
    "reached",
    "env_steps",
    "seconds",
    "steps_per_second",
    "steps_to_threshold",
    "seconds_to_threshold",
    "machine",
)


class SuiteError(ValueError):
    """A suite or baseline that cannot be run; the message names the case and field."""


@dataclass(frozen=True)
class Case:
    name: str
    algo: str
    env: str
    seeds: tuple[int, ...]
    threshold: float | None = None
    need: int = 0
    max_steps: int | None = None
    no_worse_than_baseline: bool = False
    metric: str = "final_return"
    eval_episodes: int = 20
    config: dict[str, Any] = field(default_factory=dict)
    env_options: dict[str, Any] = field(default_factory=dict)

    def train_config(self) -> dict[str, Any]:
        """The config overrides a run uses: ``config``, plus ``max_steps`` as the budget."""
        cfg = dict(self.config)
        if self.max_steps is not None:
            fields = api.config_class(self.algo)._fields
            budget = "total_steps" if "total_steps" in fields else "max_total_steps"
            if budget in fields:
                cfg.setdefault(budget, int(self.max_steps))
        return cfg


@dataclass(frozen=True)
class Suite:
    name: str
    cases: tuple[Case, ...]
    alpha: float = 0.01
    speed_ratio: float = 1.5
    imports: tuple[str, ...] = ()
    path: Path | None = None


# --- reading a suite ------------------------------------------------------------------------------


def _where(case: str | None, key: str) -> str:
    return f"case {case!r}, field {key!r}" if case else f"field {key!r}"


def _number(value: Any, where: str, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SuiteError(f"{where}: must be a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise SuiteError(f"{where}: must lie in [{low}, {high}], got {value!r}")
    return float(value)


def _integer(value: Any, where: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SuiteError(f"{where}: must be an integer >= {low}, got {value!r}")
    return int(value)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SuiteError(f"{where}: must be a table (e.g. {{ lr = 3e-4 }}), got {value!r}")
    return dict(value)


def parse_case(raw: Any, index: int) -> Case:
    """One ``[[case]]`` table, checked against the algorithm and env registries."""
    from numbarl import envs

    if not isinstance(raw, dict):
        raise SuiteError(f"case #{index + 1}: must be a table ([[case]]), got {raw!r}")
    label = raw.get("name") or f"#{index + 1}"
    unknown = sorted(set(raw) - set(CASE_FIELDS))
    if unknown:
        raise SuiteError(
            f"case {label!r}: unknown field(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(CASE_FIELDS)}"
        )
    for key in ("algo", "env"):
        if not isinstance(raw.get(key), str):
            raise SuiteError(f"{_where(label, key)}: required, a string")
    algo, env = raw["algo"], raw["env"]
    name = raw.get("name", f"{algo}-{env}")
    if not isinstance(name, str) or not name:
        raise SuiteError(f"{_where(label, 'name')}: must be a non-empty string, got {name!r}")
    try:
        api.algo_spec(algo)
    except ValueError as exc:
        raise SuiteError(f"{_where(name, 'algo')}: {exc}") from None
    if env not in envs.names():
        raise SuiteError(
            f"{_where(name, 'env')}: unknown environment {env!r}; known: "
            f"{', '.join(envs.names())} (a user env needs its module in the suite's import list)"
        )
    seeds_raw = raw.get("seeds", 5)
    first = _integer(raw.get("first_seed", 0), _where(name, "first_seed"))
    if isinstance(seeds_raw, list):
        seeds = tuple(_integer(s, _where(name, "seeds")) for s in seeds_raw)
        if not seeds or len(set(seeds)) != len(seeds):
            raise SuiteError(f"{_where(name, 'seeds')}: give distinct seeds, got {seeds_raw!r}")
    else:
        seeds = tuple(range(first, first + _integer(seeds_raw, _where(name, "seeds"), 1)))
    threshold = raw.get("threshold")
    if threshold is not None:
        threshold = _number(threshold, _where(name, "threshold"))
    need = _integer(raw.get("need", len(seeds)), _where(name, "need"), 1)
    if need > len(seeds):
        raise SuiteError(f"{_where(name, 'need')}: {need} exceeds the {len(seeds)} seeds")
    max_steps = raw.get("max_steps")
    if max_steps is not None:
        max_steps = _integer(max_steps, _where(name, "max_steps"), 1)
    baseline = raw.get("no_worse_than_baseline", False)
    if not isinstance(baseline, bool):
        raise SuiteError(f"{_where(name, 'no_worse_than_baseline')}: true or false")
    metric = raw.get("metric", "final_return")
    if metric not in METRICS:
        raise SuiteError(
            f"{_where(name, 'metric')}: unknown metric {metric!r}; allowed: {', '.join(METRICS)}"
        )
    if metric == "steps_to_threshold" and threshold is None:
        raise SuiteError(f"{_where(name, 'metric')}: steps_to_threshold needs a threshold")
    if threshold is None and not baseline:
        raise SuiteError(
            f"case {name!r}: states nothing to check; give threshold and/or "
            "no_worse_than_baseline = true"
        )
    eval_episodes = _integer(raw.get("eval_episodes", 20), _where(name, "eval_episodes"), 1)
    case = Case(
        name=name,
        algo=algo,
        env=env,
        seeds=seeds,
        threshold=threshold,
        need=need,
        max_steps=max_steps,
        no_worse_than_baseline=baseline,
        metric=metric,
        eval_episodes=eval_episodes,
        config=_table(raw.get("config", {}), _where(name, "config")),
        env_options=_table(raw.get("env_options", {}), _where(name, "env_options")),
    )
    try:
        api.build_config(algo, env, case.train_config())
        api.resolve_env(env, case.env_options)
    except (ValueError, TypeError) as exc:
        raise SuiteError(f"case {name!r}, config/env_options: {exc}") from None
    return case


def _load_imports(imports: Sequence[str], base: Path | None) -> tuple[str, ...]:
    from numbarl import envs

    for dirpath in [base, Path.cwd()]:
        if dirpath is not None and str(dirpath) not in sys.path:
            sys.path.insert(0, str(dirpath))
    for module in imports:
        try:
            envs.load_module(module)
        except ValueError as exc:
            raise SuiteError(f"field 'import': {exc}") from None
    return tuple(imports)


def parse_suite(raw: dict[str, Any], name: str, path: Path | None = None) -> Suite:
    unknown = sorted(set(raw) - set(SUITE_FIELDS))
    if unknown:
        hint = " (case fields go under [[case]])" if set(unknown) & set(CASE_FIELDS) else ""
        raise SuiteError(
            f"suite {name!r}: unknown field(s) {', '.join(unknown)}{hint}; "
            f"allowed: {', '.join(SUITE_FIELDS)}"
        )
    name = raw.get("name", name)
    if not isinstance(name, str) or not name:
        raise SuiteError(f"field 'name': must be a non-empty string, got {name!r}")
    imports = raw.get("import", [])
    if not isinstance(imports, list) or not all(isinstance(m, str) for m in imports):
        raise SuiteError(f"field 'import': must be a list of module names, got {imports!r}")
    imports = _load_imports(imports, path.parent.resolve() if path else None)
    alpha = _number(raw.get("alpha", 0.01), "field 'alpha'", 1e-6, 0.5)
    speed_ratio = _number(raw.get("speed_ratio", 1.5), "field 'speed_ratio'", 1.0)
    cases_raw = raw.get("case")
    if not isinstance(cases_raw, list) or not cases_raw:
        raise SuiteError(f"suite {name!r}: no cases; add at least one [[case]] table")
    cases = tuple(parse_case(c, i) for i, c in enumerate(cases_raw))
    seen: set[str] = set()
    for c in cases:
        if c.name in seen:
            raise SuiteError(f"case {c.name!r}, field 'name': used twice; names must be unique")
        seen.add(c.name)
    return Suite(name, cases, alpha, speed_ratio, imports, path)


def load_suite(path: str | Path) -> Suite:
    """Read and check a suite file (see the module docstring); `SuiteError` on bad input."""
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"{path}: no such suite file")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: malformed TOML: {exc}") from None
    try:
        return parse_suite(raw, path.stem, path)
    except SuiteError as exc:
        raise SuiteError(f"{path}: {exc}") from None


def read_baseline(path: str | Path, suite: Suite) -> pd.DataFrame:
    """The runs of an earlier `run_suite` of ``suite``; `SuiteError` if it is another suite's
    or lacks a case that compares with it."""
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SuiteError(f"baseline {path}: not a CSV written by numbarl check ({exc})") from None
    missing = [c for c in RUN_COLUMNS if c not in df.columns]
    if missing:
        raise SuiteError(f"baseline {path}: not written by numbarl check; lacks {missing}")
    names = sorted(set(df["suite"].astype(str)))
    if names != [suite.name]:
        raise SuiteError(
            f"baseline {path}: recorded for suite {', '.join(names)!r}, not {suite.name!r}"
        )
    for case in suite.cases:
        if case.no_worse_than_baseline and not (df["case"] == case.name).any():
            raise SuiteError(
                f"case {case.name!r}, field 'no_worse_than_baseline': baseline {path} has no "
                "runs of this case; rerun with --update-baseline to record them"
            )
    return df


# --- statistics -----------------------------------------------------------------------------------


def no_worse_than(
    new: Sequence[float], base: Sequence[float], alpha: float, lower_is_worse: bool = True
) -> tuple[bool, float]:
    """(holds, p): one-sided Mann-Whitney U test of "new is worse than base" at level ``alpha``.
    With ``lower_is_worse`` the alternative is that new values are stochastically smaller."""
    from scipy.stats import mannwhitneyu

    x = np.asarray(new, dtype=np.float64)
    y = np.asarray(base, dtype=np.float64)
    if x.size == 0 or y.size == 0:
        raise ValueError("no_worse_than needs at least one value on each side")
    if np.unique(np.concatenate([x, y])).size == 1:
        return True, 1.0  # every value tied: no evidence either way
    alternative = "less" if lower_is_worse else "greater"
    p = float(mannwhitneyu(x, y, alternative=alternative, method="auto").pvalue)
    return p >= alpha, p


# --- running --------------------------------------------------------------------------------------


def machine() -> str:
    """A short description of this machine (speed is compared only within one)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()} | {cpu} | {os.cpu_count()} cores"


def _run_row(suite: Suite, case: Case, seed: int, result: Any, host: str) -> dict[str, Any]:
    h = result.history
    if "length" in h.columns:
        env_steps = float(h["length"].sum())
    elif "step" in h.columns:
        env_steps = float(h["step"].iloc[-1])
    else:
        env_steps = float("nan")
    final = float(h["final_return"].iloc[0])
    steps_to = seconds_to = float("nan")
    if case.threshold is not None and "eval_return" in h.columns and "step" in h.columns:
        hit = np.flatnonzero(h["eval_return"].to_numpy() >= case.threshold)
        if hit.size:
            steps_to = float(h["step"].iloc[hit[0]])
            seconds_to = result.seconds * steps_to / max(float(h["step"].iloc[-1]), 1.0)
    within = case.max_steps is None or not env_steps > case.max_steps
    reached = case.threshold is not None and final >= case.threshold and within
    return {
        "suite": suite.name,
        "case": case.name,
        "algorithm": case.algo,
        "env": case.env,
        "seed": seed,
        "final_return": final,
        "reached": bool(reached),
        "env_steps": env_steps,
        "seconds": float(result.seconds),
        "steps_per_second": env_steps / result.seconds if result.seconds > 0 else float("nan"),
        "steps_to_threshold": steps_to,
        "seconds_to_threshold": seconds_to,
        "machine": host,
    }


@dataclass
class CheckReport:
    """What `run_suite` found: ``runs`` (one row per case and seed), ``table`` (one row per
    case with its verdict), ``ok`` (every case holds) and ``warnings``."""

    suite: Suite
    runs: pd.DataFrame
    table: pd.DataFrame
    ok: bool
    warnings: list[str]

    def text(self) -> str:
        return format_table(self.table) + "".join(f"\nwarning: {w}" for w in self.warnings)


def _fmt(x: float, digits: int = 1) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def format_table(table: pd.DataFrame) -> str:
    """The per-case table as aligned text."""
    head = [
        "case",
        "seeds passing",
        "mean final [95% CI]",
        "IQM",
        "steps to thr",
        "s to thr",
        "steps/s",
        "verdict",
    ]
    rows = [head]
    for r in table.itertuples(index=False):
        passing = "-" if r.threshold is None or np.isnan(r.threshold) else f"{r.passing}/{r.n}"
        rows.append(
            [
                r.case,
                passing + ("" if passing == "-" else f" (need {r.need})"),
                f"{_fmt(r.mean)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]",
                _fmt(r.iqm),
                _fmt(r.median_steps_to_threshold, 0),
                _fmt(r.median_seconds_to_threshold, 2),
                _fmt(r.steps_per_second, 0),
                r.verdict,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _judge(
    suite: Suite,
    case: Case,
    runs: pd.DataFrame,
    errors: list[str],
    baseline: pd.DataFrame | None,
    strict_speed: bool,
    warnings: list[str],
) -> dict[str, Any]:
    stats = summarise(runs, value="final_return") if len(runs) else None
    row: dict[str, Any] = {
        "suite": suite.name,
        "case": case.name,
        "algorithm": case.algo,
        "env": case.env,
        "n": len(runs) + len(errors),  # runs made (all seeds, unless interrupted)
        "need": case.need,
        "threshold": case.threshold if case.threshold is not None else float("nan"),
        "passing": int(runs["reached"].sum()) if len(runs) else 0,
        "std": float(runs["final_return"].std(ddof=1)) if len(runs) > 1 else float("nan"),
        "median_steps_to_threshold": float(runs["steps_to_threshold"].median()),
        "median_seconds_to_threshold": float(runs["seconds_to_threshold"].median()),
        "steps_per_second": float(runs["steps_per_second"].median()),
        "p_value": float("nan"),
        "speed_ratio": float("nan"),
    }
    for key in ("mean", "ci_low", "ci_high", "iqm"):
        row[key] = float(stats[key].iloc[0]) if stats is not None else float("nan")
    fails: list[str] = []
    if errors:
        fails.append(f"{len(errors)} run(s) raised: {errors[0]}")
    if case.threshold is not None and row["passing"] < case.need:
        budget = f" within {case.max_steps} steps" if case.max_steps else ""
        fails.append(f"{row['passing']}/{row['n']} reach {case.threshold:g}{budget}")
    notes: list[str] = []
    if baseline is not None:
        base = baseline[baseline["case"] == case.name]
        if case.no_worse_than_baseline and len(base) and len(runs):
            col = case.metric
            new_v, old_v = runs[col].to_numpy(float), base[col].to_numpy(float)
            if col == "steps_to_threshold":  # never reached ranks after every reached run
                new_v = np.where(np.isnan(new_v), np.inf, new_v)
                old_v = np.where(np.isnan(old_v), np.inf, old_v)
            holds, p = no_worse_than(new_v, old_v, suite.alpha, METRICS[col] == "less")
            row["p_value"] = p
            if not holds:
                fails.append(f"worse than baseline ({col}: p={p:.3g} < {suite.alpha:g})")
        same = len(base) and len(runs) and set(base["machine"]) == set(runs["machine"])
        if same:
            ratio = float(base["steps_per_second"].median() / row["steps_per_second"])
            row["speed_ratio"] = ratio
            if ratio > suite.speed_ratio:
                msg = f"{ratio:.2f}x slower than baseline (limit {suite.speed_ratio:g}x)"
                if strict_speed:
                    fails.append(msg)
                else:
                    notes.append(msg)
                    warnings.append(f"case {case.name!r}: {msg}")
    row["holds"] = not fails
    row["verdict"] = "FAIL: " + "; ".join(fails) if fails else "pass"
    if notes and not fails:
        row["verdict"] = "pass (warning: " + "; ".join(notes) + ")"
    return row


def run_suite(
    suite: Suite | str | Path,
    baseline: str | Path | None = None,
    *,
    update_baseline: bool = False,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    out: str | Path | None = None,
    strict_speed: bool = False,
    imports: Sequence[str] = (),
    on_run: Callable[[pd.DataFrame], None] | None = None,
) -> CheckReport:
    """Run every case's seeds in parallel and judge each case (see the module docstring).

    ``baseline``: a runs CSV of an earlier run of this suite; with ``update_baseline`` this
    run's runs are written there afterwards (and a missing file is fine). ``out``: a directory
    that receives ``runs.csv`` (one row per case and seed) and ``table.csv`` (one per case).
    ``imports``: modules that register user envs, beyond the suite's own ``import`` list; every
    worker imports both before its first run.
    ``on_run(runs)`` is called with the runs so far as each run finishes (jobs start seed by
    seed across cases, so an interrupted check has every case's first seeds)."""
    from .sweep import Job, open_runner, resolve_imports, sigterm_as_interrupt

    if not isinstance(suite, Suite):
        suite = load_suite(suite)
    try:
        refs = resolve_imports([*suite.imports, *imports])
    except ValueError as exc:
        raise SuiteError(f"field 'import': {exc}") from None
    base_df: pd.DataFrame | None = None
    if baseline is not None:
        path = Path(baseline)
        if path.exists():
            base_df = read_baseline(path, suite)
        elif not update_baseline:
            raise SuiteError(f"baseline {path}: no such file (--update-baseline records one)")
    elif update_baseline:
        raise SuiteError("update_baseline needs a baseline file to write")
    if base_df is None and not update_baseline:
        for case in suite.cases:
            if case.no_worse_than_baseline:
                raise SuiteError(
                    f"case {case.name!r}, field 'no_worse_than_baseline': needs --baseline FILE"
                )
    jobs: list[Job] = []
    owners: list[Case] = []
    for k in range(max(len(c.seeds) for c in suite.cases)):  # seed-major: every case advances
        for case in suite.cases:
            if k < len(case.seeds):
                jobs.append(
                    Job(
                        case.algo,
                        case.env,
                        case.seeds[k],
                        case.train_config(),
                        env_options=case.env_options or None,
                        eval_episodes=case.eval_episodes,
                        warm_up=True,  # speed is measured: no cache loading in `seconds`
                        imports=refs,
                    )
                )
                owners.append(case)
    host = machine()
    rows: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {c.name: [] for c in suite.cases}
    with sigterm_as_interrupt(), open_runner(backend, workers, address, jobs=len(jobs)) as runner:
        for i, result in runner.run(jobs):
            case = owners[i]
            if isinstance(result, Exception):
                errors[case.name].append(f"seed {jobs[i].seed}: {type(result).__name__}: {result}")
            else:
                rows.append(_run_row(suite, case, jobs[i].seed, result, host))
            if on_run is not None:
                on_run(pd.DataFrame(rows, columns=list(RUN_COLUMNS)))
    report = judge(
        suite, pd.DataFrame(rows, columns=list(RUN_COLUMNS)), errors, base_df, strict_speed
    )
    runs, table = report.runs, report.table
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(runs, out / "runs.csv")
        write_csv(table, out / "table.csv")
    if update_baseline and baseline is not None:
        write_csv(runs, Path(baseline))
    return report


def judge(
    suite: Suite,
    runs: pd.DataFrame,
    errors: dict[str, list[str]] | None = None,
    baseline: pd.DataFrame | None = None,
    strict_speed: bool = False,
) -> CheckReport:
    """The verdict on ``runs`` (rows as `run_suite` records them; ``errors``: messages of runs
    that raised, per case) against ``baseline`` (a runs frame of an earlier check)."""
    errors = errors or {}
    order = {c.name: i for i, c in enumerate(suite.cases)}
    runs = runs.sort_values(["case", "seed"], kind="stable")
    runs = runs.sort_values("case", key=lambda s: s.map(order), kind="stable")
    runs = runs.reset_index(drop=True)
    warnings: list[str] = []
    table = pd.DataFrame(
        [
            _judge(
                suite,
                case,
                runs[runs["case"] == case.name],
                errors.get(case.name, []),
                baseline,
                strict_speed,
                warnings,
            )
            for case in suite.cases
        ]
    )
    return CheckReport(suite, runs, table, bool(table["holds"].all()), warnings)
