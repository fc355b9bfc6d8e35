"""A2C: loss gradient against finite differences, n-step returns by hand, determinism,
divergence, validation and (slow) learning on CartPole."""

from __future__ import annotations

import numpy as np
import pytest

from numbarl.deep import a2c
from numbarl.deep.rollout import CATEGORICAL, GAUSSIAN, make_rollout, rollout_gae
from numbarl.envs import make
from numbarl.errors import TrainingDiverged
from numbarl.testing import assert_learns
from tests.gradcheck import central_diff, rel_err

RTOL = 1e-6


@pytest.mark.parametrize("kind", [CATEGORICAL, GAUSSIAN])
def test_a2c_loss_gradient_matches_finite_differences(kind):
    rng = np.random.default_rng(5 + kind)
    b, n = 6, 3
    out = rng.normal(size=(b, n))
    log_std = rng.normal(scale=0.3, size=n)
    if kind == CATEGORICAL:
        actions = rng.integers(0, n, size=(b, 1)).astype(np.float64)
    else:
        actions = rng.normal(size=(b, n))
    adv, v, ret = rng.normal(size=b), rng.normal(size=b), rng.normal(size=b)
    ent, vf = 0.03, 0.5

    def total(out_, log_std_, v_) -> float:
        pl, vl, h = a2c.a2c_loss_grad(
            kind, out_, log_std_, actions, adv, v_, ret, ent, vf,
            np.zeros_like(out_), np.zeros_like(log_std_), np.zeros(b),
        )  # fmt: skip
        return pl - ent * h + vf * vl

    g_out, g_std, g_v = np.zeros_like(out), np.zeros_like(log_std), np.zeros(b)
    a2c.a2c_loss_grad(kind, out, log_std, actions, adv, v, ret, ent, vf, g_out, g_std, g_v)
    assert rel_err(g_out, central_diff(lambda: total(out, log_std, v), out)) < RTOL
    assert rel_err(g_v, central_diff(lambda: total(out, log_std, v), v)) < RTOL
    if kind == GAUSSIAN:
        assert rel_err(g_std, central_diff(lambda: total(out, log_std, v), log_std)) < RTOL


def test_n_step_returns_by_hand():
    """gae_lambda = 1: R_t = r_t + g r_{t+1} + ... + g^m V(s_{t+m}) inside the rollout,
    0 after a termination, V(final obs) after a truncation."""
    buf = make_rollout(4, 2, 1, 1)
    g = 0.9
    buf.rewards[:] = [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]]
    buf.values[:] = 0.5
    buf.next_values[:] = [[0.5, 0.5], [0.0, 7.0], [0.5, 0.5], [10.0, 0.0]]
    buf.terminated[1, 0] = True  # copy 0: episode ends at t = 1, then bootstraps at t = 3
    buf.truncated[1, 1] = True  # copy 1: time limit at t = 1 (V(final) = 7), terminal at 3
    buf.terminated[3, 1] = True
    adv, ret = rollout_gae(buf, g, 1.0, 1.0)
    expect0 = [1 + g * 2, 2.0, 3 + g * (4 + g * 10), 4 + g * 10]
    expect1 = [1 + g * (2 + g * 7), 2 + g * 7, 3 + g * 4, 4.0]
    np.testing.assert_allclose(ret[:, 0], expect0)
    np.testing.assert_allclose(ret[:, 1], expect1)
    np.testing.assert_allclose(adv, ret - 0.5)


def test_same_seed_gives_identical_bytes():
    env = make("CartPole-v1")
    cfg = dict(total_steps=1024, eval_every=256, eval_episodes=3)
    a1, h1 = a2c.train(env, cfg, seed=4)
    a2, h2 = a2c.train(env, cfg, seed=4)
    for k in a1:
        assert a1[k].tobytes() == a2[k].tobytes(), k
    for k in h1:
        assert h1[k].tobytes() == h2[k].tobytes(), k
    assert len(h1["step"]) == 4 and set(h1) >= {"policy_loss", "value_loss", "entropy"}


def test_non_finite_parameters_raise_training_diverged_naming_the_update():
    # float64: the first Adam step moves the parameters by ~1e300, the second overflows
    with pytest.raises(TrainingDiverged, match=r"A2C diverged.*update 2 of 32 \(step 256\)"):
        a2c.train(make("CartPole-v1"), dict(lr=1e300, total_steps=4096, dtype="float64"), seed=0)
    # float32 (the default): lr rounds to inf in the network's precision, the first step overflows
    with pytest.raises(TrainingDiverged, match=r"A2C diverged.*update 1 of 32 \(step 128\)"):
        a2c.train(make("CartPole-v1"), dict(lr=1e300, total_steps=4096), seed=0)


@pytest.mark.parametrize(
    "bad, field",
    [(dict(gamma=-0.1), "gamma"), (dict(n_steps=0), "n_steps"), (dict(hidden=0), "hidden")],
)
def test_bad_config_raises_value_error_naming_the_field(bad, field):
    with pytest.raises(ValueError, match=field):
        a2c.train(make("CartPole-v1"), bad, seed=0)


def test_continuous_actions_train_and_evaluate():
    env = make("Pendulum-v1")
    arrays, h = a2c.train(env, dict(total_steps=2000, eval_every=1000, eval_episodes=2), 0)
    assert arrays["log_std"].shape == (1,) and np.all(np.isfinite(h["eval_return"]))
    r = a2c.evaluate(arrays, env, 2, seed=0)
    assert r.shape == (2,) and np.all((r < 0) & (r > -2000))


@pytest.mark.slow
def test_a2c_solves_cartpole_with_tuned_defaults():
    # every one of 3 seeds: mean greedy return >= 475 over 20 fresh episodes
    assert_learns("a2c", "CartPole-v1", threshold=475.0, seeds=3)
