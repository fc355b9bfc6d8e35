"""DQN's configuration: the per-env tuned rows, the Rainbow switch set, ``DQNConfig`` (the
user-facing record of scalars, checked by ``make_dqn_config``) and ``DQNHyper`` (the compiled
loop's numbers-only view of it). ``numbarl.deep.dqn`` re-exports every name here; the algorithm
reads there."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from numbarl.config import make_config
from numbarl.nn.mlp import ACTIVATIONS, DTYPES
from numbarl.validation import AT_LEAST_ONE as _AT_LEAST_ONE
from numbarl.validation import POSITIVE as _POSITIVE
from numbarl.validation import UNIT as _UNIT

# ---------------------------------------------------------------------------------------------
# Tuned configs (overrides of DQNConfig's defaults), per env id
# ---------------------------------------------------------------------------------------------

TUNED: dict[str, dict[str, Any]] = {
    # Tuned for CPU time to solve (Optuna TPE over numbarl.tune.SPACES["dqn"], 150 trials on
    # seeds 0-4, then 70 on seeds 0-9 with the update schedule fixed; every final policy checked
    # on 20 fresh episodes): 3-step returns and 32 updates every 64 steps (rl-zoo's CartPole row
    # updates in bursts too: 128 every 256). On training seeds 100-139, which the search never
    # used: 40 of 40 stopped at a greedy mean of 475 over 20 episodes, 39 of 40 final policies
    # scored >= 475 on fresh episodes (one 464), median 8,000 steps and 0.19 s of CPU (the row
    # before, 1 update per step at lr 2.5e-3 stopping at 500: 20 of 20 on seeds 100-119, median
    # 12,750 steps, 0.49 s).
    "CartPole-v1": {
        "total_steps": 40_000,
        "buffer_size": 10_000,
        "batch_size": 32,
        "learning_starts": 1_000,
        "train_frequency": 64,
        "gradient_steps": 32,
        "n_step": 3,
        "lr": 9.9e-3,
        "gamma": 0.98,
        "target_update_every": 10,
        "exploration_fraction": 0.0864,
        "epsilon_end": 0.0612,
        "eval_every": 500,
        "eval_episodes": 20,
        "stop_at_return": 475.0,
        "n_atoms": 21,
        "v_min": 0.0,
        "v_max": 100.0,
    },
    "Acrobot-v1": {
        "total_steps": 50_000,
        "buffer_size": 50_000,
        "batch_size": 32,
        "learning_starts": 1_000,
        "n_step": 3,
        "lr": 2.5e-3,
        "target_update_every": 100,
        "exploration_fraction": 0.1,
        "epsilon_end": 0.02,
        "eval_every": 2_500,
        "eval_episodes": 20,
        "stop_at_return": -85.0,
        "n_atoms": 51,
        "v_min": -100.0,
        "v_max": 0.0,
    },
    # rl-zoo3's row (256-256 nets, Adam 4e-3, batch 128, 8 updates every 16 steps, a target
    # copied every 600 steps, gamma 0.98, epsilon to 0.07 over the first 20% of steps). The
    # reward is -1 per step until the flag, so nothing is learned until epsilon-greedy play has
    # reached it; after that the greedy return swings between -100 and -180 from one evaluation
    # to the next, so the run stops at the first evaluation (20 episodes) of -103 or better.
    "MountainCar-v0": {
        "total_steps": 120_000,
        "buffer_size": 10_000,
        "batch_size": 128,
        "learning_starts": 1_000,
        "train_frequency": 16,
        "gradient_steps": 8,
        "lr": 4e-3,
        "gamma": 0.98,
        "hidden": 256,
        "target_update_every": 600,
        "exploration_fraction": 0.2,
        "epsilon_end": 0.07,
        "eval_every": 5_000,
        "eval_episodes": 20,
        "stop_at_return": -103.0,
        "n_atoms": 51,
        "v_min": -100.0,
        "v_max": 0.0,
    },
    # The discrete example env written through the public door (examples/catch.py); the row
    # applies once a user's module registers it.
    "Catch-v0": {
        "total_steps": 10_000,
        "buffer_size": 10_000,
        "batch_size": 32,
        "learning_starts": 500,
        "lr": 1e-3,
        "target_update_every": 100,
        "exploration_fraction": 0.2,
        "epsilon_end": 0.02,
        "eval_every": 1_000,
        "eval_episodes": 20,
        "stop_at_return": 1.0,
    },
}

# Every switch on (Rainbow). The C51 support (v_min, v_max, n_atoms) depends on the env's returns
# and lives in its TUNED entry: use {**TUNED[env_id], **RAINBOW}.
RAINBOW: dict[str, Any] = {
    "double": True,
    "dueling": True,
    "n_step": 3,
    "noisy": True,
    "distributional": True,
    "prioritized": True,
}

# TUNED rows Rainbow does not inherit. MountainCar-v0: DQN's row with every switch on stayed at
# -200 (0 of 2 seeds over its 120k steps, 600-1,100 s each) and no test shows it learning.
RAINBOW_UNTUNED: frozenset[str] = frozenset({"MountainCar-v0"})


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------


class DQNConfig(NamedTuple):
    """DQN hyperparameters (defaults: CleanRL's ``dqn.py`` scaled to classic control).

    Steps count environment steps. ``epsilon`` decays linearly from ``epsilon_start`` to
    ``epsilon_end`` over ``exploration_fraction * total_steps`` steps. The target net is updated
    every ``target_update_every`` steps by ``target = (1 - tau) target + tau online`` (tau = 1:
    a copy). Every ``train_frequency`` steps after ``learning_starts``, ``gradient_steps``
    updates run. ``max_grad_norm`` 0 disables clipping. ``loss``: "huber" (smooth L1, delta 1)
    or "mse" (mean of delta^2). Training stops early once a greedy evaluation (every
    ``eval_every`` steps, ``eval_episodes`` episodes) averages at least ``stop_at_return``.
    ``dtype``: the networks' precision, "float32" or "float64" (module docstring)."""

    total_steps: int = 50_000
    buffer_size: int = 10_000
    batch_size: int = 64
    learning_starts: int = 1_000
    train_frequency: int = 1
    gradient_steps: int = 1
    lr: float = 1e-3
    adam_eps: float = 1e-8
    gamma: float = 0.99
    hidden: int = 64
    depth: int = 2
    activation: str = "relu"
    loss: str = "huber"
    max_grad_norm: float = 10.0
    target_update_every: int = 500
    tau: float = 1.0
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    exploration_fraction: float = 0.1
    double: bool = False
    dueling: bool = False
    n_step: int = 1
    noisy: bool = False
    noisy_sigma0: float = 0.5
    distributional: bool = False
    n_atoms: int = 51
    v_min: float = -10.0
    v_max: float = 10.0
    prioritized: bool = False
    per_alpha: float = 0.6
    per_beta0: float = 0.4
    per_eps: float = 1e-6
    eval_every: int = 1_000
    eval_episodes: int = 10
    stop_at_return: float = math.inf
    dtype: str = "float32"


DQNConfig._ranges = {
    "buffer_size": _AT_LEAST_ONE,
    "learning_starts": (0.0, None, True, True),
    "train_frequency": _AT_LEAST_ONE,
    "gradient_steps": _AT_LEAST_ONE,
    "adam_eps": _POSITIVE,
    "hidden": _AT_LEAST_ONE,
    "depth": _AT_LEAST_ONE,
    "max_grad_norm": (0.0, None, True, True),
    "target_update_every": _AT_LEAST_ONE,
    "tau": (0.0, 1.0, False, True),
    "epsilon_start": _UNIT,
    "epsilon_end": _UNIT,
    "exploration_fraction": _UNIT,
    "n_step": _AT_LEAST_ONE,
    "noisy_sigma0": _POSITIVE,
    "n_atoms": (2.0, None, True, True),
    "per_alpha": (0.0, None, True, True),
    "per_beta0": _UNIT,
    "per_eps": _POSITIVE,
    "eval_every": _AT_LEAST_ONE,
    "eval_episodes": _AT_LEAST_ONE,
}
DQNConfig._choices = {
    "activation": tuple(ACTIVATIONS),
    "loss": ("huber", "mse"),
    "dtype": DTYPES,
}

HUBER = 0
MSE = 1
LOSSES = {"huber": HUBER, "mse": MSE}


class DQNHyper(NamedTuple):
    """The compiled driver's view of a ``DQNConfig``: numbers only (strings as codes), the
    exploration schedule in steps."""

    total_steps: int
    batch_size: int
    learning_starts: int
    train_frequency: int
    gradient_steps: int
    lr: float
    adam_eps: float
    gamma: float
    loss: int
    max_grad_norm: float
    target_update_every: int
    tau: float
    epsilon_start: float
    epsilon_end: float
    exploration_steps: int
    double: bool
    n_step: int
    noisy: bool
    distributional: bool
    prioritized: bool
    per_alpha: float
    per_beta0: float
    per_eps: float


def _env_id(env: Any) -> str | None:
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or getattr(env, "id", None)


def make_dqn_config(
    env: Any = None, cfg: DQNConfig | dict[str, Any] | None = None, **overrides: Any
) -> DQNConfig:
    """A checked ``DQNConfig``: defaults, then ``TUNED[env id]`` when ``cfg`` is None or a dict
    (dict values and ``overrides`` win). A ``DQNConfig`` given is re-checked as is.

    Raises ValueError/TypeError naming the field and what is allowed."""
    if isinstance(cfg, DQNConfig):
        values = cfg._asdict()
    else:
        if cfg is not None and not isinstance(cfg, dict):
            raise TypeError(f"cfg must be a DQNConfig, a dict or None, got {type(cfg).__name__}")
        values = dict(TUNED.get(_env_id(env) or "", {}))
        values.update(cfg or {})
    values.update(overrides)
    cfg = make_config(DQNConfig, values)
    if cfg.buffer_size < cfg.batch_size:
        raise ValueError(
            f"DQNConfig.buffer_size must be >= batch_size ({cfg.batch_size}), got {cfg.buffer_size}"
        )
    if cfg.distributional and not cfg.v_min < cfg.v_max:
        raise ValueError(
            f"DQNConfig.v_min must be < v_max for the C51 support, got v_min={cfg.v_min}, "
            f"v_max={cfg.v_max}"
        )
    for name in ("v_min", "v_max", "lr", "max_grad_norm"):
        if not math.isfinite(getattr(cfg, name)):
            raise ValueError(f"DQNConfig.{name} must be finite, got {getattr(cfg, name)!r}")
    return cfg


def hyper(cfg: DQNConfig) -> DQNHyper:
    """The compiled record for a checked config (one Numba signature for every config)."""
    return DQNHyper(
        int(cfg.total_steps),
        int(cfg.batch_size),
        int(cfg.learning_starts),
        int(cfg.train_frequency),
        int(cfg.gradient_steps),
        float(cfg.lr),
        float(cfg.adam_eps),
        float(cfg.gamma),
        LOSSES[cfg.loss],
        float(cfg.max_grad_norm),
        int(cfg.target_update_every),
        float(cfg.tau),
        float(cfg.epsilon_start),
        float(cfg.epsilon_end),
        max(1, int(cfg.exploration_fraction * cfg.total_steps)),
        bool(cfg.double),
        int(cfg.n_step),
        bool(cfg.noisy),
        bool(cfg.distributional),
        bool(cfg.prioritized),
        float(cfg.per_alpha),
        float(cfg.per_beta0),
        float(cfg.per_eps),
    )


__all__ = [
    "DQNConfig",
    "DQNHyper",
    "HUBER",
    "LOSSES",
    "MSE",
    "RAINBOW",
    "RAINBOW_UNTUNED",
    "TUNED",
    "hyper",
    "make_dqn_config",
]
