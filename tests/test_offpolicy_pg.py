"""Off-policy policy gradient: the importance-weighted loss, its gradient, and learning."""

from __future__ import annotations

import numpy as np
import pytest

from numbarl import nn
from numbarl.deep import offpolicy_pg as opg
from numbarl.deep.reinforce import policy_log_prob, reinforce_loss_grad

H = 1e-6


def tiny_policy(continuous: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_out = 2 if continuous else 3
    layout = nn.mlp_layout((3, 6, n_out))
    theta = nn.mlp_init(layout, rng, hidden_gain=1.2, output_gain=0.8)
    theta += 0.1 * rng.standard_normal(theta.size)
    if continuous:
        theta = np.concatenate([theta, np.array([-0.2, 0.3])])
    batch = 7
    obs = rng.standard_normal((batch, 3))
    if continuous:
        actions = rng.standard_normal((batch, 2))
    else:
        actions = rng.integers(0, n_out, size=(batch, 1)).astype(np.float64)
    psi = rng.standard_normal(batch)
    return layout, theta, obs, actions, psi, rng


@pytest.mark.parametrize("continuous", [False, True], ids=["categorical", "gaussian"])
@pytest.mark.parametrize("max_ratio", [np.inf, 1.1], ids=["plain", "truncated"])
def test_is_gradient_matches_finite_differences(continuous, max_ratio):
    layout, theta, obs, actions, psi, rng = tiny_policy(continuous)
    ws = nn.mlp_workspace(layout, obs.shape[0])
    # Behaviour policy theta' = a perturbed theta, so ratios spread around 1.
    theta_b = theta + 0.3 * rng.standard_normal(theta.size)
    logp_b = policy_log_prob(theta_b, layout, nn.TANH, continuous, obs, actions, ws).copy()

    def loss(th):
        return opg.is_loss(
            th, layout, nn.TANH, continuous, obs, actions, logp_b, psi, max_ratio, ws
        )

    grad = np.full(theta.size, 0.25)  # accumulates
    value, mean_ratio, clipped = opg.is_loss_grad(
        theta, layout, nn.TANH, continuous, obs, actions, logp_b, psi, max_ratio, ws, grad
    )
    numeric = np.array(
        [(loss(theta + H * e) - loss(theta - H * e)) / (2 * H) for e in np.eye(theta.size)]
    )
    np.testing.assert_allclose(grad - 0.25, numeric, rtol=1e-6, atol=1e-9)
    assert value == pytest.approx(loss(theta), rel=1e-12)
    logp = policy_log_prob(theta, layout, nn.TANH, continuous, obs, actions, ws)
    rho = np.exp(logp - logp_b)
    assert mean_ratio == pytest.approx(rho.mean(), rel=1e-12)
    assert clipped == pytest.approx(np.mean(rho >= max_ratio))
    if np.isfinite(max_ratio):
        assert 0.0 < clipped < 1.0  # the test exercises both branches
        assert value == pytest.approx(-np.mean(np.minimum(rho, max_ratio) * psi), rel=1e-12)


@pytest.mark.parametrize("continuous", [False, True], ids=["categorical", "gaussian"])
def test_is_gradient_at_behaviour_policy_equals_on_policy_gradient(continuous):
    layout, theta, obs, actions, psi, _ = tiny_policy(continuous, seed=5)
    ws = nn.mlp_workspace(layout, obs.shape[0])
    logp = policy_log_prob(theta, layout, nn.TANH, continuous, obs, actions, ws).copy()
    g_is = np.zeros(theta.size)
    _, mean_ratio, clipped = opg.is_loss_grad(
        theta, layout, nn.TANH, continuous, obs, actions, logp, psi, 2.0, ws, g_is
    )
    g_pg = np.zeros(theta.size)
    reinforce_loss_grad(theta, layout, nn.TANH, continuous, obs, actions, psi, ws, g_pg)
    np.testing.assert_allclose(g_is, g_pg, rtol=1e-12, atol=1e-15)
    assert mean_ratio == pytest.approx(1.0) and clipped == 0.0
