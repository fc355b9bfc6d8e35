"""Classic-control environments as compiled modules with Gymnasium's dynamics.

Each module (``cartpole_env``, ``mountain_car_env``, ``mountain_car_continuous_env``,
``acrobot_env``, ``pendulum_env``; the plain names are the builders) has Gymnasium's constants
and njit ``reset(state, rng)``, ``step(state, action)
-> (reward, terminated)`` acting in place on a float64 state in Gymnasium's layout, a value-typed
``step_values`` kernel and ``observe(state, obs)``. The builders here (``make("CartPole-v1")``
calls ``cartpole()``) validate options and return a ``ControlEnv``: plain data, so one cached
compiled learner serves every env through ``dispatch`` (``reset_env``, ``step_env``,
``observe_env``, ``vec_step``, ...), selected by ``ControlEnv.code``.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import NamedTuple

import numpy as np

from . import acrobot_env as _acrobot
from . import cartpole_env as _cartpole
from . import mountain_car_continuous_env as _mountain_car_continuous
from . import mountain_car_env as _mountain_car
from . import pendulum_env as _pendulum
from .dispatch import (
    ACROBOT,
    CARTPOLE,
    MOUNTAIN_CAR,
    MOUNTAIN_CAR_CONTINUOUS,
    PENDULUM,
    observe_env,
    observe_values,
    random_rollout,
    reset_env,
    reset_values,
    step_env,
    step_values,
    vec_observe,
    vec_reset,
    vec_step,
)


class ControlEnv(NamedTuple):
    """A classic-control env as data for the compiled ``dispatch`` functions.

    ``code`` selects the dynamics; ``params`` float64[1] holds its option (CartPole:
    sutton_barto_reward 0/1, MountainCar(Continuous): goal_velocity, Acrobot: 0 book / 1 nips,
    Pendulum: g). Actions are float64[action_dim] with ``action_dim == 1`` for all five: the
    force/torque for continuous envs (``n_actions == 0``, bounds ``action_low``/``action_high``)
    or the index as a float for discrete ones (bounds 0 and ``n_actions - 1``). ``obs_low`` and
    ``obs_high`` float64[obs_dim] are Gymnasium's observation-space bounds; ``max_steps`` its time
    limit; ``reward_threshold`` its registered threshold (None for Pendulum).
    """

    id: str
    code: int
    state_dim: int
    obs_dim: int
    n_actions: int
    action_dim: int
    action_low: np.ndarray
    action_high: np.ndarray
    obs_low: np.ndarray
    obs_high: np.ndarray
    max_steps: int
    reward_threshold: float | None
    params: np.ndarray


def _f64(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _finite(name: str, field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name}: {field} must be a finite real number, got {value!r}")
    return float(value)


def cartpole(sutton_barto_reward: bool = False) -> ControlEnv:
    """CartPole-v1: 2 actions, 500 steps, reward threshold 475.

    ``sutton_barto_reward`` (Gymnasium's option): 0 per step and -1 on failure instead of +1.
    """
    if not isinstance(sutton_barto_reward, (bool, np.bool_)):
        raise ValueError(
            f"CartPole-v1: sutton_barto_reward must be True or False, got {sutton_barto_reward!r}"
        )
    return ControlEnv(
        "CartPole-v1",
        CARTPOLE,
        _cartpole.STATE_DIM,
        _cartpole.OBS_DIM,
        _cartpole.N_ACTIONS,
        1,
        _f64(0.0),
        _f64(_cartpole.N_ACTIONS - 1),
        -_cartpole.OBS_HIGH.copy(),
        _cartpole.OBS_HIGH.copy(),
        _cartpole.MAX_STEPS,
        _cartpole.REWARD_THRESHOLD,
        _f64(1.0 if sutton_barto_reward else 0.0),
    )


def mountain_car(goal_velocity: float = 0.0) -> ControlEnv:
    """MountainCar-v0: 3 actions, 200 steps, reward threshold -110.

    ``goal_velocity`` (Gymnasium's option): the velocity needed at the goal to terminate.
    """
    gv = _finite("MountainCar-v0", "goal_velocity", goal_velocity)
    return ControlEnv(
        "MountainCar-v0",
        MOUNTAIN_CAR,
        _mountain_car.STATE_DIM,
        _mountain_car.OBS_DIM,
        _mountain_car.N_ACTIONS,
        1,
        _f64(0.0),
        _f64(_mountain_car.N_ACTIONS - 1),
        _mountain_car.OBS_LOW.copy(),
        _mountain_car.OBS_HIGH.copy(),
        _mountain_car.MAX_STEPS,
        _mountain_car.REWARD_THRESHOLD,
        _f64(gv),
    )


def mountain_car_continuous(goal_velocity: float = 0.0) -> ControlEnv:
    """MountainCarContinuous-v0: force in [-1, 1], 999 steps, reward threshold 90.

    ``goal_velocity`` (Gymnasium's option): the velocity needed at the goal to terminate.
    """
    gv = _finite("MountainCarContinuous-v0", "goal_velocity", goal_velocity)
    m = _mountain_car_continuous
    return ControlEnv(
        "MountainCarContinuous-v0",
        MOUNTAIN_CAR_CONTINUOUS,
        m.STATE_DIM,
        m.OBS_DIM,
        0,
        m.ACTION_DIM,
        _f64(m.MIN_ACTION),
        _f64(m.MAX_ACTION),
        m.OBS_LOW.copy(),
        m.OBS_HIGH.copy(),
        m.MAX_STEPS,
        m.REWARD_THRESHOLD,
        _f64(gv),
    )


def acrobot(book_or_nips: str = "book") -> ControlEnv:
    """Acrobot-v1: 3 torques, 500 steps, reward threshold -100.

    ``book_or_nips``: "book" (Gymnasium's default dynamics) or "nips".
    """
    if book_or_nips not in ("book", "nips"):
        raise ValueError(f"Acrobot-v1: book_or_nips must be 'book' or 'nips', got {book_or_nips!r}")
    return ControlEnv(
        "Acrobot-v1",
        ACROBOT,
        _acrobot.STATE_DIM,
        _acrobot.OBS_DIM,
        _acrobot.N_ACTIONS,
        1,
        _f64(0.0),
        _f64(_acrobot.N_ACTIONS - 1),
        -_acrobot.OBS_HIGH.copy(),
        _acrobot.OBS_HIGH.copy(),
        _acrobot.MAX_STEPS,
        _acrobot.REWARD_THRESHOLD,
        _f64(1.0 if book_or_nips == "nips" else 0.0),
    )


def pendulum(g: float = 10.0) -> ControlEnv:
    """Pendulum-v1: torque in [-2, 2], 200 steps, no reward threshold.

    ``g`` (Gymnasium's option): gravity, any finite number (10.0 by default).
    """
    gravity = _finite("Pendulum-v1", "g", g)
    return ControlEnv(
        "Pendulum-v1",
        PENDULUM,
        _pendulum.STATE_DIM,
        _pendulum.OBS_DIM,
        0,
        _pendulum.ACTION_DIM,
        _f64(-_pendulum.MAX_TORQUE),
        _f64(_pendulum.MAX_TORQUE),
        -_pendulum.OBS_HIGH.copy(),
        _pendulum.OBS_HIGH.copy(),
        _pendulum.MAX_STEPS,
        _pendulum.REWARD_THRESHOLD,
        _f64(gravity),
    )


__all__ = [
    "ACROBOT",
    "CARTPOLE",
    "MOUNTAIN_CAR",
    "MOUNTAIN_CAR_CONTINUOUS",
    "PENDULUM",
    "ControlEnv",
    "acrobot",
    "cartpole",
    "mountain_car",
    "mountain_car_continuous",
    "observe_env",
    "observe_values",
    "pendulum",
    "random_rollout",
    "reset_env",
    "reset_values",
    "step_env",
    "step_values",
    "vec_observe",
    "vec_reset",
    "vec_step",
]
