"""Pendulum-v1 through the env door: Gymnasium's constants, torque and speed clipping.

State (float64[2], Gymnasium's ``env.unwrapped.state``): ``[theta, thdot]``.
Observation (float64[3]): ``[cos theta, sin theta, thdot]``.
Action: ``action[0]`` the torque, clipped to [-max_torque, max_torque].
Reward: ``-(angle_normalize(theta)**2 + 0.1 * thdot**2 + 0.001 * u**2)`` on the state before the
step and the clipped torque ``u``; never terminates. Time limit 200 steps (outside the dynamics).

Gymnasium's action space is float32, and with a float32 action NumPy 2 computes ``u**2`` times
0.001 and ``3.0 / (m * l**2) * u`` in float32. ``step`` does the same: the torque is rounded to
float32 and those two terms are float32 products, so the next state equals Gymnasium's for
the float32 action to 1e-10 (a float64 action acts as its float32 rounding).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .core import ControlEnv, constant_params, float32_bounds, from_functions

ID = "Pendulum-v1"
SUMMARY = "Gymnasium Pendulum-v1 (g, any constant)"
PARAMS = {"max_speed": 8.0, "max_torque": 2.0, "dt": 0.05, "g": 10.0, "m": 1.0, "l": 1.0}
MAX_SPEED_P, MAX_TORQUE_P, DT, G, M, L = range(6)

SPACE = dict(state_dim=2, obs_dim=3, max_steps=200, reward_threshold=None)
RESET_HIGH_THETA = np.pi
RESET_HIGH_THDOT = 1.0


@njit(cache=True)
def angle_normalize(x):
    """Gymnasium's ``((x + pi) % (2 pi)) - pi`` (Python's floored modulo)."""
    return ((x + np.pi) % (2 * np.pi)) - np.pi


@njit(cache=True)
def reset(params, state, rng):
    """``[U(-pi, pi), U(-1, 1)]`` in Gymnasium's order."""
    state[0] = rng.uniform(-RESET_HIGH_THETA, RESET_HIGH_THETA)
    state[1] = rng.uniform(-RESET_HIGH_THDOT, RESET_HIGH_THDOT)


@njit(cache=True)
def step(params, state, action, rng):
    """One step in place; returns ``(-cost, False)``."""
    th, thdot = state[0], state[1]
    max_torque = np.float32(params[MAX_TORQUE_P])
    u = min(max(np.float32(action[0]), -max_torque), max_torque)
    g, m, l_, dt, max_speed = params[G], params[M], params[L], params[DT], params[MAX_SPEED_P]
    action_cost = np.float32(0.001) * (u * u)  # float32, as NumPy 2 with a float32 action
    costs = angle_normalize(th) ** 2 + 0.1 * thdot**2 + np.float64(action_cost)
    torque_term = np.float32(3.0 / (m * l_**2)) * u  # float32 likewise
    newthdot = thdot + (3 * g / (2 * l_) * np.sin(th) + np.float64(torque_term)) * dt
    newthdot = min(max(newthdot, -max_speed), max_speed)
    state[0] = th + newthdot * dt
    state[1] = newthdot
    return -costs, False


@njit(cache=True)
def observe(params, state, obs):
    """``[cos theta, sin theta, thdot]``."""
    obs[0] = np.cos(state[0])
    obs[1] = np.sin(state[0])
    obs[2] = state[1]


def make(**constants: float) -> ControlEnv:
    """Pendulum-v1: torque in [-2, 2], 200 steps, no reward threshold. Keywords are
    Gymnasium's constants (``PARAMS``; ``g`` is its gravity option, 10.0 by default)."""
    params = constant_params(ID, PARAMS, constants)
    high = float32_bounds([1.0, 1.0, params["max_speed"]])
    mt = params["max_torque"]
    return from_functions(
        ID, reset, step, observe, params=params, action_low=[-mt], action_high=[mt],
        obs_low=-high, obs_high=high, **SPACE,
    )  # fmt: skip
