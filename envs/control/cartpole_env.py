"""CartPole-v1 with Gymnasium's constants, Euler integration and termination thresholds.

State (float64[4], Gymnasium's ``env.unwrapped.state``): ``[x, x_dot, theta, theta_dot]``.
Observation (float64[4]): the state itself (Gymnasium returns it as float32).
Action: int64 in {0, 1}; 1 pushes right, anything else pushes left (as Gymnasium's
``force_mag if action == 1 else -force_mag``).
Reward: 1.0 every step including the terminating one; with ``sutton_barto_reward`` 0.0 per
step and -1.0 on termination. Time limit 500 steps (applied by the dispatch layer).

``step_values`` is the value-typed kernel (the state in registers); ``step`` wraps it for a
state array updated in place. The arithmetic follows Gymnasium's expression order, so next
states agree with ``CartPoleEnv.step`` to the last bit up to libm's sin/cos.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

GRAVITY = 9.8
MASSCART = 1.0
MASSPOLE = 0.1
TOTAL_MASS = MASSPOLE + MASSCART
LENGTH = 0.5  # half the pole's length
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02
THETA_THRESHOLD_RADIANS = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4
RESET_LOW = -0.05
RESET_HIGH = 0.05

STATE_DIM = 4
OBS_DIM = 4
N_ACTIONS = 2
MAX_STEPS = 500
REWARD_THRESHOLD = 475.0
OBS_HIGH = np.array(
    [X_THRESHOLD * 2, np.inf, THETA_THRESHOLD_RADIANS * 2, np.inf], dtype=np.float32
).astype(np.float64)


@njit(cache=True)
def step_values(x, x_dot, theta, theta_dot, action):
    """One Euler step on float64 scalars; ``action`` int64 (1 = right).

    Returns ``(x, x_dot, theta, theta_dot, reward, terminated)`` (float64 x5, bool).
    """
    force = FORCE_MAG if action == 1 else -FORCE_MAG
    costheta = np.cos(theta)
    sintheta = np.sin(theta)
    temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (
        LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS)
    )
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    x = x + TAU * x_dot
    x_dot = x_dot + TAU * xacc
    theta = theta + TAU * theta_dot
    theta_dot = theta_dot + TAU * thetaacc
    terminated = (
        x < -X_THRESHOLD
        or x > X_THRESHOLD
        or theta < -THETA_THRESHOLD_RADIANS
        or theta > THETA_THRESHOLD_RADIANS
    )
    return x, x_dot, theta, theta_dot, 1.0, terminated


@njit(cache=True)
def step(state, action, sutton_barto_reward=False):
    """Advance ``state`` float64[4] in place by int64 ``action``; returns (reward, terminated)."""
    x, x_dot, theta, theta_dot, reward, terminated = step_values(
        state[0], state[1], state[2], state[3], action
    )
    state[0] = x
    state[1] = x_dot
    state[2] = theta
    state[3] = theta_dot
    if sutton_barto_reward:
        reward = -1.0 if terminated else 0.0
    return reward, terminated


@njit(cache=True)
def reset(state, rng):
    """Fill ``state`` float64[4] with U(-0.05, 0.05) draws from ``rng`` (np.random.Generator).

    Draws in Gymnasium's order, so ``rng = np.random.default_rng(s)`` gives the state of
    ``CartPoleEnv.reset(seed=s)``.
    """
    for i in range(4):
        state[i] = rng.uniform(RESET_LOW, RESET_HIGH)


@njit(cache=True)
def observe(state, obs):
    """Write the observation float64[4] (a copy of the state) into ``obs``."""
    for i in range(4):
        obs[i] = state[i]
