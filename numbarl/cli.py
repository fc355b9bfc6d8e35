"""The ``numbarl`` command: train, evaluate, and list algorithms and environments.

    numbarl train ALGO ENV [--seed N] [--steps N] [--episodes N] [--set key=value ...]
                  [--env-opt key=value ...] [--out FILE.csv] [--save FILE.npz]
    numbarl sweep ALGO ENV --seeds N [--grid key=v1,v2 ...] [--set key=value ...] --out DIR
                  [--workers N] [--backend local|ray] [--address HOST:PORT] [--eval-episodes N]
    numbarl tune ALGO ENV --trials N [--seeds K] [--objective final_return|steps_to_solve|...]
                 [--workers N] [--backend ray] [--storage sqlite:///study.db] [--out FILE.csv]
    numbarl plot DIR [--y eval_return] [--x step] [--by lr] [--out fig.png]
    numbarl summarise DIR [--by COLUMN] [--last K] [--out table.csv]
    numbarl evaluate FILE.npz [ENV] [--episodes N] [--seed N]
    numbarl algos [ALGO]
    numbarl envs
    numbarl rlhf [--seed N] [--steps N] [--set key=value ...] [--out FILE.csv] [--save FILE.npz]

Every command takes ``--import MODULE`` (repeatable; a module name or a .py file) to register a
user's envs first; installed packages' ``numbarl.envs`` entry points are loaded too.
A progress bar is drawn on a terminal only (none when stderr is not a terminal).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _parse_pairs(pairs: Sequence[str] | None, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"numbarl: {what} expects key=value, got {item!r}")
        out[key.strip()] = _literal(value.strip())
    return out


def _literal(text: str) -> Any:
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


class _Bar:
    """A tqdm bar over [0, 1] progress fractions; silent when stderr is not a terminal."""

    def __init__(self, desc: str) -> None:
        from tqdm import tqdm

        # No monitor thread: a process that runs no other thread can compile a learner's
        # kernels in forked workers on a cold cache (numbarl.precompile).
        tqdm.monitor_interval = 0
        self.bar = tqdm(
            total=1000, desc=desc, disable=not sys.stderr.isatty(), unit="‰", leave=False
        )
        self.done = 0

    def __call__(self, fraction: float) -> None:
        target = int(round(min(max(fraction, 0.0), 1.0) * 1000))
        if target > self.done:
            self.bar.update(target - self.done)
            self.done = target

    def close(self) -> None:
        self.bar.close()


class _CountBar:
    """A tqdm bar over counted items (runs, trials), fed ``bar(done, total)``; silent when
    stderr is not a terminal."""

    def __init__(self, desc: str, unit: str) -> None:
        from tqdm import tqdm

        # No monitor thread (tqdm starts one even for a disabled bar): a process that runs no
        # other thread can fork its sweep workers (numbarl.sweep._start_context).
        tqdm.monitor_interval = 0
        self.bar = tqdm(desc=desc, unit=unit, disable=not sys.stderr.isatty())
        self.done = self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.bar.total = total
        self.bar.update(done - self.done)
        self.done, self.total = done, total

    def close(self) -> None:
        self.bar.close()


def _runner_options(args: argparse.Namespace) -> dict[str, Any]:
    """Where sweep, tune and check run their jobs, and the user modules every worker imports."""
    return dict(
        workers=args.workers, backend=args.backend, address=args.address, imports=args.imports
    )


def _add_runner_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers", type=int, default=None, help="local processes (default: NUMBARL_THREADS/cores)"
    )
    parser.add_argument("--backend", choices=("local", "ray"), default="local")
    parser.add_argument(
        "--address", default=None, help="Ray cluster HOST:PORT (default: RAY_ADDRESS)"
    )


def _cmd_train(args: argparse.Namespace) -> int:
    from . import api

    overrides = _parse_pairs(args.set, "--set")
    fields = api.config_class(args.algo)._fields
    if args.steps is not None:
        target = next((f for f in ("total_steps", "steps", "max_total_steps") if f in fields), None)
        if target is None:
            raise ValueError(
                f"{args.algo} counts episodes, not steps; use --episodes (fields: "
                f"{', '.join(fields)})"
            )
        overrides[target] = args.steps
    if args.episodes is not None:
        if "episodes" not in fields:
            raise ValueError(f"{args.algo} has no 'episodes' field; use --steps")
        overrides["episodes"] = args.episodes
    env_opts = _parse_pairs(args.env_opt, "--env-opt")
    bar = _Bar(f"{args.algo} on {args.env}")
    try:
        result = api.train(
            args.algo, args.env, seed=args.seed, env_options=env_opts, progress=bar, **overrides
        )
    finally:
        bar.close()
    if args.out:
        result.to_csv(args.out)
        print(f"wrote {args.out} ({len(result.history)} rows)")
    if args.save:
        result.save(args.save)
        print(f"saved {args.save}")
    hist = result.history
    if "eval_return" in hist.columns and len(hist):
        ev = hist["eval_return"].dropna()
        print(
            f"{args.algo} on {args.env}, seed {args.seed}: last greedy evaluation "
            f"{ev.iloc[-1]:.3f} (best {ev.max():.3f}) after {int(hist['step'].iloc[-1])} steps"
        )
    elif "return" in hist.columns and len(hist):
        tail = hist["return"].tail(max(1, len(hist) // 10))
        print(
            f"{args.algo} on {args.env}, seed {args.seed}: mean return of the last "
            f"{len(tail)} episodes {tail.mean():.3f}"
        )
    return 0


def _parse_grid(items: Sequence[str] | None) -> dict[str, list]:
    grid: dict[str, list] = {}
    for item in items or []:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ValueError(f"--grid expects key=v1,v2,... with at least one value, got {item!r}")
        grid[key.strip()] = [_literal(v.strip()) for v in values.split(",") if v.strip()]
    return grid


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import RunsFailed, SweepInterrupted, sweep

    grid = _parse_grid(args.grid)
    fixed = _parse_pairs(args.set, "--set")
    bar = _CountBar(f"sweep {args.algo} on {args.env}", "run")
    try:
        df = sweep(
            args.algo,
            args.env,
            range(args.seed, args.seed + args.seeds),
            args.out,
            grid,
            eval_episodes=args.eval_episodes,
            env_options=_parse_pairs(args.env_opt, "--env-opt"),
            progress=bar,
            **_runner_options(args),
            **fixed,
        )
    except (KeyboardInterrupt, SweepInterrupted) as exc:
        bar.close()
        print(
            f"numbarl: sweep interrupted ({exc or 'Ctrl-C'}); {bar.done} of "
            f"{bar.total} runs are written in {args.out}; rerun the same command to resume",
            file=sys.stderr,
        )
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    except RunsFailed as exc:
        bar.close()
        print(f"numbarl: {exc}", file=sys.stderr)
        return 1
    bar.close()
    points = max(1, len(df.drop_duplicates(list(grid)))) if grid else 1
    print(
        f"{args.out}: {df['seed'].nunique()} seeds x {points} grid points, {len(df)} rows; "
        "rerunning resumes, skipping finished runs"
    )
    if "final_return" in df.columns:
        final = df.groupby("seed" if not grid else [*grid, "seed"])["final_return"].first()
        line = (
            f"final greedy return over {args.eval_episodes} fresh episodes: mean "
            f"{final.mean():.3f} over {len(final)} runs"
        )
        threshold = _reward_threshold(args.env)
        if threshold is not None:
            line += f"; {int((final >= threshold).sum())} of {len(final)} reach {threshold:g}"
        print(line)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .check import SuiteError, run_suite
    from .sweep import SweepInterrupted

    try:
        report = run_suite(
            args.suite,
            args.baseline,
            update_baseline=args.update_baseline,
            out=args.out,
            strict_speed=args.strict_speed,
            **_runner_options(args),
        )
    except SuiteError as exc:
        print(f"numbarl: error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, SweepInterrupted) as exc:
        print(f"numbarl: check interrupted ({exc or 'Ctrl-C'})", file=sys.stderr)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    print(report.text())
    if args.out is not None:
        print(f"wrote {args.out}/runs.csv and {args.out}/table.csv")
    if args.update_baseline:
        print(f"baseline {args.baseline} updated")
    held = int(report.table["holds"].sum())
    print(f"{report.suite.name}: {held} of {len(report.table)} cases hold")
    return 0 if report.ok else 1


def _reward_threshold(env: str) -> float | None:
    """Gymnasium's reward_threshold for ``env`` (the 'solved' level), if it has one."""
    try:
        import gymnasium

        return gymnasium.spec(env).reward_threshold
    except Exception:
        return None


