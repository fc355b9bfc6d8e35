"""Returns kernels against hand-computed arrays, identities between them, and input checks."""

import numpy as np
import pytest

from numbarl import returns as R

# Three packed episodes, gamma = lam = 0.5:
#   A: steps 0-2, terminated at 2;  B: steps 3-4, truncated at 4;
#   C: steps 5-6, the batch ends at 6 with neither flag (treated as truncated).
# next_values[t] = values[t + 1] inside episodes; next_values[2] = 100 is the value of a terminal
# state and must never be used; next_values[4] = 20 and [6] = 16 are truncation bootstraps.
REWARDS = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 3.0, 5.0])
TERMINATED = np.array([False, False, True, False, False, False, False])
TRUNCATED = np.array([False, False, False, False, True, False, False])
VALUES = np.array([2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0])
NEXT_VALUES = np.array([4.0, 6.0, 100.0, 10.0, 20.0, 14.0, 16.0])
GAMMA = 0.5
LAM = 0.5

# Worked by hand (see the comments beside each).
TD_TARGET = np.array([3.0, 5.0, 4.0, 13.0, 26.0, 10.0, 13.0])  # r + 0.5 * V(s') (0 if terminal)
REWARD_TO_GO = np.array([3.0, 4.0, 4.0, 16.0, 16.0, 5.5, 5.0])  # e.g. 1 + 0.5 * (2 + 0.5 * 4)
MC_BOOTSTRAPPED = np.array([3.0, 4.0, 4.0, 21.0, 26.0, 9.5, 13.0])  # e.g. 8 + 0.5 * (16 + 0.5 * 20)
TWO_STEP = np.array([3.5, 4.0, 4.0, 21.0, 26.0, 9.5, 13.0])  # t=0: 1 + 0.5 * 2 + 0.25 * 6
# G_t = r_t + 0.25 * V(s_{t+1}) + 0.25 * G_{t+1}; e.g. t=3: 8 + 0.25 * 10 + 0.25 * 26 = 17
LAMBDA = np.array([3.125, 4.5, 4.0, 17.0, 26.0, 9.75, 13.0])
# deltas [1, 1, -2, 5, 16, -2, -1]; A_t = delta_t + 0.25 * A_{t+1} inside an episode
ADVANTAGES = np.array([1.125, 0.5, -2.0, 9.0, 16.0, -2.25, -1.0])


def random_batch(seed: int, T: int = 60):
    """Random packed episodes whose next_values[t] equal values[t + 1] inside episodes."""
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=T)
    terminated = rng.random(T) < 0.1
    truncated = (rng.random(T) < 0.08) & ~terminated
    values = rng.normal(size=T)
    next_values = np.append(values[1:], rng.normal())
    ends = terminated | truncated
    next_values[ends] = rng.normal(size=ends.sum())
    return rewards, values, next_values, terminated, truncated


def test_episode_boundaries_by_hand():
    starts, ends = R.episode_boundaries(TERMINATED, TRUNCATED)
    np.testing.assert_array_equal(starts, [0, 3, 5])
    np.testing.assert_array_equal(ends, [3, 5, 7])
    assert starts.dtype == np.int64 and ends.dtype == np.int64


def test_episode_boundaries_final_step_flagged_and_empty():
    starts, ends = R.episode_boundaries([False, True], [False, False])
    np.testing.assert_array_equal(starts, [0])
    np.testing.assert_array_equal(ends, [2])
    starts, ends = R.episode_boundaries(np.zeros(0, bool), np.zeros(0, bool))
    assert starts.shape == (0,) and ends.shape == (0,)


def test_total_return_by_hand():
    per_step, per_episode = R.total_return(REWARDS, TERMINATED, TRUNCATED)
    np.testing.assert_array_equal(per_episode, [7.0, 24.0, 8.0])
    np.testing.assert_array_equal(per_step, [7.0, 7.0, 7.0, 24.0, 24.0, 8.0, 8.0])


def test_reward_to_go_by_hand():
    got = R.reward_to_go(REWARDS, TERMINATED, TRUNCATED, GAMMA)
    np.testing.assert_array_equal(got, REWARD_TO_GO)
    undiscounted = R.reward_to_go(REWARDS, TERMINATED, TRUNCATED, 1.0)
    np.testing.assert_array_equal(undiscounted, [7.0, 6.0, 4.0, 24.0, 16.0, 8.0, 5.0])


