"""Off-policy policy gradient with importance sampling (CS285 lecture 5; Degris et al. 2012).

A batch is collected by the policy theta' of the moment and then reused for ``reuse`` gradient
updates of theta. After the first update theta != theta', so each step is reweighted by the
per-step importance ratio rho_t(theta) = pi_theta(a_t|s_t) / pi_theta'(a_t|s_t) (the first-order
approximation of the trajectory ratio that drops the product over earlier steps):

    J(theta) ~= (1/T) sum_t min(rho_t(theta), c) Psi_t
    grad J    = (1/T) sum_t [rho_t < c] rho_t Psi_t grad log pi_theta(a_t|s_t)

with Psi_t the reward-to-go minus a baseline (``baseline``: batch mean or a learned V(s)), and c
= ``max_ratio`` the truncation of the ratio (truncated importance sampling, Ionides 2008;
``max_ratio = inf`` for plain IS): a step whose ratio reached c contributes c Psi_t, and no
gradient, so a few steps that became very likely cannot dominate the update. At theta = theta'
all ratios are 1 and the gradient is REINFORCE's on-policy gradient.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.deep.reinforce import policy_log_prob, policy_log_prob_grad

# ---------------------------------------------------------------------------------------------
# The importance-weighted loss and its gradient
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def is_loss(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    behaviour_log_probs: np.ndarray,
    psi: np.ndarray,
    max_ratio: float,
    ws: np.ndarray,
) -> float:
    """L(theta) = -(1/T) sum_t min(rho_t, max_ratio) Psi_t, rho_t = exp(log pi_theta(a_t|s_t) -
    behaviour_log_probs_t). obs float64[T, obs_dim], actions float64[T, adim], psi float64[T]."""
    logp = policy_log_prob(theta, layout, act, continuous, obs, actions, ws)
    total = 0.0
    for t in range(logp.shape[0]):
        total += min(np.exp(logp[t] - behaviour_log_probs[t]), max_ratio) * psi[t]
    return -total / logp.shape[0]


@njit(cache=True)
def is_loss_grad(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    behaviour_log_probs: np.ndarray,
    psi: np.ndarray,
    max_ratio: float,
    ws: np.ndarray,
    grad: np.ndarray,
) -> tuple[float, float, float]:
    """grad float64[P_actor] += dL/dtheta = -(1/T) sum_{t: rho_t < c} rho_t Psi_t grad log pi.

    Returns (L, mean rho_t, fraction of steps with rho_t >= max_ratio)."""
    logp = policy_log_prob(theta, layout, act, continuous, obs, actions, ws)
    batch = logp.shape[0]
    w = np.zeros(batch)
    total = 0.0
    ratio_sum = 0.0
    n_clipped = 0
    for t in range(batch):
        rho = np.exp(logp[t] - behaviour_log_probs[t])
        ratio_sum += rho
        if rho < max_ratio:
            w[t] = -rho * psi[t] / batch
            total += rho * psi[t]
        else:
            total += max_ratio * psi[t]
            n_clipped += 1
    policy_log_prob_grad(theta, layout, act, continuous, obs, actions, w, ws, grad)
    return -total / batch, ratio_sum / batch, n_clipped / batch
