"""MountainCar-v0 with Gymnasium's constants, clipping and the velocity reset at the left wall.

State (float64[2], Gymnasium's ``env.unwrapped.state``): ``[position, velocity]``.
Observation (float64[2]): the state itself (Gymnasium returns it as float32).
Action: int64 in {0, 1, 2} (push left, no push, push right).
Reward: -1.0 every step. Terminated when ``position >= 0.5`` and ``velocity >= goal_velocity``
(Gymnasium's option, 0 by default). Time limit 200 steps (applied by the dispatch layer).
"""

from __future__ import annotations

import numpy as np
from numba import njit

MIN_POSITION = -1.2
MAX_POSITION = 0.6
MAX_SPEED = 0.07
GOAL_POSITION = 0.5
FORCE = 0.001
GRAVITY = 0.0025
RESET_LOW = -0.6
RESET_HIGH = -0.4

STATE_DIM = 2
OBS_DIM = 2
N_ACTIONS = 3
MAX_STEPS = 200
REWARD_THRESHOLD = -110.0
OBS_LOW = np.array([MIN_POSITION, -MAX_SPEED], dtype=np.float32).astype(np.float64)
OBS_HIGH = np.array([MAX_POSITION, MAX_SPEED], dtype=np.float32).astype(np.float64)


@njit(cache=True)
def step_values(position, velocity, action, goal_velocity=0.0):
    """One step on float64 scalars; ``action`` int64 in {0, 1, 2}.

    Returns ``(position, velocity, reward, terminated)`` (float64 x3, bool).
    """
    velocity += (action - 1) * FORCE + np.cos(3 * position) * (-GRAVITY)
    velocity = min(max(velocity, -MAX_SPEED), MAX_SPEED)
    position += velocity
    position = min(max(position, MIN_POSITION), MAX_POSITION)
    if position == MIN_POSITION and velocity < 0:
        velocity = 0.0
    terminated = position >= GOAL_POSITION and velocity >= goal_velocity
    return position, velocity, -1.0, terminated


@njit(cache=True)
def step(state, action, goal_velocity=0.0):
    """Advance ``state`` float64[2] in place by int64 ``action``; returns (reward, terminated)."""
    position, velocity, reward, terminated = step_values(state[0], state[1], action, goal_velocity)
    state[0] = position
    state[1] = velocity
    return reward, terminated


@njit(cache=True)
def reset(state, rng):
    """Fill ``state`` float64[2] with ``[U(-0.6, -0.4), 0.0]`` drawn from ``rng``.

    One draw, as Gymnasium's reset, so ``rng = np.random.default_rng(s)`` gives the state of
    ``MountainCarEnv.reset(seed=s)``.
    """
    state[0] = rng.uniform(RESET_LOW, RESET_HIGH)
    state[1] = 0.0


@njit(cache=True)
def observe(state, obs):
    """Write the observation float64[2] (a copy of the state) into ``obs``."""
    obs[0] = state[0]
    obs[1] = state[1]
