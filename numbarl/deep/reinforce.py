"""REINFORCE (Williams 1992) on MLP policies, with the weights of Spinning Up's "Part 3".

The policy gradient estimator over a batch of T steps from N whole-or-cut episodes is

    g = (1/T) sum_t Psi_t grad log pi_theta(a_t | s_t)

with Psi_t one of (``returns`` x ``baseline``):

- ``returns="total"``:         Psi_t = R(tau), the undiscounted return of t's episode (eq. 3 of
  Spinning Up's "Intro to Policy Optimization"; Williams' original estimator);
- ``returns="reward_to_go"``:  Psi_t = G_t = sum_{k >= t} gamma^(k-t) r_k within the episode
  ("don't let the past distract you");
- ``baseline="mean"``:  minus the mean of Psi over the batch; ``baseline="value"``: minus a
  learned V_phi(s_t) (Sutton & Barto eq. 13.11), fitted by Adam on the mean squared error to
  the same returns; ``"none"``: nothing subtracted.

The loss whose gradient is -g is ``reinforce_loss`` = -(1/T) sum_t Psi_t log pi(a_t | s_t).

Policies are flat parameter vectors ``theta`` float64[P_actor]: an MLP (``numbarl.nn``) from
observations to logits (categorical) or to means (Gaussian), followed for a Gaussian policy by
a state-independent log-std float64[A] stored at ``theta[P_mlp:]``. ``continuous`` selects the
head. Actions are float64[T, action_dim]: the index as a float for categorical policies (as
``numbarl.envs`` takes them), the action vector for Gaussian ones.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.nn.heads import (
    categorical_log_prob,
    categorical_log_prob_grad,
    gaussian_log_prob,
    gaussian_log_prob_grad,
)
from numbarl.nn.mlp import mlp_backward, mlp_forward, mlp_n_params

# ---------------------------------------------------------------------------------------------
# Policy log-probabilities and the score-function gradient
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def _int_actions(actions: np.ndarray) -> np.ndarray:
    """Categorical action indices int64[T] from float64[T, 1]."""
    out = np.empty(actions.shape[0], dtype=np.int64)
    for t in range(actions.shape[0]):
        out[t] = int(actions[t, 0])
    return out


@njit(cache=True)
def policy_log_prob(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    ws: np.ndarray,
) -> np.ndarray:
    """log pi_theta(a_t | s_t) float64[T] for obs float64[T, obs_dim], actions float64[T, adim].

    ws: an ``mlp_workspace(layout, >= T)``; after the call it holds the forward activations."""
    p = mlp_n_params(layout)
    out = mlp_forward(theta[:p], layout, act, obs, ws)
    if continuous:
        return gaussian_log_prob(out, theta[p:], actions)
    return categorical_log_prob(out, _int_actions(actions))


@njit(cache=True)
def policy_log_prob_grad(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    w: np.ndarray,
    ws: np.ndarray,
    grad: np.ndarray,
) -> None:
    """grad float64[P_actor] += sum_t w_t * grad_theta log pi_theta(a_t | s_t)  (accumulates).

    Runs its own forward pass on ``ws``; w float64[T] are the per-step weights."""
    p = mlp_n_params(layout)
    out = mlp_forward(theta[:p], layout, act, obs, ws)
    grad_out = np.zeros(out.shape)
    if continuous:
        gaussian_log_prob_grad(out, theta[p:], actions, w, grad_out, grad[p:])
    else:
        categorical_log_prob_grad(out, _int_actions(actions), w, grad_out)
    mlp_backward(theta[:p], layout, act, ws, grad_out, grad[:p])


@njit(cache=True)
def reinforce_loss(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    psi: np.ndarray,
    ws: np.ndarray,
) -> float:
    """L(theta) = -(1/T) sum_t Psi_t log pi_theta(a_t | s_t); psi float64[T] held fixed."""
    logp = policy_log_prob(theta, layout, act, continuous, obs, actions, ws)
    total = 0.0
    for t in range(logp.shape[0]):
        total += psi[t] * logp[t]
    return -total / logp.shape[0]


@njit(cache=True)
def reinforce_loss_grad(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    psi: np.ndarray,
    ws: np.ndarray,
    grad: np.ndarray,
) -> None:
    """grad float64[P_actor] += dL/dtheta = -(1/T) sum_t Psi_t grad log pi(a_t | s_t)."""
    w = -psi / psi.shape[0]
    policy_log_prob_grad(theta, layout, act, continuous, obs, actions, w, ws, grad)