def _cmd_tune(args: argparse.Namespace) -> int:
    from .tune import best_row, tune

    bar = _CountBar(f"tune {args.algo} on {args.env}", "trial")
    try:
        res = tune(
            args.algo,
            args.env,
            args.trials,
            seeds=args.seeds,
            objective=args.objective,
            eval_episodes=args.eval_episodes,
            threshold=args.threshold,
            seed=args.seed,
            storage=args.storage,
            study_name=args.study_name,
            out=args.out,
            env_options=_parse_pairs(args.env_opt, "--env-opt"),
            progress=bar,
            **_runner_options(args),
            **_parse_pairs(args.set, "--set"),
        )
    finally:
        bar.close()
    states = res.trials["state"].value_counts().to_dict()
    best = res.study.best_trial
    print(
        f"{args.algo} on {args.env}: {len(res.trials)} trials "
        f"({', '.join(f'{n} {s.lower()}' for s, n in sorted(states.items()))}); best trial "
        f"{best.number}: {args.objective} = {res.best_value:.6g} (mean over {args.seeds} seeds)"
    )
    print("tuned-table row:")
    print("    " + best_row(args.env, res.best_params))
    if args.out:
        print(f"wrote {args.out} (one row per trial)")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from .plots import plot

    path = plot(args.dir, args.y, args.x, args.by, args.out, smooth=args.smooth, title=args.title)
    print(f"wrote {path}")
    return 0


