"""Classic-control environments, and the door a user's own env comes through.

A control env is three njit functions plus data (``core``: the contract,
``from_functions``, ``ControlEnv``). The five Gymnasium envs are five instances of it, one
module each (``cartpole_env``, ``mountain_car_env``, ``mountain_car_continuous_env``,
``acrobot_env``, ``pendulum_env``): Gymnasium's constants as a named ``params`` vector,
``reset``/``step``/``observe`` and a ``make(**options)`` builder. ``BUILTIN`` lists them; adding
an env means adding one module and its name there. ``dispatch`` steps any env from compiled code.
"""

from __future__ import annotations

from . import acrobot_env, cartpole_env, mountain_car_continuous_env, mountain_car_env, pendulum_env
from .core import (
    OBSERVE_SIG,
    RESET_SIG,
    STEP_SIG,
    ControlEnv,
    EnvFns,
    FunctionPointer,
    from_functions,
    same_env,
)
from .dispatch import (
    observe_env,
    random_rollout,
    reset_env,
    step_env,
    vec_observe,
    vec_reset,
    vec_step,
)

BUILTIN = (
    cartpole_env,
    mountain_car_env,
    mountain_car_continuous_env,
    acrobot_env,
    pendulum_env,
)

__all__ = [
    "BUILTIN",
    "OBSERVE_SIG",
    "RESET_SIG",
    "STEP_SIG",
    "ControlEnv",
    "EnvFns",
    "FunctionPointer",
    "from_functions",
    "observe_env",
    "random_rollout",
    "reset_env",
    "same_env",
    "step_env",
    "vec_observe",
    "vec_reset",
    "vec_step",
]
