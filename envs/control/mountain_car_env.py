"""MountainCar-v0 through the env door: Gymnasium's constants, clipping, the left-wall reset.

State (float64[2], Gymnasium's ``env.unwrapped.state``): ``[position, velocity]``.
Observation (float64[2]): the state itself (Gymnasium returns it as float32).
Action: ``action[0]`` in {0.0, 1.0, 2.0} (push left, no push, push right).
Reward: -1.0 every step. Terminated when ``position >= goal_position`` and ``velocity >=
goal_velocity`` (Gymnasium's option, 0 by default). Time limit 200 steps (outside the dynamics).
``params`` holds Gymnasium's constants (``PARAMS``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .core import ControlEnv, constant_params, float32_bounds, from_functions

ID = "MountainCar-v0"
SUMMARY = "Gymnasium MountainCar-v0 (goal_velocity, any constant)"
PARAMS = {
    "min_position": -1.2,
    "max_position": 0.6,
    "max_speed": 0.07,
    "goal_position": 0.5,
    "goal_velocity": 0.0,
    "force": 0.001,
    "gravity": 0.0025,
}
MIN_POSITION, MAX_POSITION, MAX_SPEED, GOAL_POSITION, GOAL_VELOCITY, FORCE, GRAVITY = range(7)

SPACE = dict(state_dim=2, obs_dim=2, n_actions=3, max_steps=200, reward_threshold=-110.0)
RESET_LOW = -0.6
RESET_HIGH = -0.4


@njit(cache=True)
def reset(params, state, rng):
    """``[U(-0.6, -0.4), 0.0]``: one draw, as Gymnasium's reset."""
    state[0] = rng.uniform(RESET_LOW, RESET_HIGH)
    state[1] = 0.0


@njit(cache=True)
def step(params, state, action, rng):
    """One step in place; returns ``(-1.0, terminated)``."""
    position, velocity = state[0], state[1]
    max_speed = params[MAX_SPEED]
    min_position = params[MIN_POSITION]
    velocity += (action[0] - 1.0) * params[FORCE] + np.cos(3 * position) * (-params[GRAVITY])
    velocity = min(max(velocity, -max_speed), max_speed)
    position += velocity
    position = min(max(position, min_position), params[MAX_POSITION])
    if position == min_position and velocity < 0:
        velocity = 0.0
    state[0] = position
    state[1] = velocity
    terminated = position >= params[GOAL_POSITION] and velocity >= params[GOAL_VELOCITY]
    return -1.0, terminated


@njit(cache=True)
def observe(params, state, obs):
    """The observation: a copy of the state."""
    obs[0] = state[0]
    obs[1] = state[1]


def observation_bounds(params: dict[str, float]) -> dict[str, np.ndarray]:
    """Gymnasium's observation box, ``[min_position, -max_speed]`` to ``[max_position,
    max_speed]``, as ``from_functions`` keywords."""
    return dict(
        obs_low=float32_bounds([params["min_position"], -params["max_speed"]]),
        obs_high=float32_bounds([params["max_position"], params["max_speed"]]),
    )


def make(**constants: float) -> ControlEnv:
    """MountainCar-v0: 3 actions, 200 steps, reward threshold -110. Keywords are Gymnasium's
    constants (``PARAMS``), ``goal_velocity`` among them."""
    params = constant_params(ID, PARAMS, constants)
    return from_functions(
        ID, reset, step, observe, params=params, **observation_bounds(params), **SPACE
    )
