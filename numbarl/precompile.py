"""Compile a learner's kernels on every core before its first run: the cold start in parallel.

A learner's first run on an empty Numba cache compiles a few dozen kernels one after the other
on one core (the rollout collector, the update, the training loop, the evaluation, the
networks and env functions behind their pointers). Most of them are independent of each other:
a kernel reached through a first-class function pointer (``FunctionPointer``) is compiled on
its own, and a loop that calls pointers only needs their signatures. ``compile_calls`` takes
the compiled calls a learner is about to make, finds every kernel they need (the called
functions and each pointer inside their arguments, searched through tuples), drops those
already in Numba's disk cache, and compiles the rest in ``workers`` processes at once: the
calling process and ``workers - 1`` forked children take kernels from a shared queue, largest
first. The children save what they compile to Numba's disk cache and exit; the calling process
waits for them, and its calls then load those kernels from the cache instead of compiling them.

The compiled code is the same whoever compiles it (one process or several, same bytes of
results): only where the compile time is spent changes. It is an optimisation only: nothing
runs in parallel when the cache already holds the kernels, when one worker is asked for, off
Linux (where this process's OS threads cannot be counted), when the process already runs
other threads, Python's or native ones (forking a threaded process can deadlock), except the
threads of an OpenBLAS pool, which stops them before a fork (``fork_safe``), or when
Numba's cache internals differ from what this module knows (then every kernel compiles on
first call, as before). A child that fails leaves its kernels to be compiled on first call.

Workers: ``NUMBARL_COMPILE_WORKERS`` if set (``1`` turns this off), else the cores this process
may use, at most 4.

Every compile, in a worker or not, runs with the garbage collector's full collections paused
(``numbarl.envs.compile_gc``); a forked worker also freezes the heap it inherits (``gc.freeze``), so
its collections skip the parent's objects and do not copy their pages on write.

Numba's cache has one index file per function; two processes saving different signatures of one
function at once could both take the same data-file name. While workers run, each save to the
cache holds an exclusive lock on a file in the cache directory (``fcntl.flock``), so saves
happen one at a time and each re-reads the index it extends.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from numba import types
from numba.core import caching
from numba.core.dispatcher import Dispatcher

from numbarl.envs.control.core import FunctionPointer
from numbarl.nn.recref import RecordRef

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no fork either
    fcntl = None

_MAX_DEFAULT_WORKERS = 4


def compile_workers() -> int:
    """``NUMBARL_COMPILE_WORKERS`` if set, else the cores this process may use (at most 4)."""
    env = os.environ.get("NUMBARL_COMPILE_WORKERS")
    if env is not None:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"NUMBARL_COMPILE_WORKERS must be an integer, got {env!r}") from None
        return max(1, n)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        cores = os.cpu_count() or 1
    return max(1, min(cores, _MAX_DEFAULT_WORKERS))


def os_threads() -> int:
    """This process's threads as the OS counts them (native ones too, e.g. a BLAS pool); 0 when
    unknown (no ``/proc``)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def fork_safe() -> bool:
    """Whether forking this process cannot deadlock on another thread's lock: no other Python
    thread, and every other OS thread (0 threads counted: unknown, no ``/proc``) one that a
    loaded BLAS pool stops before a fork (``_blas_pool_threads``)."""
    if threading.active_count() > 1:
        return False
    n = os_threads()
    return n == 1 or 1 < n <= 1 + _blas_pool_threads()


