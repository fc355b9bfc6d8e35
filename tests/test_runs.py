"""numbarl.runs: seeded runs, identical whatever the thread count."""

import numpy as np
import pytest
from numba import njit

from numbarl.runs import run_many, spawn_rngs


@njit(cache=True, nogil=True)
def _walk(n, rng):
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = x[i - 1] + rng.standard_normal()
    return x, x[-1]


def test_runs_are_identical_whatever_the_threads():
    one = run_many(_walk, 9, 123, 50, threads=1)
    two = run_many(_walk, 9, 123, 50, threads=2)
    for a, b in zip(one, two, strict=True):
        assert a.tobytes() == b.tobytes()
    assert one[0].shape == (9, 50) and one[1].shape == (9,)
    # run i uses the i-th spawned generator
    ref = _walk(50, spawn_rngs(123, 9)[4])
    np.testing.assert_array_equal(one[0][4], ref[0])
    assert len({row.tobytes() for row in one[0]}) == 9  # independent streams


def test_progress_counts_every_run():
    seen = []
    run_many(_walk, 5, 0, 10, threads=2, progress=seen.append)
    assert seen == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("runs", [0, -1, 2.5, True])
def test_bad_runs(runs):
    with pytest.raises(ValueError, match="runs"):
        run_many(_walk, runs, 0, 10)


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        spawn_rngs(-1, 2)
    with pytest.raises(TypeError, match="seed"):
        spawn_rngs("x", 2)
