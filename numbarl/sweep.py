"""Resumable sweeps: many seeds x a grid of config values, one tidy CSV per finished run.

``sweep(algo, env, seeds, out, grid)`` trains every (config, seed) combination with
``numbarl.train`` and writes each run's history to ``out/<algo>__<env>__<key>.csv``, where
``<key>`` names the grid point and seed. A run whose file exists is skipped, so a sweep that is
interrupted keeps every finished run and resumes where it stopped; `numbarl.results` reads the
directory into one DataFrame.

Where runs execute (``backend``):

- ``"local"`` (default): ``workers`` processes on this machine (default: ``NUMBARL_THREADS`` or
  every core; 1 runs in this process). Processes, not threads: the learners' compiled loops hold
  the GIL (they are not ``nogil``), and measured on 2 cores, 10 PPO runs on CartPole took 1.72 s
  one after another, 1.73 s on 2 threads and 0.89 s on 2 processes. Workers are started once
  per sweep (forked from this process on Linux when it runs no other thread, else from a
  "forkserver": `_start_context`), load the compiled code from Numba's disk cache (~0.3 s of
  CPU once per worker) and stay alive for every run.
- ``"ray"``: every run is a Ray task (``ray.init(address)``; ``address=None`` reads
  ``RAY_ADDRESS`` or starts a local Ray), so the same command uses a whole cluster.

A worker is a fresh process that knows only the built-in envs: ``imports`` (modules or ``.py``
files, as ``--import`` takes them) lists the modules every worker imports before its first run,
so envs that a user module registers exist there too (`resolve_imports`).

Either way the workers only compute: each run's history, formatted in the worker as its CSV
text (`numbarl.results.csv_text`, so formatting runs in parallel too), comes back to this
process, which writes it atomically (`numbarl.results.write_text`: a temporary file renamed
into place), so the files are byte-identical whatever the backend or worker count, and an
interruption (Ctrl-C, SIGTERM, a worker killed) leaves every finished run and no partial file.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import multiprocessing
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from . import api
from .precompile import fork_safe
from .results import concat_results, csv_text, read_csv_text, write_text
from .runs import default_threads

__all__ = [
    "EVAL_SEED_OFFSET",
    "Job",
    "JobResult",
    "ModuleRef",
    "RunsFailed",
    "SweepInterrupted",
    "grid_points",
    "import_modules",
    "open_runner",
    "resolve_imports",
    "run_job",
    "run_path",
    "sweep",
]

BACKENDS = ("local", "ray")
# A run with seed s evaluates its final policy on episodes seeded EVAL_SEED_OFFSET + s: fresh
# episodes, never the ones it trained on.
EVAL_SEED_OFFSET = 1_000_000
_RAY_INSTALL = 'Ray is not installed; install it with: pip install "numbarl[ray]"'


class SweepInterrupted(RuntimeError):
    """A sweep stopped early (Ctrl-C, SIGTERM, a worker died); finished runs are kept."""


class RunsFailed(RuntimeError):
    """Some runs raised (e.g. `numbarl.errors.TrainingDiverged`); every other run finished and
    is written. ``failures`` holds ``(job, exception)`` pairs."""

    def __init__(self, message: str, failures: list[tuple[Job, BaseException]]) -> None:
        super().__init__(message)
        self.failures = failures


def grid_points(grid: Mapping[str, Sequence[Any]] | None) -> list[dict[str, Any]]:
    """Every combination of ``grid`` values, in the order the keys and values are given."""
    if not grid:
        return [{}]
    for key, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise ValueError(f"grid[{key!r}] must be a sequence of values, got {values!r}")
        if len(list(values)) == 0:
            raise ValueError(f"grid[{key!r}] is empty: give at least one value")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-")


def run_path(out: Path, algo: str, env: str, point: Mapping[str, Any], seed: int) -> Path:
    """Where the run of ``algo`` on ``env`` at grid ``point`` with ``seed`` is written."""
    parts = [f"{k}={point[k]}" for k in point] + [f"seed={seed}"]
    return out / f"{_slug(algo)}__{_slug(env)}__{_slug('_'.join(parts))}.csv"


# --- user modules: what a worker imports first ---------------------------------------------------


class ModuleRef(NamedTuple):
    """A module that a worker imports before running (it registers a user's envs): its name and
    the directory it was imported from here ("" if found on the default path)."""

    name: str
    directory: str = ""


def _root(module: Any) -> str:
    """The ``sys.path`` directory ``module`` was found in ("" if unknown, e.g. a namespace)."""
    top = sys.modules.get(module.__name__.partition(".")[0])
    file = getattr(top, "__file__", None)
    if not file:
        return ""
    where = Path(file).resolve().parent
    return str(where.parent if hasattr(top, "__path__") else where)


def resolve_imports(modules: Iterable[str | ModuleRef] = ()) -> tuple[ModuleRef, ...]:
    """Import each of ``modules`` (a dotted name or a ``.py`` path, as ``--import`` takes them;
    `numbarl.envs.load_module`) in this process and describe it for the workers: a module that
    does not exist fails here, before any run starts."""
    from numbarl import envs

    if isinstance(modules, str):
        raise TypeError(f"imports must be a list of module names, got the string {modules!r}")
    refs: list[ModuleRef] = []
    for module in modules:
        if isinstance(module, ModuleRef):
            refs.append(module)
            continue
        if not isinstance(module, str):
            raise TypeError(f"imports must hold module names or .py paths, got {module!r}")
        loaded = envs.load_module(module)
        refs.append(ModuleRef(loaded.__name__, _root(loaded)))
    return tuple(dict.fromkeys(refs))  # in order, each once


def import_modules(refs: Iterable[ModuleRef]) -> None:
    """Worker side of `resolve_imports`: put each module's directory on ``sys.path`` and import
    it (a module already imported is not run again)."""
    for ref in refs:
        if ref.directory and ref.directory not in sys.path:
            sys.path.insert(0, ref.directory)
        try:
            importlib.import_module(ref.name)
        except ModuleNotFoundError as exc:
            if exc.name != ref.name.partition(".")[0]:
                raise  # the module itself imports something missing
            where = f" in {ref.directory}" if ref.directory else ""
            raise ValueError(
                f"worker on {socket.gethostname()} cannot import {ref.name!r} (looked{where} "
                "and on sys.path); on a cluster, install the module on every node or ship it "
                "with Ray's runtime_env"
            ) from None


# --- one run: what a worker computes ------------------------------------------------------------


class Job(NamedTuple):
    """One (config, seed) run. ``eval_episodes`` > 0 also runs the final policy greedily on that
    many fresh episodes (seeded ``EVAL_SEED_OFFSET + seed``)."""

    algo: str
    env: str
    seed: int
    config: dict[str, Any]
    env_options: dict[str, Any] | None = None
    eval_episodes: int = 0
    warm_up: bool = False  # train once briefly first, so `seconds` holds no cache loading
    imports: tuple[ModuleRef, ...] = ()  # imported before the run (user envs): resolve_imports
    csv: bool = False  # also format the history as its CSV file's text (`JobResult.csv`)


class JobResult(NamedTuple):
    history: pd.DataFrame | None  # the run's tidy history (+ final_return, final_episodes)
    seconds: float  # wall time of training in the worker (not written: it varies)
    csv: str | None = None  # `numbarl.results.csv_text(history)` instead, if the job asked


_WARMED: set[tuple[str, str]] = set()


def _warm_up(job: Job) -> None:
    """Load ``job``'s compiled learner in this process with a tiny budget (best effort): a
    process's first run also loads code from Numba's cache (0.3-2 s), which a timed run must
    not count."""
    if (job.algo, job.env) in _WARMED:
        return
    _WARMED.add((job.algo, job.env))
    cfg = api.build_config(job.algo, job.env, job.config)._asdict()
    small = dict(cfg)
    if "total_steps" in cfg:
        batch = int(cfg.get("n_envs", 1)) * int(cfg.get("n_steps", 1))
        small["total_steps"] = max(batch, min(int(cfg["total_steps"]), 2 * batch, 1_000))
        small["eval_every"] = small["total_steps"] if "eval_every" in cfg else None
        small = {k: v for k, v in small.items() if v is not None}
    if "episodes" in cfg:
        small["episodes"] = 2
    with contextlib.suppress(Exception):
        res = api.train(job.algo, job.env, seed=job.seed, env_options=job.env_options, **small)
        api.evaluate(res, None, 1, EVAL_SEED_OFFSET)


def run_job(job: Job) -> JobResult:
    """Train (and optionally evaluate) one run; pure computation, no files."""
    import_modules(job.imports)
    if job.warm_up:
        _warm_up(job)
    t0 = time.perf_counter()
    res = api.train(job.algo, job.env, seed=job.seed, env_options=job.env_options, **job.config)
    seconds = time.perf_counter() - t0
    history = res.history
    if job.eval_episodes > 0:
        returns = api.evaluate(res, None, int(job.eval_episodes), EVAL_SEED_OFFSET + job.seed)
        history = history.assign(
            final_return=float(np.mean(returns)), final_episodes=int(job.eval_episodes)
        )
    if job.csv:  # formatted here, in the worker: the parent only writes the text
        return JobResult(None, seconds, csv_text(history))
    return JobResult(history, seconds)


# --- runners: where jobs execute ------------------------------------------------------------------


def _worker_signals() -> None:
    """Worker initializer: Ctrl-C reaches the whole process group; the parent alone handles it
    (and stops the workers), so a worker never dies half way through returning a result. A
    forked worker also drops the parent's SIGTERM handler (`sigterm_as_interrupt`): stopping
    a worker ends it at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start_context() -> Any:
    """How worker processes start. On Linux, in a process that forks safely, "fork": workers
    begin with everything this process has imported (numbarl, pandas, Numba, the learner's
    module), which a forkserver imports again before its first worker starts and every worker
    then completes (measured: 10 PPO seeds on 2 workers cost 3.6 s of CPU as a whole
    `numbarl sweep` command forked, the same as on 1 worker, and 6.1 s from a forkserver).
    Forking a process that runs other threads (a Jupyter kernel, Ray, a progress thread) can
    deadlock in the child (the threads of an OpenBLAS pool excepted, which OpenBLAS stops
    before a fork: ``numbarl.precompile.fork_safe``), so there, and on other systems, a
    "forkserver" that imports numbarl once and forks every worker from it (measured on 2 loaded
    cores: the first two runs took 2.3 s instead of 4.7-5.7 s with "spawn", which is the last
    resort)."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and fork_safe():
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["numbarl.sweep", "numbarl.algos"])
        return ctx
    return multiprocessing.get_context("spawn")


class _InProcess:
    name = "local"

    def __init__(self) -> None:
        self.workers = 1

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, JobResult | Exception]]:
        for i, job in enumerate(jobs):
            try:
                result: JobResult | Exception = run_job(job)
            except Exception as exc:  # a failed run does not stop the others
                result = exc
            yield i, result

    def close(self, error: bool = False) -> None:
        pass


class _ProcessPool:
    """Worker processes kept alive across runs (and across ``run`` calls: tuning reuses them)."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool = ProcessPoolExecutor(
            workers, mp_context=_start_context(), initializer=_worker_signals
        )

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, JobResult | Exception]]:
        futures: dict[Future, int] = {self.pool.submit(run_job, j): i for i, j in enumerate(jobs)}
        broken: BaseException | None = None
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            if not done:
                self._check_alive()
            for fut in sorted(done, key=futures.__getitem__):
                try:
                    result = fut.result()
                except BrokenProcessPool as exc:
                    broken = exc
                    continue
                except Exception as exc:  # the run raised in its worker
                    result = exc
                yield futures[fut], result
        if broken is not None:
            raise SweepInterrupted(
                f"a worker process died ({broken}); every finished run is kept, rerun to resume"
            )

    def _check_alive(self) -> None:
        """A worker killed while sending a result leaves half a message in the result pipe and
        the executor never notices the death (its manager thread waits for the rest); workers
        only exit at shutdown, so a dead one here means the pool is broken."""
        procs = (getattr(self.pool, "_processes", None) or {}).values()
        dead = [p for p in procs if p.exitcode is not None]
        if dead:
            raise SweepInterrupted(
                f"a worker process died (exit code {dead[0].exitcode}); every finished run is "
                "kept, rerun to resume"
            )

    def close(self, error: bool = False) -> None:
        if error:  # stop at once: pending runs are lost, finished ones are written already
            procs = list((getattr(self.pool, "_processes", None) or {}).values())
            results = getattr(self.pool, "_result_queue", None)  # shutdown() drops it
            self.pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                p.terminate()
            for p in procs:
                p.join(timeout=5)
            # A worker killed while sending its result leaves half a message in the result
            # pipe; the executor's manager thread would wait for the rest forever (and Python
            # joins that thread at exit). No worker holds the pipe now: closing our write end
            # turns the wait into EOF, which the executor handles as a broken pool.
            with contextlib.suppress(Exception):
                results._writer.close()
        else:
            self.pool.shutdown(wait=True)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ValueError(_RAY_INSTALL) from None
    return ray