def _blas_pool_threads() -> int:
    """How many threads the native thread pools loaded in this process may hold that a fork
    stops first: OpenBLAS built on pthreads (NumPy's and SciPy's wheels) shuts its pool down
    before every fork (``pthread_atfork``; the pool restarts on the next product), and holds
    at most ``max(its threads, cores) - 1`` of them. 0 when any other pool (OpenMP, MKL, TBB:
    no such guarantee) is loaded. Read with threadpoolctl. A script that imports NumPy before
    numbarl has NumPy's OpenBLAS pool running (numbarl sets ``OPENBLAS_NUM_THREADS=1`` on
    import, too late for it): its first training would otherwise compile on one core."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a dependency of numbarl
        return 0
    cores = os.cpu_count() or 1
    total = 0
    for pool in threadpool_info():
        if pool.get("internal_api") != "openblas" or pool.get("threading_layer") != "pthreads":
            return 0
        total += max(int(pool.get("num_threads", 1)), cores) - 1
    return total


def _pointers(value: Any, found: list[FunctionPointer], seen: set[int]) -> None:
    """Append every FunctionPointer inside ``value`` (searched through tuples and lists)."""
    if isinstance(value, FunctionPointer):
        if id(value) not in seen:
            seen.add(id(value))
            found.append(value)
    elif isinstance(value, tuple | list):
        for item in value:
            _pointers(item, found, seen)


def _code_size(fn: Any, seen: set[int]) -> int:
    """Bytecode length of ``fn`` and of the njit functions it names (each counted once), except
    those already compiled or loaded in this process (an env's functions, compiled by its
    check): a callee that is not inlined is its own compile, paid once."""
    code = getattr(fn, "__code__", None)
    if code is None or id(fn) in seen:
        return 0
    seen.add(id(fn))
    total = 0
    codes = [code]
    while codes:  # the function's own code and the code of functions defined inside it
        c = codes.pop()
        total += len(c.co_code)
        codes.extend(k for k in c.co_consts if hasattr(k, "co_code"))
        for name in c.co_names:
            callee = getattr(fn, "__globals__", {}).get(name)
            if isinstance(callee, Dispatcher) and (
                not callee.overloads or callee.targetoptions.get("inline", "never") != "never"
            ):
                total += _code_size(callee.py_func, seen)
    return total


_ARG_WEIGHT = 5  # bytecode bytes per flattened argument scalar (``_Unit.size``)


def _flat_size(t: Any) -> int:
    """Scalars in the Numba type ``t`` flattened: an array 3 + 2 ndim (data, size, item size,
    shape and strides), a tuple its members', a record by reference its record's (the kernel
    still reads its fields: the queue's order as fitted), anything else 1."""
    if isinstance(t, RecordRef):
        return _flat_size(t.record)
    if isinstance(t, types.BaseTuple):
        return sum(_flat_size(m) for m in t.types)
    if isinstance(t, types.Array):
        return 3 + 2 * t.ndim
    return 1


class _Unit:
    """One kernel to compile: ``dispatcher`` for ``signature`` (a pointer's full signature, or a
    call's argument types)."""

    def __init__(self, dispatcher: Dispatcher, signature: Any, pointer: bool) -> None:
        self.dispatcher = dispatcher
        self.signature = signature
        self.pointer = pointer

    def args(self) -> tuple:
        return tuple(self.signature.args) if self.pointer else tuple(self.signature)

    def size(self) -> int:
        """A guess at the compile time, for the queue's order: the bytecode of the kernel and
        of every njit function it names (directly or through those), plus ``_ARG_WEIGHT`` per
        scalar of its arguments flattened (``_flat_size``): records of arrays cost code at
        every use (unpacking, reference counts, the wrappers). Fitted on the units of six
        learners' cold starts (rank correlation with the measured compile times 0.96, bytecode
        alone 0.90): a training loop's small body with its large records is no longer queued
        last, where it ran alone while the other worker had finished."""
        code = _code_size(self.dispatcher.py_func, set())
        return code + _ARG_WEIGHT * sum(_flat_size(t) for t in self.args())

    def cached(self) -> bool:
        """Compiled in this process or saved in Numba's disk cache (True when unsure, so an
        unknown case compiles on first call as usual)."""
        if self.args() in self.dispatcher.overloads:
            return True
        cache = getattr(self.dispatcher, "_cache", None)
        if not isinstance(cache, caching.Cache):
            return True  # no disk cache: a child's compile would be lost
        try:
            key = cache._index_key(self.signature, self.dispatcher.targetctx.codegen())
            return key in cache._cache_file._load_index()
        except Exception:  # noqa: BLE001 - other Numba internals: do not parallelise
            return True

    def compile(self) -> None:
        if self.pointer:
            self.dispatcher.get_compile_result(self.signature)
        else:
            self.dispatcher.compile(self.signature)


def _units(calls: Sequence[tuple[Dispatcher, tuple]]) -> list[_Unit]:
    units: list[_Unit] = []
    keys: set[tuple] = set()

    def add(unit: _Unit) -> None:
        key = (id(unit.dispatcher), unit.args())
        if key not in keys:
            keys.add(key)
            units.append(unit)

    found: list[FunctionPointer] = []
    seen: set[int] = set()
    for dispatcher, args in calls:
        add(_Unit(dispatcher, tuple(dispatcher.typeof_pyval(a) for a in args), pointer=False))
        _pointers(args, found, seen)
    for p in found:
        if isinstance(p.dispatcher, Dispatcher):
            add(_Unit(p.dispatcher, p.signature(), pointer=True))
    return units


@contextlib.contextmanager
def _locked_cache_saves() -> Iterator[None]:
    """While open, every save to Numba's disk cache (in this process and in children forked
    inside) holds an exclusive lock on ``<cache dir>/.numbarl-save.lock``."""
    original = caching.IndexDataCacheFile.save

    def save(self, key, data):  # noqa: ANN001, ANN202
        path = os.path.join(self._cache_path, ".numbarl-save.lock")
        with open(path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return original(self, key, data)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    caching.IndexDataCacheFile.save = save
    try:
        yield
    finally:
        caching.IndexDataCacheFile.save = original


def _compile_from_queue(units: list[_Unit], counter: Any) -> None:
    """Take units off the shared queue (``counter`` the next index) until it is empty."""
    while True:
        with counter.get_lock():
            i = counter.value
            counter.value += 1
        if i >= len(units):
            return
        units[i].compile()


def compile_calls(calls: Sequence[tuple[Dispatcher, tuple]], workers: int | None = None) -> int:
    """Compile, in ``workers`` processes at once, every kernel the compiled ``calls`` (pairs of
    an njit dispatcher and the arguments it will be called with) need and Numba's disk cache
    does not hold yet; returns how many kernels were compiled this way (0: nothing ran in
    parallel, the calls compile on first use as usual). ``workers`` defaults to
    ``compile_workers()``. See the module docstring."""
    workers = compile_workers() if workers is None else max(1, int(workers))
    if workers < 2 or fcntl is None or not hasattr(os, "fork"):
        return 0
    if not fork_safe():
        return 0
    units = [u for u in _units(calls) if not u.cached()]
    if len(units) < 2:
        return 0
    units.sort(key=lambda u: u.size(), reverse=True)
    # Numba's first compile in a process loads every registered implementation (~0.3 s): here,
    # once, rather than in every worker after the fork
    units[0].dispatcher.targetctx.refresh()
    import multiprocessing

    counter = multiprocessing.get_context("fork").Value("q", 0)
    children = []
    with _locked_cache_saves():
        for _ in range(min(workers, len(units)) - 1):
            pid = os.fork()
            if pid == 0:  # child: compile from the queue, save to the cache, leave
                gc.freeze()  # the parent's objects: never collected here, nor copied on write
                code = 0
                try:
                    _compile_from_queue(units, counter)
                except BaseException:  # noqa: BLE001 - the parent compiles what is left
                    code = 1
                os._exit(code)
            children.append(pid)
        try:
            _compile_from_queue(units, counter)
        except BaseException:  # a compile error or Ctrl-C: the children's work is moot
            for pid in children:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
            raise
        finally:
            for pid in children:
                os.waitpid(pid, 0)
    return len(units)


__all__ = ["compile_calls", "compile_workers", "fork_safe", "os_threads"]