def test_discounted_returns_by_hand():
    got = R.discounted_returns(REWARDS, NEXT_VALUES, TERMINATED, TRUNCATED, GAMMA)
    np.testing.assert_array_equal(got, MC_BOOTSTRAPPED)


def test_n_step_returns_by_hand():
    args = (REWARDS, NEXT_VALUES, TERMINATED, TRUNCATED, GAMMA)
    np.testing.assert_array_equal(R.n_step_returns(*args, 1), TD_TARGET)
    np.testing.assert_array_equal(R.n_step_returns(*args, 2), TWO_STEP)
    np.testing.assert_array_equal(R.n_step_returns(*args, 3), MC_BOOTSTRAPPED)


def test_lambda_returns_by_hand():
    got = R.lambda_returns(REWARDS, NEXT_VALUES, TERMINATED, TRUNCATED, GAMMA, LAM)
    np.testing.assert_array_equal(got, LAMBDA)


def test_gae_by_hand():
    adv, ret = R.gae(REWARDS, VALUES, NEXT_VALUES, TERMINATED, TRUNCATED, GAMMA, LAM)
    np.testing.assert_array_equal(adv, ADVANTAGES)
    np.testing.assert_array_equal(ret, LAMBDA)


def test_gae_by_hand_bootstraps_at_a_cut_and_not_at_termination():
    # Steps 0-1 end in a time-limit cut (V(final obs) = 7 bootstraps), steps 2-3 in termination.
    # gamma = lam = 0.5: deltas 1 + 0.5 * 1 - 0.5 = 1, 2 + 0.5 * 7 - 1 = 4.5,
    # 3 + 0.5 * 2 - 1.5 = 2.5, 4 - 2 = 2; A = (1 + 0.25 * 4.5, 4.5, 2.5 + 0.25 * 2, 2).
    rewards, values = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 1.0, 1.5, 2.0])
    nv = np.array([1.0, 7.0, 2.0, 3.0])
    term = np.array([False, False, False, True])
    trunc = np.array([False, True, False, False])
    adv, ret = R.gae(rewards, values, nv, term, trunc, 0.5, 0.5)
    np.testing.assert_array_equal(adv, [2.125, 4.5, 3.0, 2.0])
    # The lambda-returns by hand: G_3 = 4; G_2 = 3 + 0.5 (0.5 * 2 + 0.5 * 4) = 4.5;
    # G_1 = 2 + 0.5 * 7 = 5.5; G_0 = 1 + 0.5 (0.5 * 1 + 0.5 * 5.5) = 2.625.
    np.testing.assert_array_equal(ret, [2.625, 5.5, 4.5, 4.0])


