"""The compiled shuffle used by the minibatch loops draws exactly as NumPy's permutation."""

import numpy as np
import pytest

from numbarl.deep.rollout import permutation, permutation_into


@pytest.mark.parametrize("n", [0, 1, 2, 7, 64, 1000, 100_003])
@pytest.mark.parametrize("seed", [0, 1])
def test_permutation_equals_numpy_and_leaves_the_same_generator_state(n, seed):
    ours, ref = np.random.default_rng(seed), np.random.default_rng(seed)
    np.testing.assert_array_equal(permutation(ours, n), ref.permutation(n))
    assert ours.random() == ref.random()  # the generators advanced identically


@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_permutation_into_writes_the_same_permutation_in_place(n):
    ours, ref = np.random.default_rng(3), np.random.default_rng(3)
    perm = np.full(n, -5, dtype=np.int64)  # any previous contents
    permutation_into(ours, perm)
    np.testing.assert_array_equal(perm, ref.permutation(n))
    assert ours.random() == ref.random()
