"""Baird's counterexample and off-policy learning with linear approximation (Sutton & Barto,
Chapter 11: Figures 11.2, 11.5 and 11.6).

Seven states and eight weights: the upper states 0..5 (the book's 1..6) have features ``2 e_i +
e_7`` and the lower state 6 (the book's 7) has ``e_6 + 2 e_7`` (`FEATURES` float64[7, 8]), so
their values are ``2 w_i + w_8`` and ``w_7 + 2 w_8`` in the book's 1-based names. From any state
the behaviour policy takes the dashed action (to one of the upper states, uniformly) with
probability 6/7 and the solid action (to the lower state) with 1/7; the target policy always
takes solid. Rewards are 0 and gamma = 0.99, so the true values are 0; the book starts from
``w = (1, 1, 1, 1, 1, 1, 10, 1)``. The behaviour policy's state distribution ``mu`` is uniform
over the 7 states (whatever the state, the next one is uniform), and the importance ratio is
``rho = 7`` for solid and 0 for dashed.

Kernels (one transition or one expected update) and drivers are ``@njit(cache=True)``; the sampled
drivers take an ``np.random.Generator`` (advanced in place; same state, same bytes). Drivers
return the weight history float64[T + 1, 8] (row 0 the initial weights); `value_error` and
`projected_bellman_error` turn histories into the book's sqrt(VE) and sqrt(PBE) curves.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from numbarl.config import make_config

__all__ = [
    "BEHAVIOUR_SOLID",
    "FEATURES",
    "INITIAL_WEIGHTS",
    "LOWER",
    "MU",
    "BairdConfig",
    "emphatic_td_step",
    "linear_td_error",
    "make_baird_config",
    "projected_bellman_error",
    "run_expected_emphatic_td",
    "run_expected_tdc",
    "run_semi_gradient_dp",
    "run_semi_gradient_td",
    "run_tdc",
    "semi_gradient_td_step",
    "tdc_step",
    "value_error",
]

N_STATES = 7
N_WEIGHTS = 8
LOWER = 6  # the book's state 7, reached by the solid action
BEHAVIOUR_SOLID = 1.0 / 7.0


def _features() -> np.ndarray:
    x = np.zeros((N_STATES, N_WEIGHTS))
    for i in range(6):
        x[i, i] = 2.0
        x[i, 7] = 1.0
    x[LOWER, 6] = 1.0
    x[LOWER, 7] = 2.0
    return x


FEATURES = _features()
FEATURES.setflags(write=False)
INITIAL_WEIGHTS = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 10.0, 1.0])
INITIAL_WEIGHTS.setflags(write=False)
MU = np.full(N_STATES, 1.0 / N_STATES)  # the behaviour policy's state distribution
MU.setflags(write=False)


class BairdConfig(NamedTuple):
    """Step sizes (``alpha`` for w, ``beta`` for TDC's second weights v), discount, and the
    number of ``steps`` (transitions, or sweeps of the expected updates)."""

    alpha: float = 0.01
    beta: float = 0.05
    gamma: float = 0.99
    steps: int = 1000


def make_baird_config(**config: Any) -> BairdConfig:
    """A `BairdConfig` with validated, cast fields."""
    cfg = make_config(BairdConfig, config)
    if cfg.beta <= 0.0:
        raise ValueError(f"BairdConfig.beta must be > 0, got {cfg.beta}")
    return cfg


# ---------------------------------------------------------------------------------------------
# One-transition kernels


@njit(cache=True, inline="always")
def linear_td_error(
    w: np.ndarray, x_t: np.ndarray, r_tp1: float, x_tp1: np.ndarray, gamma: float
) -> float:
    """TD error of the linear value ``w . x`` (eq. 11.3): ``r_tp1 + gamma w.x_tp1 - w.x_t``."""
    return r_tp1 + gamma * np.dot(w, x_tp1) - np.dot(w, x_t)


@njit(cache=True)
def semi_gradient_td_step(
    w: np.ndarray,
    x_t: np.ndarray,
    r_tp1: float,
    x_tp1: np.ndarray,
    gamma: float,
    rho_t: float,
    alpha: float,
) -> float:
    """Semi-gradient off-policy TD(0) (eq. 11.2 with 11.3) on ``w`` float64[d] in place:
    ``w += alpha * rho_t * delta_t * x_t``, ``delta_t = r + gamma w.x_tp1 - w.x_t``. Returns
    delta_t."""
    delta = linear_td_error(w, x_t, r_tp1, x_tp1, gamma)
    step = alpha * rho_t * delta
    for i in range(w.size):
        w[i] += step * x_t[i]
    return delta


@njit(cache=True)
def tdc_step(
    w: np.ndarray,
    v: np.ndarray,
    x_t: np.ndarray,
    r_tp1: float,
    x_tp1: np.ndarray,
    gamma: float,
    rho_t: float,
    alpha: float,
    beta: float,
) -> float:
    """TDC (GTD(0), Section 11.7) on ``w`` and ``v`` float64[d] in place::

        w += alpha * rho_t * (delta_t x_t - gamma x_tp1 (x_t . v))
        v += beta * rho_t * (delta_t - v . x_t) x_t

    both from the weights before the step. Returns delta_t."""
    delta = linear_td_error(w, x_t, r_tp1, x_tp1, gamma)
    xv = np.dot(x_t, v)
    for i in range(w.size):
        w[i] += alpha * rho_t * (delta * x_t[i] - gamma * x_tp1[i] * xv)
    err = beta * rho_t * (delta - xv)
    for i in range(v.size):
        v[i] += err * x_t[i]
    return delta


@njit(cache=True)
def emphatic_td_step(
    w: np.ndarray,
    m_tm1: float,
    rho_tm1: float,
    x_t: np.ndarray,
    r_tp1: float,
    x_tp1: np.ndarray,
    gamma: float,
    rho_t: float,
    alpha: float,
    interest: float,
) -> float:
    """Emphatic TD(0) (eq. 11.25-11.26) on ``w`` in place: ``M_t = gamma rho_tm1 M_tm1 +
    interest``; ``w += alpha M_t rho_t delta_t x_t``. Returns M_t (``M_{-1} = 0``)."""
    m_t = gamma * rho_tm1 * m_tm1 + interest
    delta = linear_td_error(w, x_t, r_tp1, x_tp1, gamma)
    step = alpha * m_t * rho_t * delta
    for i in range(w.size):
        w[i] += step * x_t[i]
    return m_t


# ---------------------------------------------------------------------------------------------
# Drivers on Baird's counterexample


@njit(cache=True, inline="always")
def _behaviour_step(rng) -> tuple[int, float]:
    """(next state, rho) of one behaviour action: dashed (6/7) to a uniform upper state with
    rho = 0, or solid (1/7) to the lower state with rho = 7."""
    u = rng.random()
    if u < BEHAVIOUR_SOLID:
        return LOWER, 1.0 / BEHAVIOUR_SOLID
    return min(int((u - BEHAVIOUR_SOLID) / (1.0 - BEHAVIOUR_SOLID) * 6.0), 5), 0.0


@njit(cache=True, nogil=True)
def run_semi_gradient_td(features: np.ndarray, w0: np.ndarray, cfg: BairdConfig, rng):
    """Figure 11.2 (left): semi-gradient off-policy TD(0) along one behaviour trajectory from a
    uniform start state. Returns the weights float64[steps + 1, d] after each transition."""
    w = w0.copy()
    hist = np.empty((cfg.steps + 1, w.size))
    hist[0] = w
    s = int(rng.random() * N_STATES)
    for t in range(cfg.steps):
        s_next, rho = _behaviour_step(rng)
        semi_gradient_td_step(w, features[s], 0.0, features[s_next], cfg.gamma, rho, cfg.alpha)
        hist[t + 1] = w
        s = s_next
    return hist


@njit(cache=True)
def _expected_td_errors(features: np.ndarray, w: np.ndarray, gamma: float) -> np.ndarray:
    """delta_bar float64[7]: the target policy's expected TD error in each state (reward 0,
    always to the lower state)."""
    v = features @ w
    return gamma * v[LOWER] - v


@njit(cache=True, nogil=True)
def run_semi_gradient_dp(features: np.ndarray, w0: np.ndarray, cfg: BairdConfig):
    """Figure 11.2 (right): semi-gradient DP, every sweep the synchronous update ``w += alpha /
    |S| sum_s (E_pi[R + gamma v(S') | s] - v(s)) x(s)``. Returns float64[steps + 1, d]."""
    w = w0.copy()
    hist = np.empty((cfg.steps + 1, w.size))
    hist[0] = w
    n = features.shape[0]
    for k in range(cfg.steps):
        delta = _expected_td_errors(features, w, cfg.gamma)
        w += cfg.alpha / n * (features.T @ delta)
        hist[k + 1] = w
    return hist


@njit(cache=True, inline="always")
def _histories(w: np.ndarray, v: np.ndarray, steps: int):
    """(w float64[steps + 1, d], v float64[steps + 1, d]) with row 0 the starting weights."""
    w_hist = np.empty((steps + 1, w.size))
    v_hist = np.empty((steps + 1, v.size))
    w_hist[0] = w
    v_hist[0] = v
    return w_hist, v_hist


@njit(cache=True, nogil=True)
def run_tdc(features: np.ndarray, w0: np.ndarray, cfg: BairdConfig, rng):
    """Figure 11.5 (left): TDC along one behaviour trajectory, v starting at 0. Returns (w
    float64[steps + 1, d], v float64[steps + 1, d])."""
    w = w0.copy()
    v = np.zeros(w.size)
    w_hist, v_hist = _histories(w, v, cfg.steps)
    s = int(rng.random() * N_STATES)
    for t in range(cfg.steps):
        s_next, rho = _behaviour_step(rng)
        tdc_step(w, v, features[s], 0.0, features[s_next], cfg.gamma, rho, cfg.alpha, cfg.beta)
        w_hist[t + 1] = w
        v_hist[t + 1] = v
        s = s_next
    return w_hist, v_hist


@njit(cache=True, nogil=True)
def run_expected_tdc(features: np.ndarray, w0: np.ndarray, cfg: BairdConfig):
    """Figure 11.5 (right): TDC's expected update, synchronous over the states (weights mu =
    uniform; only the solid action has rho != 0 and b(solid) rho = 1)::

        w += alpha sum_s mu(s) (delta_bar(s) x(s) - gamma x(7) (x(s) . v))
        v += beta sum_s mu(s) (delta_bar(s) - x(s) . v) x(s)

    Returns (w float64[steps + 1, d], v float64[steps + 1, d])."""
    w = w0.copy()
    v = np.zeros(w.size)
    w_hist, v_hist = _histories(w, v, cfg.steps)
    n = features.shape[0]
    x_lower = features[LOWER]
    for k in range(cfg.steps):
        delta = _expected_td_errors(features, w, cfg.gamma)
        xv = features @ v
        dw = features.T @ delta - cfg.gamma * xv.sum() * x_lower
        dv = features.T @ (delta - xv)
        w += cfg.alpha / n * dw
        v += cfg.beta / n * dv
        w_hist[k + 1] = w
        v_hist[k + 1] = v
    return w_hist, v_hist


@njit(cache=True, nogil=True)
def run_expected_emphatic_td(features: np.ndarray, w0: np.ndarray, cfg: BairdConfig):
    """Figure 11.6: emphatic TD(0) (interest 1) in expectation. The expected emphasis of a
    state is 1 for the upper states (reached by dashed, rho = 0) and ``1 + 7 gamma m_bar`` for
    the lower one (reached by solid, rho = 7), with ``m_bar``, the mean emphasis, following
    ``m_bar <- 1 + gamma m_bar`` from 0 (towards 1 / (1 - gamma)). Each sweep::

        w += alpha sum_s mu(s) m(s) delta_bar(s) x(s)

    Returns (w float64[steps + 1, d], m_bar float64[steps + 1])."""
    w = w0.copy()
    w_hist = np.empty((cfg.steps + 1, w.size))
    m_hist = np.empty(cfg.steps + 1)
    w_hist[0] = w
    m_bar = 0.0
    m_hist[0] = m_bar
    n = features.shape[0]
    emphasis = np.ones(n)
    for k in range(cfg.steps):
        emphasis[LOWER] = 1.0 + cfg.gamma * m_bar / BEHAVIOUR_SOLID
        delta = _expected_td_errors(features, w, cfg.gamma)
        w += cfg.alpha / n * (features.T @ (emphasis * delta))
        m_bar = 1.0 + cfg.gamma * m_bar
        w_hist[k + 1] = w
        m_hist[k + 1] = m_bar
    return w_hist, m_hist


# ---------------------------------------------------------------------------------------------
# Error measures (NumPy, over whole histories)


def value_error(
    w_hist: np.ndarray, features: np.ndarray = FEATURES, mu: np.ndarray = MU
) -> np.ndarray:
    """sqrt(VE) of each row of ``w_hist`` float64[T, d]: the mu-weighted RMS of v_hat, since
    every true value is 0."""
    v = np.asarray(w_hist) @ features.T
    return np.sqrt((v**2) @ mu)


def projected_bellman_error(
    w_hist: np.ndarray,
    features: np.ndarray = FEATURES,
    mu: np.ndarray = MU,
    gamma: float = 0.99,
) -> np.ndarray:
    """sqrt(PBE) of each row of ``w_hist``: the mu-norm of the target policy's expected TD
    error projected onto the span of the features, ``Pi = X (X^T D X)^+ X^T D``."""
    x = features
    d = np.diag(mu)
    proj = x @ np.linalg.pinv(x.T @ d @ x) @ x.T @ d
    v = np.asarray(w_hist) @ x.T
    delta = gamma * v[:, [LOWER]] - v
    pd_ = delta @ proj.T
    return np.sqrt((pd_**2) @ mu)
