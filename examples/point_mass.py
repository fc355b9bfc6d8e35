"""A 2-D point mass that must reach a goal: a continuous-control env written as a user writes
one, three njit functions plus data.

State float64[6] ``[x, y, vx, vy, gx, gy]``: the mass's position and velocity and the goal,
both drawn uniformly in the arena [-1, 1]^2 at reset (velocity 0). Action float64[2]: the force,
clipped to [-1, 1] per axis. Each step of ``dt`` the velocity gains ``(force * max_accel -
damping * velocity) * dt`` and the position moves by ``velocity * dt``; a wall stops the motion
across it. Reward: minus the distance to the goal, minus ``control_cost * |force|^2``. The
episode ends when the mass is within ``goal_radius`` of the goal (so reaching it fast pays), or
after 100 steps. Observation float64[6]: position, velocity, and the goal relative to the mass.

A policy that pushes straight at the goal scores about -5; a random one about -100.
``import`` this module (it registers ``PointMass-v0``), then::

    numbarl train td3 PointMass-v0 --import examples/point_mass.py
"""

from __future__ import annotations

import numpy as np
from numba import njit

import numbarl.envs as E

DT, MAX_ACCEL, DAMPING, GOAL_RADIUS, CONTROL_COST = 0, 1, 2, 3, 4  # indices into params


@njit(cache=True)
def reset(params, state, rng):
    for i in range(2):
        state[i] = rng.uniform(-1.0, 1.0)  # position
        state[2 + i] = 0.0  # velocity
        state[4 + i] = rng.uniform(-1.0, 1.0)  # goal


@njit(cache=True)
def step(params, state, action, rng):
    dt = params[DT]
    cost = 0.0
    for i in range(2):
        force = min(max(action[i], -1.0), 1.0)
        cost += force * force
        v = state[2 + i] + (force * params[MAX_ACCEL] - params[DAMPING] * state[2 + i]) * dt
        p = state[i] + v * dt
        if p > 1.0 or p < -1.0:  # the wall stops the motion across it
            p = min(max(p, -1.0), 1.0)
            v = 0.0
        state[i] = p
        state[2 + i] = v
    dist = np.sqrt((state[4] - state[0]) ** 2 + (state[5] - state[1]) ** 2)
    return -dist - params[CONTROL_COST] * cost, dist < params[GOAL_RADIUS]


@njit(cache=True)
def observe(params, state, obs):
    for i in range(4):
        obs[i] = state[i]
    obs[4] = state[4] - state[0]
    obs[5] = state[5] - state[1]


env = E.register(
    E.from_functions(
        "PointMass-v0",
        reset,
        step,
        observe,
        state_dim=6,
        obs_dim=6,
        params={
            "dt": 0.1,
            "max_accel": 4.0,
            "damping": 2.0,
            "goal_radius": 0.1,
            "control_cost": 0.01,
        },
        max_steps=100,
        action_low=[-1.0, -1.0],
        action_high=[1.0, 1.0],
        reward_threshold=-10.0,
    )
)