def _cmd_summarise(args: argparse.Namespace) -> int:
    import pandas as pd

    from .plots import summarise_runs
    from .results import write_csv

    table = summarise_runs(args.dir, args.y, args.by, args.last)
    with pd.option_context("display.width", 160, "display.max_columns", 50):
        print(table.to_string(index=False))
    if args.out:
        write_csv(table, args.out)
        print(f"wrote {args.out}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from . import api

    env_opts = _parse_pairs(args.env_opt, "--env-opt")
    returns = api.evaluate(args.file, args.env, args.episodes, args.seed, env_opts or None)
    sem = returns.std(ddof=1) / np.sqrt(len(returns)) if len(returns) > 1 else 0.0
    print(
        f"{args.file}: mean return {returns.mean():.3f} +- {sem:.3f} (s.e.) over "
        f"{len(returns)} greedy episodes"
    )
    return 0


def _cmd_algos(args: argparse.Namespace) -> int:
    from . import api
    from .config import config_table

    names = [args.algo] if args.algo else api.algorithms()
    for name in names:
        spec = api.algo_spec(name)
        print(f"{name}  [{spec.env_kind}]  {spec.summary}")
        for field, kind, default in config_table(api.config_class(name)):
            print(f"    {field}: {kind} = {default!r}")
        if spec.tuned:
            print(f"    tuned defaults for: {', '.join(sorted(spec.tuned))}")
    return 0


def _cmd_envs(args: argparse.Namespace) -> int:
    from . import envs

    for name in envs.names():
        s = envs.spec(name)
        print(f"{name:28s} {s.kind:8s} {s.summary}")
    return 0


def _cmd_rlhf(rest: Sequence[str]) -> int:
    """``numbarl rlhf [--seed N] [--steps N] [--set key=value ...] [--out FILE.csv]
    [--save FILE.npz]``: run the toy RLHF pipeline (``numbarl.rlhf.run_rlhf``) and print its
    summary. ``--steps`` sets ``ppo_steps``; ``--set`` any RLHFConfig field."""
    from .rlhf import make_rlhf_config, run_rlhf, summary_text

    ap = argparse.ArgumentParser(prog="numbarl rlhf", description="Toy RLHF: SFT, RM, PPO.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=None, help="PPO steps (RLHFConfig.ppo_steps)")
    ap.add_argument("--set", action="append", metavar="KEY=VALUE", help="RLHFConfig field")
    ap.add_argument("--out", type=Path, default=None, help="history CSV")
    ap.add_argument("--save", type=Path, default=None, help="trained arrays (.npz)")
    args = ap.parse_args(list(rest))
    overrides = _parse_pairs(args.set, "--set")
    if args.steps is not None:
        overrides["ppo_steps"] = args.steps
    bar = _Bar("rlhf")
    try:
        result = run_rlhf(make_rlhf_config(overrides), seed=args.seed, progress=bar)
    finally:
        bar.close()
    if args.out is not None:
        result.to_csv(args.out)
        print(f"wrote {args.out} ({len(result.history)} rows)")
    if args.save is not None:
        result.save(args.save)
        print(f"saved {args.save}")
    print(summary_text(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="numbarl",
        description=__doc__.splitlines()[0],
        epilog="Any command also takes --import MODULE (a module name or a .py file, "
        "repeatable): it is imported first, so the envs it registers with "
        "numbarl.envs.register can be named. Installed packages' numbarl.envs entry points "
        "are imported too.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train an algorithm on an environment")
    t.add_argument("algo")
    t.add_argument("env")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--steps", type=int, default=None, help="environment steps (deep learners)")
    t.add_argument("--episodes", type=int, default=None, help="episodes (tabular learners)")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="config field")
    t.add_argument("--env-opt", action="append", metavar="KEY=VALUE", help="env option")
    t.add_argument("--out", help="tidy CSV of the learning history")
    t.add_argument("--save", help="npz file of the learned table or network")
    t.set_defaults(func=_cmd_train)

    w = sub.add_parser("sweep", help="seeds x a config grid, one CSV per run, resumable")
    w.add_argument("algo")
    w.add_argument("env")
    w.add_argument("--seeds", type=int, default=5, help="number of seeds")
    w.add_argument("--seed", type=int, default=0, help="first seed")
    w.add_argument("--grid", action="append", metavar="KEY=V1,V2", help="swept config field")
    w.add_argument("--set", action="append", metavar="KEY=VALUE", help="fixed config field")
    w.add_argument("--env-opt", action="append", metavar="KEY=VALUE", help="env option")
    w.add_argument("--out", required=True, help="directory of per-run CSV files")
    _add_runner_options(w)
    w.add_argument(
        "--eval-episodes",
        type=int,
        default=0,
        help="evaluate each final policy on N fresh episodes (column final_return)",
    )
    w.set_defaults(func=_cmd_sweep)

    c = sub.add_parser("check", help="learning and speed regression checks of a suite file")
    c.add_argument("suite", help="suite TOML file (see numbarl.check)")
    c.add_argument("--baseline", default=None, help="runs CSV of an earlier check to compare with")
    c.add_argument(
        "--update-baseline", action="store_true", help="write this run's runs to --baseline"
    )
    _add_runner_options(c)
    c.add_argument("--out", default=None, help="directory for runs.csv and table.csv")
    c.add_argument(
        "--strict-speed", action="store_true", help="a speed regression fails (default: warns)"
    )
    c.set_defaults(func=_cmd_check)

    u = sub.add_parser("tune", help="search configs with Optuna (seeded TPE, pruning, storage)")
    u.add_argument("algo")
    u.add_argument("env")
    u.add_argument("--trials", type=int, required=True, help="trials the study should hold")
    u.add_argument("--seeds", type=int, default=3, help="training seeds per trial")
    u.add_argument(
        "--objective",
        choices=("final_return", "steps_to_solve", "seconds_to_solve"),
        default="final_return",
    )
    u.add_argument("--eval-episodes", type=int, default=20, help="fresh episodes per final policy")
    u.add_argument(
        "--threshold", type=float, default=None, help="'solved' return (default: Gymnasium's)"
    )
    u.add_argument("--seed", type=int, default=0, help="seed of the TPE sampler")
    _add_runner_options(u)
    u.add_argument("--storage", default=None, help="Optuna storage URL, e.g. sqlite:///study.db")
    u.add_argument("--study-name", default=None, help="default: ALGO-ENV-OBJECTIVE")
    u.add_argument("--out", default=None, help="tidy CSV of every trial")
    u.add_argument("--set", action="append", metavar="KEY=VALUE", help="fixed config field")
    u.add_argument("--env-opt", action="append", metavar="KEY=VALUE", help="env option")
    u.set_defaults(func=_cmd_tune)

    g = sub.add_parser("plot", help="mean curves with 95%% bootstrap bands of a results folder")
    g.add_argument("dir")
    g.add_argument("--y", default=None, help="value column (default: eval_return, else return)")
    g.add_argument("--x", default=None, help="x column (default: step, else episode)")
    g.add_argument("--by", action="append", metavar="COLUMN[,COLUMN]", help="one curve per group")
    g.add_argument("--smooth", type=int, default=1, help="rolling mean over N points per run")
    g.add_argument("--title", default=None)
    g.add_argument("--out", default="fig.png", help="PNG file (default fig.png)")
    g.set_defaults(func=_cmd_plot)

    m = sub.add_parser("summarise", help="mean, sem, bootstrap CI, IQM and n over runs")
    m.add_argument("dir")
    m.add_argument("--y", default=None, help="value column (default: eval_return, else return)")
    m.add_argument("--by", action="append", metavar="COLUMN[,COLUMN]", help="one row per group")
    m.add_argument("--last", type=int, default=None, help="average each run's last K rows")
    m.add_argument("--out", default=None, help="write the table as CSV")
    m.set_defaults(func=_cmd_summarise)

    e = sub.add_parser("evaluate", help="run a saved policy greedily")
    e.add_argument("file")
    e.add_argument("env", nargs="?", default=None, help="defaults to the env it was trained on")
    e.add_argument("--episodes", type=int, default=100)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--env-opt", action="append", metavar="KEY=VALUE")
    e.set_defaults(func=_cmd_evaluate)

    a = sub.add_parser("algos", help="list algorithms with their config fields and defaults")
    a.add_argument("algo", nargs="?")
    a.set_defaults(func=_cmd_algos)

    v = sub.add_parser("envs", help="list environments")
    v.set_defaults(func=_cmd_envs)

    r = sub.add_parser(
        "rlhf",
        help="toy RLHF: SFT, reward model, PPO with a KL penalty (numbarl rlhf --help)",
        add_help=False,
    )
    r.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def _take_imports(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split ``--import MODULE`` / ``--import=MODULE`` (anywhere, any subcommand) from argv."""
    modules, rest = [], []
    it = iter(argv)
    for arg in it:
        if arg == "--import":
            value = next(it, None)
            if value is None:
                raise ValueError("--import needs a module name or a .py file")
            modules.append(value)
        elif arg.startswith("--import="):
            modules.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return modules, rest


def _load_user_envs(modules: Sequence[str]) -> list[str]:
    """Import the packages advertised under the ``numbarl.envs`` entry point, then each
    ``--import`` module: their envs register themselves (``numbarl.envs.register``). Returns
    them all, for the worker processes of sweep, tune and check to import too."""
    from . import envs

    plugins = [value.partition(":")[0] for value in envs.load_plugins()]
    for module in modules:
        envs.load_module(module)
    return [*plugins, *modules]


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        modules, argv = _take_imports(argv)
        imports = _load_user_envs(modules)
        if argv and argv[0] == "rlhf":
            return _cmd_rlhf(argv[1:])
        args = build_parser().parse_args(argv)
        args.imports = imports
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"numbarl: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
