"""What a learner needs to know about an env: ``env_info(env)`` -> ``EnvInfo`` (obs_dim,
n_actions, action_dim, bounds, is_control, n_envs) for a numbarl ControlEnv or a Gymnasium env
(a 1-D ``Box`` observation space and a ``Discrete`` or ``Box`` action space; other spaces raise
ValueError).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from numbarl.envs.control import ControlEnv


class EnvInfo(NamedTuple):
    """What a policy needs to know about an env's spaces."""

    obs_dim: int
    n_actions: int  # > 0: discrete (categorical head); 0: continuous (Gaussian head)
    action_dim: int
    action_low: np.ndarray  # float64[action_dim]
    action_high: np.ndarray  # float64[action_dim]
    is_control: bool  # a numbarl ControlEnv (compiled path) rather than a Gymnasium env
    n_envs: int  # copies a Gymnasium vector env already holds (1 otherwise)


def env_info(env: Any) -> EnvInfo:
    """Spaces of a numbarl ``ControlEnv`` or a Gymnasium env (single or ``gymnasium.vector``).

    Raises ValueError for tabular envs, non-1-D ``Box`` observations and action spaces other
    than ``Discrete`` / ``Box``."""
    if isinstance(env, ControlEnv):
        low = np.asarray(env.action_low, dtype=np.float64).copy()
        high = np.asarray(env.action_high, dtype=np.float64).copy()
        return EnvInfo(env.obs_dim, env.n_actions, env.action_dim, low, high, True, 1)
    try:
        import gymnasium
        from gymnasium import spaces
    except ImportError:  # pragma: no cover - gymnasium is a dependency
        msg = f"env must be a numbarl ControlEnv or a Gymnasium env, got {env!r}"
        raise ValueError(msg) from None
    is_vector = isinstance(env, gymnasium.vector.VectorEnv)
    if not is_vector and not isinstance(env, gymnasium.Env):
        raise ValueError(
            f"env must be a numbarl ControlEnv (numbarl.envs.make) or a Gymnasium env with a "
            f"Box observation space, got {type(env).__name__}"
        )
    obs_space = env.single_observation_space if is_vector else env.observation_space
    act_space = env.single_action_space if is_vector else env.action_space
    if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 1:
        raise ValueError(
            f"observation_space must be a 1-D gymnasium.spaces.Box, got {obs_space!r}; "
            "allowed: Box with shape (obs_dim,)"
        )
    if isinstance(act_space, spaces.Discrete):
        if int(act_space.start) != 0:
            raise ValueError(f"Discrete action spaces must start at 0, got {act_space!r}")
        n = int(act_space.n)
        lo, hi = np.zeros(1), np.array([n - 1.0])
        info = EnvInfo(int(obs_space.shape[0]), n, 1, lo, hi, False, 1)
    elif isinstance(act_space, spaces.Box) and len(act_space.shape) == 1:
        lo = np.asarray(act_space.low, dtype=np.float64).copy()
        hi = np.asarray(act_space.high, dtype=np.float64).copy()
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError(f"Box action space must have finite bounds, got {act_space!r}")
        info = EnvInfo(int(obs_space.shape[0]), 0, int(act_space.shape[0]), lo, hi, False, 1)
    else:
        raise ValueError(
            f"action_space {act_space!r} is not supported; allowed: gymnasium.spaces.Discrete "
            "or a 1-D gymnasium.spaces.Box"
        )
    if is_vector:
        from gymnasium.vector import AutoresetMode

        mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(
                "gymnasium.vector envs must use autoreset_mode=AutoresetMode.SAME_STEP (got "
                f"{mode!r}), so that final observations can be bootstrapped"
            )
        info = info._replace(n_envs=int(env.num_envs))
    return info
