"""Acrobot-v1 with Gymnasium's constants, RK4 step, angle wrapping and velocity bounds.

State (float64[4], Gymnasium's ``env.unwrapped.state``): ``[theta1, theta2, dtheta1, dtheta2]``.
Observation (float64[6]): ``[cos theta1, sin theta1, cos theta2, sin theta2, dtheta1, dtheta2]``.
Action: int64 in {0, 1, 2}, the torque -1, 0, +1 on the joint between the links.
Reward: -1.0 per step, 0.0 on the terminating step; terminated when
``-cos(theta1) - cos(theta2 + theta1) > 1``. Time limit 500 steps (applied by the dispatch layer).

``nips`` selects the dynamics of the NIPS paper (Gymnasium's ``book_or_nips = "nips"``); the
default follows the book (Sutton & Barto) and Gymnasium's default. One RK4 step of ``DT`` is
taken exactly as Gymnasium's ``rk4(_dsdt, s_augmented, [0, dt])``, in the same expression order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

DT = 0.2
LINK_LENGTH_1 = 1.0
LINK_LENGTH_2 = 1.0
LINK_MASS_1 = 1.0
LINK_MASS_2 = 1.0
LINK_COM_POS_1 = 0.5
LINK_COM_POS_2 = 0.5
LINK_MOI = 1.0
MAX_VEL_1 = 4 * np.pi
MAX_VEL_2 = 9 * np.pi
G = 9.8
RESET_LOW = -0.1
RESET_HIGH = 0.1

STATE_DIM = 4
OBS_DIM = 6
N_ACTIONS = 3
MAX_STEPS = 500
REWARD_THRESHOLD = -100.0
OBS_HIGH = np.array([1.0, 1.0, 1.0, 1.0, MAX_VEL_1, MAX_VEL_2], dtype=np.float32).astype(np.float64)


@njit(cache=True)
def dsdt(theta1, theta2, dtheta1, dtheta2, a, nips):
    """Gymnasium's ``_dsdt``: returns (dtheta1, dtheta2, ddtheta1, ddtheta2) for torque ``a``."""
    m1 = LINK_MASS_1
    m2 = LINK_MASS_2
    l1 = LINK_LENGTH_1
    lc1 = LINK_COM_POS_1
    lc2 = LINK_COM_POS_2
    I1 = LINK_MOI
    I2 = LINK_MOI
    g = G
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
    if nips:
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
def step_values(theta1, theta2, dtheta1, dtheta2, action, nips=False):
    """One RK4 step of ``DT`` on float64 scalars; ``action`` int64 in {0, 1, 2}.

    Returns ``(theta1, theta2, dtheta1, dtheta2, reward, terminated)``.
    """
    a = float(action) - 1.0  # AVAIL_TORQUE = [-1.0, 0.0, +1]
    dt = DT
    dt2 = dt / 2.0
    k1a, k1b, k1c, k1d = dsdt(theta1, theta2, dtheta1, dtheta2, a, nips)
    k2a, k2b, k2c, k2d = dsdt(
        theta1 + dt2 * k1a, theta2 + dt2 * k1b, dtheta1 + dt2 * k1c, dtheta2 + dt2 * k1d, a, nips
    )
    k3a, k3b, k3c, k3d = dsdt(
        theta1 + dt2 * k2a, theta2 + dt2 * k2b, dtheta1 + dt2 * k2c, dtheta2 + dt2 * k2d, a, nips
    )
    k4a, k4b, k4c, k4d = dsdt(
        theta1 + dt * k3a, theta2 + dt * k3b, dtheta1 + dt * k3c, dtheta2 + dt * k3d, a, nips
    )
    c = dt / 6.0
    n1 = theta1 + c * (k1a + 2 * k2a + 2 * k3a + k4a)
    n2 = theta2 + c * (k1b + 2 * k2b + 2 * k3b + k4b)
    n3 = dtheta1 + c * (k1c + 2 * k2c + 2 * k3c + k4c)
    n4 = dtheta2 + c * (k1d + 2 * k2d + 2 * k3d + k4d)
    n1 = wrap(n1, -np.pi, np.pi)
    n2 = wrap(n2, -np.pi, np.pi)
    n3 = min(max(n3, -MAX_VEL_1), MAX_VEL_1)
    n4 = min(max(n4, -MAX_VEL_2), MAX_VEL_2)
    terminated = -np.cos(n1) - np.cos(n2 + n1) > 1.0
    reward = 0.0 if terminated else -1.0
    return n1, n2, n3, n4, reward, terminated


@njit(cache=True)
def step(state, action, nips=False):
    """Advance ``state`` float64[4] in place by int64 ``action``; returns (reward, terminated)."""
    n1, n2, n3, n4, reward, terminated = step_values(
        state[0], state[1], state[2], state[3], action, nips
    )
    state[0] = n1
    state[1] = n2
    state[2] = n3
    state[3] = n4
    return reward, terminated


@njit(cache=True)
def reset(state, rng):
    """Fill ``state`` float64[4] with U(-0.1, 0.1) draws rounded to float32, as Gymnasium does.

    ``rng = np.random.default_rng(s)`` gives the state of ``AcrobotEnv.reset(seed=s)``.
    """
    for i in range(4):
        state[i] = np.float32(rng.uniform(RESET_LOW, RESET_HIGH))


@njit(cache=True)
def observe(state, obs):
    """Write ``[cos t1, sin t1, cos t2, sin t2, dt1, dt2]`` (float64[6]) into ``obs``."""
    obs[0] = np.cos(state[0])
    obs[1] = np.sin(state[0])
    obs[2] = np.cos(state[1])
    obs[3] = np.sin(state[1])
    obs[4] = state[2]
    obs[5] = state[3]
