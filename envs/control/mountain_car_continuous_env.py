"""MountainCarContinuous-v0 with Gymnasium's constants, clipping, action cost and goal reward.

State (float64[2], Gymnasium's ``env.unwrapped.state``): ``[position, velocity]``. Gymnasium
stores the state after a step as float32, so ``step`` rounds both entries to float32 values
(kept in the float64 array); ``reset`` does not round, as in Gymnasium.
Observation (float64[2]): the state itself.
Action: one float64 force, clipped to [-1, 1] for the dynamics; the action cost
``0.1 * action**2`` uses the unclipped value, as Gymnasium's.
Reward: ``100.0`` on reaching the goal (``position >= 0.45`` and ``velocity >= goal_velocity``)
minus the action cost. Time limit 999 steps (applied by the dispatch layer).

Gymnasium's action space is float32: a float32 action array makes Gymnasium round
``force * power`` to float32 (NumPy 2 promotion), a float64 one does not. We compute in float64,
which equals Gymnasium fed float64 actions exactly.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MIN_ACTION = -1.0
MAX_ACTION = 1.0
MIN_POSITION = -1.2
MAX_POSITION = 0.6
MAX_SPEED = 0.07
GOAL_POSITION = 0.45
POWER = 0.0015
RESET_LOW = -0.6
RESET_HIGH = -0.4

STATE_DIM = 2
OBS_DIM = 2
ACTION_DIM = 1
MAX_STEPS = 999
REWARD_THRESHOLD = 90.0
OBS_LOW = np.array([MIN_POSITION, -MAX_SPEED], dtype=np.float32).astype(np.float64)
OBS_HIGH = np.array([MAX_POSITION, MAX_SPEED], dtype=np.float32).astype(np.float64)


@njit(cache=True)
def step_values(position, velocity, action, goal_velocity=0.0):
    """One step on float64 scalars; ``action`` float64 (the force before clipping).

    Returns ``(position, velocity, reward, terminated)``; position and velocity are rounded to
    float32 values as Gymnasium stores them.
    """
    force = min(max(action, MIN_ACTION), MAX_ACTION)
    velocity += force * POWER - 0.0025 * math.cos(3 * position)
    if velocity > MAX_SPEED:
        velocity = MAX_SPEED
    if velocity < -MAX_SPEED:
        velocity = -MAX_SPEED
    position += velocity
    if position > MAX_POSITION:
        position = MAX_POSITION
    if position < MIN_POSITION:
        position = MIN_POSITION
    if position == MIN_POSITION and velocity < 0:
        velocity = 0.0
    terminated = position >= GOAL_POSITION and velocity >= goal_velocity
    reward = 0.0
    if terminated:
        reward = 100.0
    reward -= (action * action) * 0.1
    return float(np.float32(position)), float(np.float32(velocity)), reward, terminated


@njit(cache=True)
def step(state, action, goal_velocity=0.0):
    """Advance ``state`` float64[2] in place by the float64 force ``action``.

    Returns (reward, terminated).
    """
    position, velocity, reward, terminated = step_values(state[0], state[1], action, goal_velocity)
    state[0] = position
    state[1] = velocity
    return reward, terminated


@njit(cache=True)
def reset(state, rng):
    """Fill ``state`` float64[2] with ``[U(-0.6, -0.4), 0.0]`` drawn from ``rng``.

    One draw, as Gymnasium's reset (``Continuous_MountainCarEnv.reset(seed=s)`` equals
    ``rng = np.random.default_rng(s)``).
    """
    state[0] = rng.uniform(RESET_LOW, RESET_HIGH)
    state[1] = 0.0


@njit(cache=True)
def observe(state, obs):
    """Write the observation float64[2] (a copy of the state) into ``obs``."""
    obs[0] = state[0]
    obs[1] = state[1]
