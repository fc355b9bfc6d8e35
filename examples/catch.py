"""Catch (bsuite's classic), written as a user writes an env: three njit functions plus data.

A ball starts in a random column of the top row of a 10 x 5 board and falls one row per step;
the agent moves a paddle along the bottom row (0 = left, 1 = stay, 2 = right). When the ball
reaches the bottom row the episode ends with +1 if the paddle is under it, else -1. The
observation is the board, flattened: 1.0 where the ball and the paddle are. Optimal return 1.0;
a random policy gets about -0.7.

Use it like any numbarl env once this module is imported (it registers ``Catch-v0``)::

    numbarl train dqn Catch-v0 --import examples/catch.py
"""

from __future__ import annotations

from numba import njit

import numbarl.envs as E

ROWS, COLUMNS = 10, 5
BALL_X, BALL_Y, PADDLE_X = 0, 1, 2  # state layout: float64[3]


@njit(cache=True)
def reset(params, state, rng):
    state[BALL_X] = rng.integers(0, COLUMNS)
    state[BALL_Y] = 0.0
    state[PADDLE_X] = COLUMNS // 2


@njit(cache=True)
def step(params, state, action, rng):
    paddle = state[PADDLE_X] + action[0] - 1.0  # action[0] is the index 0, 1 or 2
    state[PADDLE_X] = min(max(paddle, 0.0), COLUMNS - 1.0)
    state[BALL_Y] += 1.0
    if state[BALL_Y] < ROWS - 1:
        return 0.0, False
    caught = state[BALL_X] == state[PADDLE_X]
    return (params[0] if caught else params[1]), True


@njit(cache=True)
def observe(params, state, obs):
    obs[:] = 0.0
    obs[int(state[BALL_Y]) * COLUMNS + int(state[BALL_X])] = 1.0
    obs[(ROWS - 1) * COLUMNS + int(state[PADDLE_X])] = 1.0


env = E.register(
    E.from_functions(
        "Catch-v0",
        reset,
        step,
        observe,
        state_dim=3,
        obs_dim=ROWS * COLUMNS,
        params={"catch_reward": 1.0, "miss_reward": -1.0},
        max_steps=ROWS - 1,
        n_actions=3,
        obs_low=[0.0] * (ROWS * COLUMNS),
        obs_high=[1.0] * (ROWS * COLUMNS),
        reward_threshold=0.9,
    )
)
