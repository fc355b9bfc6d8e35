"""Acrobot-v1 through the env door: Gymnasium's constants, RK4 step, wrapping, velocity bounds.

State (float64[4], Gymnasium's ``env.unwrapped.state``): ``[theta1, theta2, dtheta1, dtheta2]``.
Observation (float64[6]): ``[cos theta1, sin theta1, cos theta2, sin theta2, dtheta1, dtheta2]``.
Action: ``action[0]`` in {0.0, 1.0, 2.0}, the torque -1, 0, +1 on the joint between the links.
Reward: -1.0 per step, 0.0 on the terminating step; terminated when
``-cos(theta1) - cos(theta2 + theta1) > 1``. Time limit 500 steps (outside the dynamics).

``params`` holds Gymnasium's constants (``PARAMS``); ``nips`` 1.0 selects the dynamics of the
NIPS paper (Gymnasium's ``book_or_nips = "nips"``), 0.0 the book's (Gymnasium's default).
``torque_noise_max > 0`` adds U(-max, max) noise to the torque, drawn from ``rng`` as
Gymnasium draws it from ``np_random``. One RK4 step of ``dt`` is taken exactly as Gymnasium's
``rk4(_dsdt, s_augmented, [0, dt])``, in the same expression order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .core import ControlEnv, constant_params, float32_bounds, from_functions

ID = "Acrobot-v1"
SUMMARY = "Gymnasium Acrobot-v1 (book_or_nips, torque_noise_max, any constant)"
PARAMS = {
    "dt": 0.2,
    "link_length_1": 1.0,
    "link_length_2": 1.0,  # drawn only; the dynamics do not use it (as in Gymnasium)
    "link_mass_1": 1.0,
    "link_mass_2": 1.0,
    "link_com_pos_1": 0.5,
    "link_com_pos_2": 0.5,
    "link_moi": 1.0,
    "max_vel_1": 4 * np.pi,
    "max_vel_2": 9 * np.pi,
    "g": 9.8,
    "torque_noise_max": 0.0,
    "nips": 0.0,  # book_or_nips: 0 "book", 1 "nips"
}
(
    DT,
    LINK_LENGTH_1,
    LINK_LENGTH_2,
    LINK_MASS_1,
    LINK_MASS_2,
    LINK_COM_POS_1,
    LINK_COM_POS_2,
    LINK_MOI,
    MAX_VEL_1,
    MAX_VEL_2,
    G,
    TORQUE_NOISE_MAX,
    NIPS,
) = range(len(PARAMS))

OPTIONS_ONLY = ("nips",)  # params set through make()'s named options

SPACE = dict(state_dim=4, obs_dim=6, n_actions=3, max_steps=500, reward_threshold=-100.0)
RESET_LOW = -0.1
RESET_HIGH = 0.1


@njit(cache=True)
def dsdt(params, theta1, theta2, dtheta1, dtheta2, a):
    """Gymnasium's ``_dsdt``: returns (dtheta1, dtheta2, ddtheta1, ddtheta2) for torque ``a``."""
    m1 = params[LINK_MASS_1]
    m2 = params[LINK_MASS_2]
    l1 = params[LINK_LENGTH_1]
    lc1 = params[LINK_COM_POS_1]
    lc2 = params[LINK_COM_POS_2]
    I1 = params[LINK_MOI]
    I2 = params[LINK_MOI]
    g = params[G]
    pi = np.pi
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * np.cos(theta2)) + I1 + I2
    d2 = m2 * (lc2**2 + l1 * lc2 * np.cos(theta2)) + I2
    phi2 = m2 * lc2 * g * np.cos(theta1 + theta2 - pi / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * dtheta2**2 * np.sin(theta2)
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * np.sin(theta2)
        + (m1 * lc1 + m2 * l1) * g * np.cos(theta1 - pi / 2)
        + phi2
    )
    if params[NIPS] != 0.0:
        ddtheta2 = (a + d2 / d1 * phi1 - phi2) / (m2 * lc2**2 + I2 - d2**2 / d1)
    else:
        ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * np.sin(theta2) - phi2) / (
            m2 * lc2**2 + I2 - d2**2 / d1
        )
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return dtheta1, dtheta2, ddtheta1, ddtheta2


