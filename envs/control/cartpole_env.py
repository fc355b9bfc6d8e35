"""CartPole-v1 through the env door: Gymnasium's constants, Euler integration, thresholds.

State (float64[4], Gymnasium's ``env.unwrapped.state``): ``[x, x_dot, theta, theta_dot]``.
Observation (float64[4]): the state itself (Gymnasium returns it as float32).
Action: ``action[0]`` in {0.0, 1.0}; 1 pushes right, anything else pushes left (Gymnasium's
``force_mag if action == 1 else -force_mag``).
Reward: 1.0 every step including the terminating one; with ``sutton_barto_reward`` 0.0 per
step and -1.0 on termination. Time limit 500 steps (applied outside the dynamics).

``params`` holds every constant Gymnasium's ``CartPoleEnv`` exposes (``PARAMS``), so
``make("CartPole-v1", length=1.0)`` changes the pole without recompiling. The arithmetic
follows Gymnasium's expression order (``total_mass`` and ``polemass_length`` are formed as
Gymnasium forms them), so next states agree with ``CartPoleEnv.step`` to the last bit up to
libm's sin/cos.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .core import ControlEnv, constant_params, float32_bounds, from_functions

ID = "CartPole-v1"
SUMMARY = "Gymnasium CartPole-v1 (500 steps; any constant, sutton_barto_reward)"
PARAMS = {
    "gravity": 9.8,
    "masscart": 1.0,
    "masspole": 0.1,
    "length": 0.5,  # half the pole's length
    "force_mag": 10.0,
    "tau": 0.02,
    "theta_threshold_radians": 12 * 2 * math.pi / 360,
    "x_threshold": 2.4,
    "sutton_barto_reward": 0.0,  # 0 or 1
}
(
    GRAVITY,
    MASSCART,
    MASSPOLE,
    LENGTH,
    FORCE_MAG,
    TAU,
    THETA_THRESHOLD,
    X_THRESHOLD,
    SUTTON_BARTO_REWARD,
) = range(len(PARAMS))

OPTIONS_ONLY = ("sutton_barto_reward",)  # params set through make()'s named options

SPACE = dict(state_dim=4, obs_dim=4, n_actions=2, max_steps=500, reward_threshold=475.0)
RESET_LOW = -0.05
RESET_HIGH = 0.05


@njit(cache=True)
def reset(params, state, rng):
    """Fill ``state`` with U(-0.05, 0.05) draws in Gymnasium's order (``rng =
    np.random.default_rng(s)`` gives ``CartPoleEnv.reset(seed=s)``)."""
    for i in range(4):
        state[i] = rng.uniform(RESET_LOW, RESET_HIGH)


@njit(cache=True)
def step(params, state, action, rng):
    """One integration step in place; returns ``(reward, terminated)``."""
    masspole = params[MASSPOLE]
    length = params[LENGTH]
    total_mass = masspole + params[MASSCART]
    polemass_length = masspole * length
    tau = params[TAU]
    x, x_dot, theta, theta_dot = state[0], state[1], state[2], state[3]
    force = params[FORCE_MAG] if action[0] == 1.0 else -params[FORCE_MAG]
    costheta = np.cos(theta)
    sintheta = np.sin(theta)
    temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass
    thetaacc = (params[GRAVITY] * sintheta - costheta * temp) / (
        length * (4.0 / 3.0 - masspole * (costheta * costheta) / total_mass)
    )
    xacc = temp - polemass_length * thetaacc * costheta / total_mass
    x = x + tau * x_dot
    x_dot = x_dot + tau * xacc
    theta = theta + tau * theta_dot
    theta_dot = theta_dot + tau * thetaacc
    state[0] = x
    state[1] = x_dot
    state[2] = theta
    state[3] = theta_dot
    x_max = params[X_THRESHOLD]
    th_max = params[THETA_THRESHOLD]
    terminated = x < -x_max or x > x_max or theta < -th_max or theta > th_max
    if params[SUTTON_BARTO_REWARD] != 0.0:
        return (-1.0 if terminated else 0.0), terminated
    return 1.0, terminated


@njit(cache=True)
def observe(params, state, obs):
    """The observation: a copy of the state."""
    for i in range(4):
        obs[i] = state[i]


def make(sutton_barto_reward: bool = False, **constants: float) -> ControlEnv:
    """CartPole-v1: 2 actions, 500 steps, reward threshold 475.

    ``sutton_barto_reward`` is Gymnasium's option; any other keyword is one of Gymnasium's
    constants (``PARAMS``: gravity, masscart, masspole, length, force_mag, tau,
    theta_threshold_radians, x_threshold). Gymnasium's Euler integration only: its
    ``kinematics_integrator`` attribute is a method, not a constant, and a runtime switch
    between the two integrators measured 1.5x slower per step (the position update can no
    longer run ahead of the velocity chain), so it is not offered."""
    if not isinstance(sutton_barto_reward, (bool, np.bool_)):
        raise ValueError(
            f"{ID}: sutton_barto_reward must be True or False, got {sutton_barto_reward!r}"
        )
    params = constant_params(ID, PARAMS, constants, OPTIONS_ONLY)
    params["sutton_barto_reward"] = float(bool(sutton_barto_reward))
    high = float32_bounds(
        [params["x_threshold"] * 2, np.inf, params["theta_threshold_radians"] * 2, np.inf]
    )
    return from_functions(
        ID, reset, step, observe, params=params, obs_low=-high, obs_high=high, **SPACE
    )
