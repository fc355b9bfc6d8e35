"""BLAS threads for tiny networks.

numbarl's matrix products are tiny (a batch by 64); OpenBLAS's threads cost more than they save,
and on a loaded 2-core machine they made updates 10-40x slower (measured: a DDPG update 19-28 ms
instead of 0.9 ms, RLHF's SFT 13.2 s of CPU instead of 0.6 s). ``numbarl`` sets
``OPENBLAS_NUM_THREADS=1`` on import when the user has not; `single_threaded_blas` also covers
the case where SciPy's BLAS was loaded before numbarl, through threadpoolctl.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits


def single_threaded_blas() -> threadpool_limits:
    """A context manager running its block with every BLAS library on one thread, restoring
    the previous thread counts afterwards."""
    return threadpool_limits(limits=1, user_api="blas")
