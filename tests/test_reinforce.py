"""REINFORCE on MLP policies: the loss's gradient, the weights Psi_t, and learning."""

from __future__ import annotations

import numpy as np
import pytest

from numbarl import nn
from numbarl.deep import pg_common as pg
from numbarl.deep import reinforce as rf
from numbarl.deep.rollout import make_rollout
from numbarl.envs import make
from numbarl.errors import TrainingDiverged
from tests.tiny_policy import tiny_policy as make_tiny_policy

H = 1e-6
DIRECT = pg.direct_score_fns()  # the kernels the updates reach through pointers


def tiny_policy(continuous: bool, act: int, seed: int = 0):
    """A 4-5-5-n policy, a batch of 6 and weights Psi."""
    layout, theta, obs, actions, rng = make_tiny_policy((4, 5, 5), continuous, (0.2, -0.4), 6, seed)
    return layout, theta, obs, actions, rng.standard_normal(6)


@pytest.mark.parametrize("act", [nn.TANH, nn.RELU], ids=["tanh", "relu"])
@pytest.mark.parametrize("continuous", [False, True], ids=["categorical", "gaussian"])
def test_reinforce_gradient_matches_finite_differences(continuous, act):
    layout, theta, obs, actions, psi = tiny_policy(continuous, act)
    ws = nn.mlp_workspace(layout, obs.shape[0])

    def loss(th):
        return rf.reinforce_loss_grad(
            th, layout, act, continuous, obs, actions, psi, ws, np.zeros(th.size), None, DIRECT
        )

    grad = np.full(theta.size, -1.0)  # accumulates
    value = rf.reinforce_loss_grad(
        theta, layout, act, continuous, obs, actions, psi, ws, grad, None, DIRECT
    )
    numeric = np.array(
        [(loss(theta + H * e) - loss(theta - H * e)) / (2 * H) for e in np.eye(theta.size)]
    )
    np.testing.assert_allclose(grad + 1.0, numeric, rtol=1e-6, atol=1e-9)
    logp = pg.policy_log_prob(theta, layout, act, continuous, obs, actions, ws)
    assert value == pytest.approx(-np.mean(psi * logp), rel=1e-12)


def test_log_prob_matches_heads():
    layout, theta, obs, actions, _ = tiny_policy(False, nn.TANH)
    ws = nn.mlp_workspace(layout, obs.shape[0])
    logits = nn.mlp_forward(theta, layout, nn.TANH, obs, ws).copy()
    expected = nn.log_softmax(logits)[np.arange(obs.shape[0]), actions[:, 0].astype(int)]
    got = pg.policy_log_prob(theta, layout, nn.TANH, False, obs, actions, ws)
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def rollout_of(rewards, terminated, truncated, values, next_values):
    """A one-copy Rollout with the given per-step columns (obs/actions unused here)."""
    t = len(rewards)
    buf = make_rollout(t, 1, 1, 1)
    buf.rewards[:, 0] = rewards
    buf.terminated[:, 0] = terminated
    buf.truncated[:, 0] = truncated
    buf.values[:, 0] = values
    buf.next_values[:, 0] = next_values
    return buf


def test_weights_by_hand():
    # Two episodes: steps 0-2 terminate, steps 3-4 are cut by the batch end (V(s_5) = 10).
    r = [1.0, 2.0, 3.0, 4.0, 5.0]
    term = [False, False, True, False, False]
    trunc = [False] * 5
    v = [0.5, 0.5, 0.5, 1.0, 1.0]
    nv = [0.5, 0.5, 0.0, 1.0, 10.0]
    buf = rollout_of(r, term, trunc, v, nv)
    g = 0.5
    rtg = [1 + g * 2 + g * g * 3, 2 + g * 3, 3.0, 4 + g * 5, 5.0]
    psi, target = pg.reinforce_weights(buf, pg.RETURNS["total"], pg.BASELINES["none"], g)
    np.testing.assert_allclose(psi, [6.0, 6.0, 6.0, 9.0, 9.0])
    np.testing.assert_allclose(target, rtg)  # no critic: nothing bootstrapped
    psi, _ = pg.reinforce_weights(buf, pg.RETURNS["reward_to_go"], pg.BASELINES["mean"], g)
    np.testing.assert_allclose(psi, np.array(rtg) - np.mean(rtg))
    psi, target = pg.reinforce_weights(buf, pg.RETURNS["reward_to_go"], pg.BASELINES["value"], g)
    boot = [rtg[0], rtg[1], 3.0, 4 + g * (5 + g * 10), 5 + g * 10]  # cut: bootstrap V = 10
    np.testing.assert_allclose(target, boot)
    np.testing.assert_allclose(psi, np.array(boot) - v)


def test_gaussian_head_history_and_log_std():
    # same seed, same bytes (this config on Pendulum): tests/test_pg_dtype.py
    env = make("Pendulum-v1")
    cfg = dict(total_steps=1000, n_envs=2, n_steps=250, eval_every=500, eval_episodes=2)
    a1, h1 = rf.train(env, cfg, seed=7)
    assert set(h1) == {"step", "eval_return", "episode_return", *rf.METRICS}
    assert h1["step"].tolist() == [500, 1000] and np.isfinite(h1["value_loss"]).all()
    assert a1["log_std"].shape == (1,) and a1["log_std"][0] != 0.0  # log-std was trained


def test_huge_step_size_raises_training_diverged():
    cfg = dict(total_steps=20_000, n_steps=100, eval_every=400, lr=1e308)
    with pytest.raises(TrainingDiverged, match=r"REINFORCE diverged.*update \d+ of 50") as info:
        rf.train(make("CartPole-v1"), cfg, seed=0)
    assert not np.isfinite(info.value.arrays["params"]).all()


@pytest.mark.parametrize(
    "field, value",
    [("returns", "discounted"), ("baseline", "median"), ("lr", 0.0), ("n_envs", 0)],
)
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"ReinforceConfig.{field}"):
        rf.train(make("CartPole-v1"), {field: value}, seed=0)


def test_unsupported_gymnasium_space_is_rejected():
    import gymnasium

    with pytest.raises(ValueError, match="observation_space"):
        rf.train(gymnasium.make("FrozenLake-v1"), {}, seed=0)


@pytest.mark.slow
def test_reinforce_with_value_baseline_solves_cartpole():
    env = make("CartPole-v1")
    for seed in range(3):
        arrays, hist = rf.train(env, None, seed=seed)  # TUNED: reward-to-go, V(s) baseline
        assert rf.evaluate(arrays, env, 20, seed=1).mean() >= 400.0, seed


def test_drivers_compile_one_signature():
    # Ints given for float fields are cast once in Python; both heads share one specialisation.
    small = dict(total_steps=500, n_steps=125, eval_every=500, eval_episodes=1)
    rf.train(make("CartPole-v1"), dict(small, lr=1, gamma=1), seed=0)
    rf.train(make("Pendulum-v1"), dict(small, baseline="mean", returns="total"), seed=0)
    assert sum("float32" in str(sig) for sig in rf.reinforce_update.signatures) == 1


def test_gymnasium_box_actions_through_python_path():
    import gymnasium

    cfg = dict(total_steps=400, n_steps=200, eval_every=400, eval_episodes=2)
    arrays, hist = rf.train(gymnasium.make("Pendulum-v1"), cfg, seed=1)
    assert hist["step"].tolist() == [400] and np.isfinite(hist["eval_return"]).all()
    assert -2000.0 < hist["eval_return"][0] < 0.0  # Pendulum's reward is always <= 0
    assert rf.evaluate(arrays, make("Pendulum-v1"), 2, seed=0).shape == (2,)