def test_terminated_wins_over_truncated():
    # Both flags on step 0: no bootstrap from next_values[0] = 50.
    rewards, nv = np.array([1.0, 2.0]), np.array([50.0, 3.0])
    term, trunc = np.array([True, False]), np.array([True, False])
    np.testing.assert_array_equal(R.discounted_returns(rewards, nv, term, trunc, 1.0), [1.0, 5.0])
    np.testing.assert_array_equal(R.lambda_returns(rewards, nv, term, trunc, 1.0, 0.5), [1.0, 5.0])
    adv, _ = R.gae(rewards, np.zeros(2), nv, term, trunc, 1.0, 1.0)
    np.testing.assert_array_equal(adv, [1.0, 5.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identities(seed):
    rewards, values, nv, term, trunc = random_batch(seed)
    gamma = 0.9
    mc = R.discounted_returns(rewards, nv, term, trunc, gamma)
    td = R.n_step_returns(rewards, nv, term, trunc, gamma, 1)
    np.testing.assert_allclose(td, rewards + gamma * np.where(term, 0.0, nv), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        R.lambda_returns(rewards, nv, term, trunc, gamma, 1.0), mc, atol=1e-12
    )
    np.testing.assert_allclose(
        R.lambda_returns(rewards, nv, term, trunc, gamma, 0.0), td, atol=1e-12
    )
    np.testing.assert_allclose(
        R.n_step_returns(rewards, nv, term, trunc, gamma, len(rewards)), mc, atol=1e-12
    )
    np.testing.assert_allclose(
        R.n_step_returns(rewards, nv, term, trunc, gamma, 10 * len(rewards)), mc, atol=1e-12
    )
    np.testing.assert_allclose(
        R.reward_to_go(rewards, term, trunc, gamma),
        R.discounted_returns(rewards, np.zeros_like(nv), term, trunc, gamma),
        atol=1e-12,
    )
    for lam in (0.0, 0.3, 0.95, 1.0):
        _, ret = R.gae(rewards, values, nv, term, trunc, gamma, lam)
        # next_values[t] == values[t + 1] inside episodes, so GAE returns are λ-returns.
        lam_ret = R.lambda_returns(rewards, nv, term, trunc, gamma, lam)
        np.testing.assert_allclose(ret, lam_ret, atol=1e-12)
    per_step, per_episode = R.total_return(rewards, term, trunc)
    starts, ends = R.episode_boundaries(term, trunc)
    np.testing.assert_allclose(
        per_episode, [rewards[a:b].sum() for a, b in zip(starts, ends, strict=True)]
    )
    np.testing.assert_allclose(per_step[starts], R.reward_to_go(rewards, term, trunc, 1.0)[starts])


def test_compiled_matches_python():
    rewards, values, nv, term, trunc = random_batch(5, T=40)
    g, lam = 0.9, 0.7
    cases = [
        (R.episode_boundaries_kernel, (term, trunc)),
        (R.total_return_kernel, (rewards, term, trunc)),
        (R.reward_to_go_kernel, (rewards, term, trunc, g)),
        (R.discounted_returns_kernel, (rewards, nv, term, trunc, g)),
        (R.n_step_returns_kernel, (rewards, nv, term, trunc, g, 3)),
        (R.lambda_returns_kernel, (rewards, nv, term, trunc, g, lam)),
        (R.gae_kernel, (rewards, values, nv, term, trunc, g, lam)),
    ]
    for kernel, args in cases:
        fast, slow = kernel(*args), kernel.py_func(*args)
        if not isinstance(fast, tuple):
            fast, slow = (fast,), (slow,)
        for a, b in zip(fast, slow, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=kernel.__name__)


def test_integer_flags_accepted():
    got = R.reward_to_go(REWARDS, TERMINATED.astype(int), TRUNCATED.astype(np.int8), GAMMA)
    np.testing.assert_array_equal(got, REWARD_TO_GO)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_rejects_gamma_and_lam_outside_unit_interval(bad):
    with pytest.raises(ValueError, match="gamma must be in \\[0, 1\\]"):
        R.reward_to_go(REWARDS, TERMINATED, TRUNCATED, bad)
    with pytest.raises(ValueError, match="lam must be in \\[0, 1\\]"):
        R.gae(REWARDS, VALUES, NEXT_VALUES, TERMINATED, TRUNCATED, 0.9, bad)


def test_rejects_bad_input():
    args = (REWARDS, NEXT_VALUES, TERMINATED, TRUNCATED, GAMMA)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        R.n_step_returns(*args, 0)
    with pytest.raises(TypeError, match="n must be an integer"):
        R.n_step_returns(*args, 2.0)
    with pytest.raises(TypeError, match="gamma must be a real number"):
        R.discounted_returns(*args[:4], "0.9")
    with pytest.raises(ValueError, match="equal lengths.*next_values=6"):
        R.discounted_returns(REWARDS, NEXT_VALUES[:6], TERMINATED, TRUNCATED, GAMMA)
    with pytest.raises(TypeError, match="terminated must be a bool array"):
        R.reward_to_go(REWARDS, TERMINATED.astype(float), TRUNCATED, GAMMA)
    with pytest.raises(ValueError, match="rewards must be finite.*step 1"):
        R.reward_to_go([0.0, np.nan], [False, True], [False, False], GAMMA)
    with pytest.raises(ValueError, match="values must be a 1-D array"):
        R.gae(REWARDS, VALUES[:, None], NEXT_VALUES, TERMINATED, TRUNCATED, GAMMA, LAM)
