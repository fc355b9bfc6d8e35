"""Pendulum-v1 with Gymnasium's constants, torque and speed clipping and angle_normalize.

State (float64[2], Gymnasium's ``env.unwrapped.state``): ``[theta, thdot]``.
Observation (float64[3]): ``[cos theta, sin theta, thdot]``.
Action: one float64 torque, clipped to [-2, 2].
Reward: ``-(angle_normalize(theta)**2 + 0.1 * thdot**2 + 0.001 * u**2)`` on the state before the
step and the clipped torque ``u``; never terminates. Time limit 200 steps (dispatch layer).
``g`` is Gymnasium's gravity option (10.0 by default).

Gymnasium's action space is float32: a float32 action array makes Gymnasium round
``3.0 * u`` and ``u**2`` to float32 (NumPy 2 promotion), a float64 one does not. We compute in
float64, which equals Gymnasium fed float64 actions.
"""

from __future__ import annotations

import numpy as np
from numba import njit

MAX_SPEED = 8.0
MAX_TORQUE = 2.0
DT = 0.05
M = 1.0
L = 1.0
DEFAULT_G = 10.0
RESET_HIGH_THETA = np.pi
RESET_HIGH_THDOT = 1.0

STATE_DIM = 2
OBS_DIM = 3
ACTION_DIM = 1
MAX_STEPS = 200
REWARD_THRESHOLD = None
OBS_HIGH = np.array([1.0, 1.0, MAX_SPEED], dtype=np.float32).astype(np.float64)


@njit(cache=True)
def angle_normalize(x):
    """Gymnasium's ``((x + pi) % (2 pi)) - pi`` (Python's floored modulo)."""
    return ((x + np.pi) % (2 * np.pi)) - np.pi


@njit(cache=True)
def step_values(th, thdot, u, g=DEFAULT_G):
    """One step on float64 scalars with float64 torque ``u``.

    Returns ``(th, thdot, reward, terminated)``; ``terminated`` is always False.
    """
    u = min(max(u, -MAX_TORQUE), MAX_TORQUE)
    costs = angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * (u**2)
    newthdot = thdot + (3 * g / (2 * L) * np.sin(th) + 3.0 / (M * L**2) * u) * DT
    newthdot = min(max(newthdot, -MAX_SPEED), MAX_SPEED)
    newth = th + newthdot * DT
    return newth, newthdot, -costs, False


@njit(cache=True)
def step(state, action, g=DEFAULT_G):
    """Advance ``state`` float64[2] in place by float64 torque ``action``.

    Returns (reward, terminated=False).
    """
    th, thdot, reward, terminated = step_values(state[0], state[1], action, g)
    state[0] = th
    state[1] = thdot
    return reward, terminated


@njit(cache=True)
def reset(state, rng):
    """Fill ``state`` float64[2] with ``[U(-pi, pi), U(-1, 1)]`` drawn from ``rng``.

    Same draws and order as Gymnasium (``PendulumEnv.reset(seed=s)`` equals
    ``rng = np.random.default_rng(s)``).
    """
    state[0] = rng.uniform(-RESET_HIGH_THETA, RESET_HIGH_THETA)
    state[1] = rng.uniform(-RESET_HIGH_THDOT, RESET_HIGH_THDOT)


@njit(cache=True)
def observe(state, obs):
    """Write ``[cos theta, sin theta, thdot]`` (float64[3]) into ``obs``."""
    obs[0] = np.cos(state[0])
    obs[1] = np.sin(state[0])
    obs[2] = state[1]
