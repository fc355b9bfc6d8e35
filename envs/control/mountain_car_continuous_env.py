"""MountainCarContinuous-v0 through the env door: Gymnasium's constants, clipping, action cost.

State (float64[2], Gymnasium's ``env.unwrapped.state``): ``[position, velocity]``. Gymnasium
stores the state after a step as float32, so ``step`` rounds both entries to float32 values
(kept in the float64 array); ``reset`` does not round, as in Gymnasium.
Observation (float64[2]): the state itself.
Action: ``action[0]`` the force, clipped to [min_action, max_action] for the dynamics; the
action cost ``0.1 * action**2`` uses the unclipped value, as Gymnasium's.
Reward: ``100.0`` on reaching the goal (``position >= goal_position`` and ``velocity >=
goal_velocity``) minus the action cost. Time limit 999 steps (outside the dynamics).
Gymnasium's action space is float32: a float32 action array makes Gymnasium round
``force * power`` to float32 (NumPy 2 promotion), a float64 one does not. We compute in float64,
which equals Gymnasium fed float64 actions exactly.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .core import ControlEnv, constant_params, from_functions
from .mountain_car_env import observation_bounds, observe, reset  # the same car, start and view

ID = "MountainCarContinuous-v0"
SUMMARY = "Gymnasium MountainCarContinuous-v0 (goal_velocity, any constant)"
PARAMS = {
    "min_action": -1.0,
    "max_action": 1.0,
    "min_position": -1.2,
    "max_position": 0.6,
    "max_speed": 0.07,
    "goal_position": 0.45,
    "goal_velocity": 0.0,
    "power": 0.0015,
}
(
    MIN_ACTION,
    MAX_ACTION,
    MIN_POSITION,
    MAX_POSITION,
    MAX_SPEED,
    GOAL_POSITION,
    GOAL_VELOCITY,
    POWER,
) = range(8)

SPACE = dict(state_dim=2, obs_dim=2, max_steps=999, reward_threshold=90.0)


@njit(cache=True)
def step(params, state, action, rng):
    """One step in place (state rounded to float32 as Gymnasium stores it)."""
    position, velocity = state[0], state[1]
    a = action[0]
    force = min(max(a, params[MIN_ACTION]), params[MAX_ACTION])
    max_speed = params[MAX_SPEED]
    velocity += force * params[POWER] - 0.0025 * math.cos(3 * position)
    if velocity > max_speed:
        velocity = max_speed
    if velocity < -max_speed:
        velocity = -max_speed
    position += velocity
    if position > params[MAX_POSITION]:
        position = params[MAX_POSITION]
    if position < params[MIN_POSITION]:
        position = params[MIN_POSITION]
    if position == params[MIN_POSITION] and velocity < 0:
        velocity = 0.0
    terminated = position >= params[GOAL_POSITION] and velocity >= params[GOAL_VELOCITY]
    reward = 0.0
    if terminated:
        reward = 100.0
    reward -= (a * a) * 0.1
    state[0] = float(np.float32(position))
    state[1] = float(np.float32(velocity))
    return reward, terminated


def make(**constants: float) -> ControlEnv:
    """MountainCarContinuous-v0: force in [-1, 1], 999 steps, reward threshold 90. Keywords
    are Gymnasium's constants (``PARAMS``), ``goal_velocity`` among them."""
    params = constant_params(ID, PARAMS, constants)
    actions = dict(action_low=[params["min_action"]], action_high=[params["max_action"]])
    return from_functions(
        ID, reset, step, observe, params=params, **actions, **observation_bounds(params), **SPACE
    )