@njit(cache=True)
def wrap(x, m, big_m):
    """Gymnasium's ``wrap``: shift ``x`` by multiples of ``big_m - m`` into [m, big_m]."""
    diff = big_m - m
    while x > big_m:
        x = x - diff
    while x < m:
        x = x + diff
    return x


@njit(cache=True)
def reset(params, state, rng):
    """U(-0.1, 0.1) draws rounded to float32, as Gymnasium does."""
    for i in range(4):
        state[i] = np.float32(rng.uniform(RESET_LOW, RESET_HIGH))


@njit(cache=True)
def step(params, state, action, rng):
    """One RK4 step of ``dt`` in place; returns ``(reward, terminated)``."""
    theta1, theta2, dtheta1, dtheta2 = state[0], state[1], state[2], state[3]
    a = action[0] - 1.0  # AVAIL_TORQUE = [-1.0, 0.0, +1]
    noise = params[TORQUE_NOISE_MAX]
    if noise > 0:
        a += rng.uniform(-noise, noise)
    dt = params[DT]
    dt2 = dt / 2.0
    k1a, k1b, k1c, k1d = dsdt(params, theta1, theta2, dtheta1, dtheta2, a)
    k2a, k2b, k2c, k2d = dsdt(
        params, theta1 + dt2 * k1a, theta2 + dt2 * k1b, dtheta1 + dt2 * k1c,
        dtheta2 + dt2 * k1d, a,
    )  # fmt: skip
    k3a, k3b, k3c, k3d = dsdt(
        params, theta1 + dt2 * k2a, theta2 + dt2 * k2b, dtheta1 + dt2 * k2c,
        dtheta2 + dt2 * k2d, a,
    )  # fmt: skip
    k4a, k4b, k4c, k4d = dsdt(
        params, theta1 + dt * k3a, theta2 + dt * k3b, dtheta1 + dt * k3c, dtheta2 + dt * k3d, a
    )
    c = dt / 6.0
    n1 = theta1 + c * (k1a + 2 * k2a + 2 * k3a + k4a)
    n2 = theta2 + c * (k1b + 2 * k2b + 2 * k3b + k4b)
    n3 = dtheta1 + c * (k1c + 2 * k2c + 2 * k3c + k4c)
    n4 = dtheta2 + c * (k1d + 2 * k2d + 2 * k3d + k4d)
    state[0] = wrap(n1, -np.pi, np.pi)
    state[1] = wrap(n2, -np.pi, np.pi)
    state[2] = min(max(n3, -params[MAX_VEL_1]), params[MAX_VEL_1])
    state[3] = min(max(n4, -params[MAX_VEL_2]), params[MAX_VEL_2])
    terminated = -np.cos(state[0]) - np.cos(state[1] + state[0]) > 1.0
    return (0.0 if terminated else -1.0), terminated


@njit(cache=True)
def observe(params, state, obs):
    """``[cos t1, sin t1, cos t2, sin t2, dt1, dt2]``."""
    obs[0] = np.cos(state[0])
    obs[1] = np.sin(state[0])
    obs[2] = np.cos(state[1])
    obs[3] = np.sin(state[1])
    obs[4] = state[2]
    obs[5] = state[3]


def make(book_or_nips: str = "book", **constants: float) -> ControlEnv:
    """Acrobot-v1: 3 torques, 500 steps, reward threshold -100. ``book_or_nips`` ("book" or
    "nips") is Gymnasium's option; other keywords are its constants (``PARAMS``)."""
    if book_or_nips not in ("book", "nips"):
        raise ValueError(f"{ID}: book_or_nips must be 'book' or 'nips', got {book_or_nips!r}")
    params = constant_params(ID, PARAMS, constants, OPTIONS_ONLY)
    params["nips"] = float(book_or_nips == "nips")
    high = float32_bounds([1.0, 1.0, 1.0, 1.0, params["max_vel_1"], params["max_vel_2"]])
    return from_functions(
        ID, reset, step, observe, params=params, obs_low=-high, obs_high=high, **SPACE
    )
