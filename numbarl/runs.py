"""Many independent runs of one compiled kernel, each with its own spawned seed.

The book averages over 100 to 10,000 runs. ``run_many`` calls a ``nogil`` njit kernel once per
run on a thread pool; run ``i`` always gets the generator spawned ``i``-th from the seed, so
the stacked results are byte-identical whatever the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np


def spawn_rngs(seed: int | np.random.SeedSequence, n: int) -> list[np.random.Generator]:
    """``n`` independent generators from ``np.random.SeedSequence(seed).spawn(n)``."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer | np.random.SeedSequence):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if not isinstance(seed, np.random.SeedSequence) and seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(int(seed))
    return [np.random.Generator(np.random.PCG64(s)) for s in ss.spawn(n)]


def default_threads() -> int:
    """Threads to use: NUMBARL_THREADS if set, else the machine's cores."""
    env = os.environ.get("NUMBARL_THREADS")
    if env:
        return max(1, int(env))
    return max(1, os.cpu_count() or 1)


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(n_threads: int) -> ThreadPoolExecutor:
    """A process-wide pool per thread count: sweeps call run_many hundreds of times, and starting
    threads each time cost about half of a small sweep."""
    pool = _POOLS.get(n_threads)
    if pool is None:
        pool = _POOLS[n_threads] = ThreadPoolExecutor(
            max_workers=n_threads, thread_name_prefix="numbarl-run"
        )
    return pool


def _stack(results: Sequence[Any]) -> Any:
    first = results[0]
    if isinstance(first, tuple):
        return tuple(_stack([r[i] for r in results]) for i in range(len(first)))
    return np.stack([np.asarray(r) for r in results])


def run_many(
    kernel: Callable[..., Any],
    runs: int,
    seed: int,
    *args: Any,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Any:
    """Call ``kernel(*args, rng)`` for ``runs`` runs and stack the results along a new axis 0
    (a tuple of results becomes a tuple of stacked arrays). ``progress(k)`` is called as runs
    finish with the number finished so far."""
    if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 1:
        raise ValueError(f"runs must be an integer >= 1, got {runs!r}")
    rngs = spawn_rngs(seed, int(runs))
    n_threads = default_threads() if threads is None else int(threads)
    if n_threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads!r}")
    # Compile (or load from cache) once, in this thread, before fanning out.
    out: list[Any] = [None] * runs
    out[0] = kernel(*args, rngs[0])
    done = 1
    if progress is not None:
        progress(done)
    if runs > 1:
        if n_threads == 1:
            for i in range(1, runs):
                out[i] = kernel(*args, rngs[i])
                done += 1
                if progress is not None:
                    progress(done)
        else:
            pool = _pool(n_threads)
            futures = {i: pool.submit(kernel, *args, rngs[i]) for i in range(1, runs)}
            for i in range(1, runs):
                out[i] = futures[i].result()
                done += 1
                if progress is not None:
                    progress(done)
    return _stack(out)
