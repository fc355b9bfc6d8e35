"""numbarl.bandits: one-step kernels against hand-computed cases, compiled against Python, the
seeding contract, validation, and the testbed's distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from numbarl import bandits as B
from numbarl.runs import spawn_rngs

Z = 3.0


# ---------------------------------------------------------------------------------------------
# One-step kernels, hand-computed


def test_sample_average_update_is_the_running_mean_and_constant_step_is_exponential():
    q, n = np.zeros(3), np.zeros(3, dtype=np.int64)
    for r in (2.0, 4.0, 9.0):
        B.sample_average_update(q, n, 1, r, 0.0)
    assert n.tolist() == [0, 3, 0]
    assert q[1] == pytest.approx(5.0)  # (2 + 4 + 9) / 3
    assert q[0] == q[2] == 0.0
    q, n = np.full(2, 5.0), np.zeros(2, dtype=np.int64)
    B.sample_average_update(q, n, 0, 1.0, 0.1)  # 5 + 0.1 (1 - 5)
    B.sample_average_update(q, n, 0, 1.0, 0.1)  # 4.6 + 0.1 (1 - 4.6)
    assert q[0] == pytest.approx(4.24) and q[1] == 5.0 and n[0] == 2


def test_ucb_picks_the_largest_upper_bound():
    q = np.array([1.0, 0.5, 0.9])
    n = np.array([4, 1, 2])
    scratch = np.empty(3)
    rng = np.random.default_rng(0)
    # t = 8, c = 1: 1 + sqrt(ln8 / 4) = 1.721, 0.5 + sqrt(ln8) = 1.942, 0.9 + sqrt(ln8 / 2) = 1.920
    assert B.ucb_action(q, n, 8, 1.0, scratch, rng) == 1
    np.testing.assert_allclose(
        scratch, q + np.sqrt(math.log(8) / n), rtol=1e-14
    )  # the bounds it compared
    assert B.ucb_action(q, n, 8, 0.0, scratch, rng) == 0  # c = 0: greedy
    # c = 0.5: 1.361, 1.221, 1.410 -> arm 2
    assert B.ucb_action(q, n, 8, 0.5, scratch, rng) == 2


def test_ucb_tries_untried_arms_first_and_breaks_ties_at_random():
    scratch = np.empty(3)
    rng = np.random.default_rng(1)
    q, n = np.array([5.0, 0.0, 0.0]), np.array([3, 0, 0])
    picks = [B.ucb_action(q, n, 4, 2.0, scratch, rng) for _ in range(400)]
    assert set(picks) == {1, 2}  # both untried arms, never the tried one
    assert abs(np.mean(np.array(picks) == 1) - 0.5) < Z * 0.5 / np.sqrt(400)


def test_softmax_and_categorical_sampling():
    pi = np.empty(2)
    B.softmax(np.array([0.0, math.log(2.0)]), pi)
    np.testing.assert_allclose(pi, [1 / 3, 2 / 3], rtol=1e-15)
    B.softmax(np.array([1000.0, 1000.0 + math.log(2.0)]), pi)  # shifted: no overflow
    np.testing.assert_allclose(pi, [1 / 3, 2 / 3], rtol=1e-12)
    assert B.sample_categorical(pi, 0.0) == 0
    assert B.sample_categorical(pi, 0.33) == 0
    assert B.sample_categorical(pi, 0.34) == 1
    assert B.sample_categorical(pi, 0.9999999) == 1


def test_gradient_bandit_preference_update():
    """(2.12) from H = 0 over 3 arms: pi = 1/3 each; a = 0, R = 2, baseline 1, alpha 0.5:
    H(0) += 0.5 (2 - 1)(1 - 1/3) = 1/3, H(b) -= 0.5 (2 - 1) / 3 = 1/6 for the other arms."""
    h, pi = np.zeros(3), np.empty(3)
    B.softmax(h, pi)
    B.gradient_update(h, pi, 0, 2.0, 1.0, 0.5)
    np.testing.assert_allclose(h, [1 / 3, -1 / 6, -1 / 6], rtol=1e-15)
    assert abs(h.sum()) < 1e-15  # the update keeps the preferences' sum
    h2 = np.zeros(3)
    B.gradient_update(h2, pi, 2, 0.5, 1.0, 0.5)  # a reward below the baseline lowers H(a)
    np.testing.assert_allclose(h2, [1 / 12, 1 / 12, -1 / 6], rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# Drivers: compiled against Python, batched against one run, same seed same bytes

CONFIGS = [
    B.EpsilonGreedyConfig(epsilon=0.1),
    B.EpsilonGreedyConfig(epsilon=0.0, step_size=0.1, initial=5.0),
    B.UCBConfig(c=2.0),
    B.GradientBanditConfig(alpha=0.1, baseline=True),
    B.GradientBanditConfig(alpha=0.4, baseline=False),
]
PLAY = {
    B.EpsilonGreedyConfig: B.play_epsilon_greedy,
    B.UCBConfig: B.play_ucb,
    B.GradientBanditConfig: B.play_gradient,
}


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{type(c).__name__}{tuple(c)}")
@pytest.mark.parametrize("walk", [0.0, 0.01])
def test_compiled_equals_python(cfg, walk):
    tb = B.make_testbed(k=4, steps=60, std=1.0 if walk == 0.0 else 0.0, walk_std=walk)
    play = PLAY[type(cfg)]
    outs = []
    for fn in (play, play.py_func):
        rewards, optimal = np.empty(tb.steps), np.empty(tb.steps, dtype=np.bool_)
        fn(tb, cfg, np.random.default_rng(7), rewards, optimal)
        outs.append((rewards, optimal))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


@pytest.mark.parametrize("cfg", CONFIGS[::2], ids=lambda c: type(c).__name__)
def test_batched_runs_are_the_single_runs_of_the_spawned_seeds(cfg):
    tb = B.make_testbed(steps=50)
    res = B.run_bandit(cfg, tb, runs=5, seed=11)
    assert res.rewards.shape == (5, 50) and res.optimal.dtype == np.bool_
    for i, rng in enumerate(spawn_rngs(11, 5)):
        rewards, optimal = np.empty(50), np.empty(50, dtype=np.bool_)
        PLAY[type(cfg)](tb, cfg, rng, rewards, optimal)
        np.testing.assert_array_equal(res.rewards[i], rewards)
        np.testing.assert_array_equal(res.optimal[i], optimal)
    again = B.run_bandit(cfg, tb, runs=3, seed=11)  # run i does not depend on the number of runs
    assert again.rewards.tobytes() == res.rewards[:3].tobytes()
    other = B.run_bandit(cfg, tb, runs=3, seed=12)
    assert not np.array_equal(other.rewards, again.rewards)


def test_one_compiled_signature_whatever_the_field_types():
    """Ints in a config are cast once in Python: no second specialisation of the driver."""
    B.run_bandit(B.EpsilonGreedyConfig(epsilon=0.1, step_size=0.1, initial=5.0), runs=2)
    before = len(B.epsilon_greedy_runs.signatures)
    B.run_bandit(B.EpsilonGreedyConfig(epsilon=0, step_size=0, initial=5), B.Testbed(mean=1), 2)
    assert len(B.epsilon_greedy_runs.signatures) == before


def test_ucb_pulls_every_arm_once_in_its_first_k_steps():
    """Untried arms are maximising, so steps 1..k pull each of the k arms once: exactly one of
    them is the (unique) optimal arm, in every run."""
    res = B.run_bandit(B.UCBConfig(c=2.0), B.make_testbed(steps=12), runs=300, seed=5)
    np.testing.assert_array_equal(res.optimal[:, :10].sum(axis=1), np.ones(300))


# ---------------------------------------------------------------------------------------------
# The testbed


def test_testbed_rewards_have_the_stated_means():
    """Over 2,000 runs, the first reward of a uniformly random arm (epsilon = 1) has mean
    ``mean`` (+-Z SE), and a constant arm bed (std 0) gives reward noise with sd reward_std."""
    tb = B.make_testbed(steps=1, mean=4.0)
    first = B.run_bandit(B.EpsilonGreedyConfig(epsilon=1.0), tb, runs=2000, seed=0).rewards[:, 0]
    se = first.std(ddof=1) / np.sqrt(first.size)
    assert abs(first.mean() - 4.0) < Z * se
    assert abs(first.std() - math.sqrt(2.0)) < 0.1  # N(0, 1) value + N(0, 1) noise
    flat = B.make_testbed(steps=200, std=0.0, reward_std=0.5)
    r = B.run_bandit(B.UCBConfig(c=1.0), flat, runs=20, seed=0)
    assert r.optimal.all()  # all arms equal: every arm is optimal
    assert abs(r.rewards.std() - 0.5) < 0.02


def test_random_walk_moves_the_true_values():
    """Nonstationary (std 0, walk 0.01): at step 1 every arm is optimal; later the arms differ,
    so a uniformly random arm is optimal about 1/k of the time."""
    tb = B.make_testbed(steps=2000, std=0.0, walk_std=0.01)
    r = B.run_bandit(B.EpsilonGreedyConfig(epsilon=1.0), tb, runs=200, seed=0)
    assert r.optimal[:, 0].all()
    late = r.optimal[:, -500:].mean()
    assert abs(late - 0.1) < 0.02


# ---------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    ("cfg", "error", "field"),
    [
        (B.EpsilonGreedyConfig(epsilon=1.5), ValueError, "epsilon"),
        (B.EpsilonGreedyConfig(step_size=-0.1), ValueError, "step_size"),
        (B.EpsilonGreedyConfig(initial=float("nan")), ValueError, "initial"),
        (B.UCBConfig(c=-1.0), ValueError, "c"),
        (B.GradientBanditConfig(alpha=0.0), ValueError, "alpha"),
        (B.GradientBanditConfig(baseline="yes"), TypeError, "baseline"),
        (B.EpsilonGreedyConfig(epsilon="0.1"), TypeError, "epsilon"),
    ],
)
def test_bad_configs_name_the_field(cfg, error, field):
    with pytest.raises(error, match=field):
        B.run_bandit(cfg, runs=1)


def test_bad_testbed_runs_and_config_type():
    with pytest.raises(ValueError, match="steps"):
        B.make_testbed(steps=0)
    with pytest.raises(ValueError, match="walk_std"):
        B.make_testbed(walk_std=-1.0)
    with pytest.raises(ValueError, match="runs"):
        B.run_bandit(B.UCBConfig(), runs=0)
    with pytest.raises(TypeError, match="EpsilonGreedyConfig"):
        B.run_bandit({"epsilon": 0.1})
    with pytest.raises(TypeError, match="Testbed"):
        B.run_bandit(B.UCBConfig(), {"k": 10})
    with pytest.raises(ValueError, match="seed"):
        B.run_bandit(B.UCBConfig(), runs=2, seed=-1)