def check_ray_address(address: str, timeout: float = 3.0) -> None:
    """Raise ValueError within ``timeout`` seconds if nothing answers at ``address``
    (``HOST:PORT`` or ``ray://HOST:PORT``; ``auto`` and ``local`` are left to Ray)."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"Ray address must be HOST:PORT (e.g. 10.0.0.5:6379), got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ValueError(
            f"Ray address {address!r} does not answer ({exc}); start the head node with "
            "`ray start --head` and pass the address it prints"
        ) from None


class _Ray:
    name = "ray"

    def __init__(self, address: str | None) -> None:
        ray = _import_ray()
        self.ray = ray
        address = address or os.environ.get("RAY_ADDRESS") or None
        self.started = not ray.is_initialized()
        if self.started:
            if address:
                check_ray_address(address)
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(include_dashboard=False, log_to_driver=False)
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        self.remote = ray.remote(num_cpus=1, max_retries=0)(run_job)

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, JobResult | Exception]]:
        refs = {self.remote.remote(j): i for i, j in enumerate(jobs)}
        self._pending = list(refs)
        while self._pending:
            done, self._pending = self.ray.wait(self._pending, num_returns=1)
            for ref in done:
                try:
                    result = self.ray.get(ref)
                except self.ray.exceptions.RayTaskError as exc:  # the run raised in its task
                    result = exc.cause if isinstance(exc.cause, Exception) else exc
                yield refs[ref], result

    def close(self, error: bool = False) -> None:
        if error:
            for ref in getattr(self, "_pending", []):
                with contextlib.suppress(Exception):
                    self.ray.cancel(ref, force=True)
        if self.started:
            self.ray.shutdown()


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return default_threads()
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    return int(workers)


def _check_backend(backend: str, workers: int | None, address: str | None) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if backend == "local":
        if address is not None:
            raise ValueError("address only applies to backend='ray'")
        _check_workers(workers)
    if backend == "ray":
        if workers is not None:
            raise ValueError("workers only applies to backend='local'; Ray uses the cluster's CPUs")
        _import_ray()
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address:
            check_ray_address(address)


@contextlib.contextmanager
def open_runner(
    backend: str = "local", workers: int | None = None, address: str | None = None, jobs: int = 0
):
    """A runner (``runner.run(jobs)`` yields ``(index, JobResult or the exception the run
    raised)`` as runs finish) kept open
    for the block; on an exception (Ctrl-C included) workers are stopped at once. ``jobs``
    caps the local worker count (no more processes than runs)."""
    _check_backend(backend, workers, address)
    if backend == "ray":
        runner: Any = _Ray(address)
    else:
        n = _check_workers(workers)
        n = min(n, jobs) if jobs > 0 else n
        runner = _ProcessPool(n) if n > 1 else _InProcess()
    try:
        yield runner
    except BaseException:
        runner.close(error=True)
        raise
    runner.close()


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM raises KeyboardInterrupt in the main thread for the block (so the cleanup that
    Ctrl-C gets also runs on ``kill``); elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _remove_stale_temps(out: Path) -> None:
    """Drop temporary files that a killed writer left (``.NAME.PID.HEX.tmp``, PID not alive)."""
    for tmp in out.glob(".*.csv.*.tmp"):
        parts = tmp.name.rsplit(".", 3)
        try:
            pid = int(parts[-3])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            tmp.unlink(missing_ok=True)
        except PermissionError:
            pass


# --- the sweep ------------------------------------------------------------------------------------


def sweep(
    algo: str,
    env: str,
    seeds: Iterable[int],
    out: str | Path,
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    eval_episodes: int = 0,
    env_options: dict[str, Any] | None = None,
    imports: Sequence[str | ModuleRef] = (),
    progress: Callable[[int, int], None] | None = None,
    **config: Any,
) -> pd.DataFrame:
    """Train ``algo`` on ``env`` for every seed and grid point (fixed ``config`` fields apply to
    all), skipping runs already written to ``out``; returns every run's rows as one frame.

    ``workers``: local processes (default ``NUMBARL_THREADS`` or the machine's cores);
    ``backend="ray"`` runs each job as a Ray task on the cluster at ``address`` (default
    ``RAY_ADDRESS``, else a local Ray). ``eval_episodes`` > 0 adds the columns
    ``final_return`` (mean greedy return of the final policy over that many fresh episodes) and
    ``final_episodes`` to each run's file. ``imports``: modules (names or ``.py`` paths) that
    register user envs, imported here and by every worker before its runs.

    Every configuration (and the backend) is checked before the first run starts, so a typo in
    the grid fails at once rather than after hours of finished runs. ``progress(done, total)``
    is called per run. An interruption raises KeyboardInterrupt or `SweepInterrupted` after the
    workers are stopped; every finished run is on disk and rerunning resumes."""
    seeds = [api.check_seed(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    if grid is not None and not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a mapping of field -> values, got {type(grid).__name__}")
    points = grid_points(grid)
    overlap = sorted(set(config) & set(grid or {}))
    if overlap:
        raise ValueError(f"fields {overlap} are both fixed and swept; give each in one place")
    if isinstance(eval_episodes, bool) or not isinstance(eval_episodes, int) or eval_episodes < 0:
        raise ValueError(f"eval_episodes must be an integer >= 0, got {eval_episodes!r}")
    refs = resolve_imports(imports)  # first: they may register ``env``
    for point in points:  # validate everything first (raises ValueError/TypeError)
        api.build_config(algo, env, {**config, **point})
    api.resolve_env(env, env_options)  # an unknown env or option fails here, not in a worker
    _check_backend(backend, workers, address)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(out)
    runs = [
        (point, seed, run_path(out, algo, env, point, seed)) for point in points for seed in seeds
    ]
    todo = [r for r in runs if not r[2].exists()]
    done = len(runs) - len(todo)
    failures: list[tuple[Job, Exception]] = []
    parsed: dict[Path, pd.DataFrame] = {}  # this call's runs, as read_results would read them
    if progress is not None:
        progress(done, len(runs))
    if todo:
        jobs = [
            Job(
                algo,
                env,
                seed,
                {**config, **point},
                env_options,
                eval_episodes,
                imports=refs,
                csv=True,
            )  # fmt: skip
            for point, seed, _ in todo
        ]
        with (
            sigterm_as_interrupt(),
            open_runner(backend, workers, address, jobs=len(jobs)) as runner,
        ):
            for i, result in runner.run(jobs):
                if isinstance(result, Exception):
                    failures.append((jobs[i], result))
                    continue
                write_text(result.csv, todo[i][2])
                parsed[todo[i][2]] = read_csv_text(result.csv)  # while the workers compute
                done += 1
                if progress is not None:
                    progress(done, len(runs))
    if failures:
        shown = "; ".join(
            f"seed {job.seed}{''.join(f', {k}={job.config[k]}' for k in (grid or {}))}: "
            f"{type(exc).__name__}: {exc}"
            for job, exc in failures[:3]
        )
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        raise RunsFailed(
            f"{len(failures)} of {len(runs)} runs failed, the others are written: {shown}{more}",
            failures,
        )
    return concat_results([parsed[p] if p in parsed else pd.read_csv(p) for _, _, p in runs])
