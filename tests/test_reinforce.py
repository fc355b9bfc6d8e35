"""REINFORCE on MLP policies: the loss's gradient, the weights Psi_t, and learning."""

from __future__ import annotations

import numpy as np
import pytest

from numbarl import nn
from numbarl.deep import reinforce as rf

H = 1e-6


def tiny_policy(continuous: bool, act: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_out = 2 if continuous else 3
    layout = nn.mlp_layout((4, 5, 5, n_out))
    theta = nn.mlp_init(layout, rng, hidden_gain=1.2, output_gain=0.8)
    theta += 0.1 * rng.standard_normal(theta.size)
    if continuous:
        theta = np.concatenate([theta, np.array([0.2, -0.4])])
    batch = 6
    obs = rng.standard_normal((batch, 4))
    if continuous:
        actions = rng.standard_normal((batch, 2))
    else:
        actions = rng.integers(0, n_out, size=(batch, 1)).astype(np.float64)
    return layout, theta, obs, actions, rng.standard_normal(batch)


@pytest.mark.parametrize("act", [nn.TANH, nn.RELU], ids=["tanh", "relu"])
@pytest.mark.parametrize("continuous", [False, True], ids=["categorical", "gaussian"])
def test_reinforce_gradient_matches_finite_differences(continuous, act):
    layout, theta, obs, actions, psi = tiny_policy(continuous, act)
    ws = nn.mlp_workspace(layout, obs.shape[0])

    def loss(th):
        return rf.reinforce_loss(th, layout, act, continuous, obs, actions, psi, ws)

    grad = np.full(theta.size, -1.0)  # accumulates
    rf.reinforce_loss_grad(theta, layout, act, continuous, obs, actions, psi, ws, grad)
    numeric = np.array(
        [(loss(theta + H * e) - loss(theta - H * e)) / (2 * H) for e in np.eye(theta.size)]
    )
    np.testing.assert_allclose(grad + 1.0, numeric, rtol=1e-6, atol=1e-9)


def test_log_prob_matches_heads():
    layout, theta, obs, actions, _ = tiny_policy(False, nn.TANH)
    ws = nn.mlp_workspace(layout, obs.shape[0])
    logits = nn.mlp_forward(theta, layout, nn.TANH, obs, ws).copy()
    expected = nn.log_softmax(logits)[np.arange(obs.shape[0]), actions[:, 0].astype(int)]
    got = rf.policy_log_prob(theta, layout, nn.TANH, False, obs, actions, ws)
    np.testing.assert_allclose(got, expected, rtol=1e-14)
