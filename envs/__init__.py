"""numbarl environments: tabular MDPs as data and classic-control modules.

``make(name, **options)`` builds an environment from a Gymnasium-style id; ``names()`` lists them.
This package imports only numpy and numba.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, NamedTuple

from .tabular import TabularMDP, from_arrays, from_transitions, reset, step, validate


class EnvSpec(NamedTuple):
    """Where an environment id is built: ``module.function(**defaults, **options)``."""

    id: str
    kind: str  # "tabular" or "control"
    module: str
    function: str
    defaults: dict
    summary: str


_SPECS: dict[str, EnvSpec] = {}


def register(id: str, kind: str, module: str, function: str, summary: str, **defaults: Any) -> None:
    _SPECS[id] = EnvSpec(id, kind, module, function, defaults, summary)


# Gymnasium's toy text, with Gymnasium's registered defaults.
register(
    "FrozenLake-v1",
    "tabular",
    "toy_text",
    "frozen_lake",
    "Gymnasium FrozenLake, 4x4 by default (map_name, desc, is_slippery, success_rate, "
    "reward_schedule)",
    map_name="4x4",
)
register(
    "FrozenLake8x8-v1",
    "tabular",
    "toy_text",
    "frozen_lake",
    "Gymnasium FrozenLake on the 8x8 map",
    map_name="8x8",
    max_steps=200,
)
register(
    "CliffWalking-v1",
    "tabular",
    "toy_text",
    "cliff_walking",
    "Gymnasium CliffWalking 4x12 (is_slippery)",
)
register(
    "CliffWalkingSlippery-v1",
    "tabular",
    "toy_text",
    "cliff_walking",
    "Gymnasium CliffWalking with slippery moves",
    is_slippery=True,
)
register(
    "Taxi-v4", "tabular", "toy_text", "taxi", "Gymnasium Taxi 5x5 (is_rainy, fickle_passenger)"
)
register(
    "Blackjack-v1",
    "tabular",
    "toy_text",
    "blackjack",
    "Gymnasium Blackjack, infinite deck (natural, sab); sab=True as registered",
    sab=True,
    natural=False,
)
# Sutton & Barto's MDPs.
register(
    "RandomWalk-v0",
    "tabular",
    "book",
    "random_walk",
    "Random walk of Example 6.2 (5 states, +1 on the right) or Figure 7.2 (n_states=19)",
)
register(
    "RandomWalk19-v0",
    "tabular",
    "book",
    "random_walk",
    "The 19-state random walk of Figure 7.2 (-1 left, +1 right)",
    n_states=19,
)
register(
    "Gridworld4x4-v0",
    "tabular",
    "book",
    "gridworld",
    "The 4x4 gridworld of Example 4.1 (-1 per step, two terminal corners)",
)
register(
    "WindyGridworld-v0",
    "tabular",
    "book",
    "windy_gridworld",
    "Windy gridworld of Example 6.5 (king_moves, stay, stochastic_wind)",
)
register(
    "ShortCorridor-v0",
    "tabular",
    "book",
    "short_corridor",
    "Short corridor with switched actions of Example 13.1",
)
register(
    "MaximizationBias-v0",
    "tabular",
    "book",
    "maximization_bias",
    "The MDP of Figure 6.5 (n_b_actions, mean, std)",
)
register(
    "GamblersProblem-v0",
    "tabular",
    "book",
    "gamblers_problem",
    "Gambler's problem of Example 4.3 (p_h, goal)",
)

# Classic control: njit dynamics in Gymnasium's state layout (envs/control).
register("CartPole-v1", "control", "control", "cartpole", "Gymnasium CartPole-v1 (500 steps)")
register("MountainCar-v0", "control", "control", "mountain_car", "Gymnasium MountainCar-v0")
register(
    "MountainCarContinuous-v0",
    "control",
    "control",
    "mountain_car_continuous",
    "Gymnasium MountainCarContinuous-v0",
)
register("Acrobot-v1", "control", "control", "acrobot", "Gymnasium Acrobot-v1 (book_or_nips)")
register("Pendulum-v1", "control", "control", "pendulum", "Gymnasium Pendulum-v1 (g)")


def names(kind: str | None = None) -> list[str]:
    """Ids of the registered environments, optionally of one kind ("tabular" or "control")."""
    if kind is not None and kind not in {"tabular", "control"}:
        raise ValueError(f"kind must be 'tabular', 'control' or None, got {kind!r}")
    return [s.id for s in _SPECS.values() if kind is None or s.kind == kind]


def spec(name: str) -> EnvSpec:
    """The registry entry for ``name``; ValueError listing the known ids if unknown."""
    if not isinstance(name, str) or name not in _SPECS:
        raise ValueError(f"unknown environment {name!r}; known: {', '.join(_SPECS)}")
    return _SPECS[name]


def builder(name: str):
    s = spec(name)
    module = importlib.import_module(f"{__name__}.{s.module}")
    return getattr(module, s.function)


def options(name: str) -> dict[str, Any]:
    """The options ``make(name, ...)`` accepts, with their defaults for this id."""
    fn = builder(name)
    out = {
        k: p.default
        for k, p in inspect.signature(fn).parameters.items()
        if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD
    }
    out.update(spec(name).defaults)
    return out


def make(name: str, **opts: Any):
    """Build the environment ``name`` (see ``names()``) with Gymnasium's options for it.

    Unknown ids or options raise ValueError naming what is allowed.
    """
    fn = builder(name)
    allowed = options(name)
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        raise ValueError(
            f"{name}: unknown option(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(allowed) or 'none'}"
        )
    kwargs = dict(spec(name).defaults)
    kwargs.update(opts)
    return fn(**kwargs)


__all__ = [
    "EnvSpec",
    "TabularMDP",
    "from_arrays",
    "from_transitions",
    "make",
    "names",
    "options",
    "register",
    "reset",
    "spec",
    "step",
    "validate",
]
