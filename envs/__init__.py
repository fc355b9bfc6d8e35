"""numbarl environments: tabular MDPs as data and control envs as njit functions plus data.

``make(name, **options)`` builds an environment from a Gymnasium-style id; ``names()`` lists them.
A user's own control env is built with ``from_functions(...)`` (see ``numbarl.envs.control.core``
for the contract) and made reachable by id with ``register(env)``; ``load_plugins()`` imports
the modules that packages advertise under the ``numbarl.envs`` entry-point group.
This package imports only numpy and numba (and the standard library).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from importlib import metadata
from typing import Any, NamedTuple

# imported for their effect: a stale Numba cache index never breaks a compile; every kernel
# compiles with the collector's full collections paused; Numba's compile flags hash and compare
# without a property read per option; inlining copies a callee's IR in linear time; overload
# implementations compile without the C wrapper nothing calls; LLVM's per-function passes are
# set up once per module; a kernel that several compiled functions call is emitted as machine
# code once, not again in each caller; an inlined function's IR is built once, not at every
# call site; an IR statement lists its variables without a call per attribute; reference counts
# read only the members that hold one; a struct built from a value is read without a stack slot
# until something writes it (see each module)
from . import (  # noqa: F401
    cache_index,
    compile_gc,
    flags_values,
    function_passes,
    inline_copy,
    ir_vars,
    nrt_meminfos,
    overload_cfunc,
    shared_callees,
    struct_reads,
)
from .control import BUILTIN as _CONTROL_MODULES
from .control import ControlEnv, from_functions, same_env
from .tabular import TabularMDP, from_arrays, from_transitions, reset, step, validate


class EnvSpec(NamedTuple):
    """How an environment id is built: ``build(**defaults, **options)``."""

    id: str
    kind: str  # "tabular" or "control"
    build: Callable[..., Any]
    defaults: dict
    summary: str
    env: ControlEnv | None = None  # a user's registered env (None for built-in builders)


_SPECS: dict[str, EnvSpec] = {}


def _builtin(id: str, kind: str, module: str, function: str, summary: str, **defaults: Any) -> None:
    def build(**options: Any) -> Any:
        mod = importlib.import_module(f"{__name__}.{module}")
        return getattr(mod, function)(**options)

    build.__wrapped__ = (module, function)  # for options(): the builder's signature
    _SPECS[id] = EnvSpec(id, kind, build, defaults, summary)


# Gymnasium's toy text, with Gymnasium's registered defaults.
_builtin(
    "FrozenLake-v1",
    "tabular",
    "toy_text",
    "frozen_lake",
    "Gymnasium FrozenLake, 4x4 by default (map_name, desc, is_slippery, success_rate, "
    "reward_schedule)",
    map_name="4x4",
)
_builtin(
    "FrozenLake8x8-v1",
    "tabular",
    "toy_text",
    "frozen_lake",
    "Gymnasium FrozenLake on the 8x8 map",
    map_name="8x8",
    max_steps=200,
)
_builtin(
    "CliffWalking-v1",
    "tabular",
    "toy_text",
    "cliff_walking",
    "Gymnasium CliffWalking 4x12 (is_slippery)",
)
_builtin(
    "CliffWalkingSlippery-v1",
    "tabular",
    "toy_text",
    "cliff_walking",
    "Gymnasium CliffWalking with slippery moves",
    is_slippery=True,
)
_builtin(
    "Taxi-v4", "tabular", "toy_text", "taxi", "Gymnasium Taxi 5x5 (is_rainy, fickle_passenger)"
)
_builtin(
    "Blackjack-v1",
    "tabular",
    "toy_text",
    "blackjack",
    "Gymnasium Blackjack, infinite deck (natural, sab); sab=True as registered",
    sab=True,
    natural=False,
)
# Sutton & Barto's MDPs.
_builtin(
    "RandomWalk-v0",
    "tabular",
    "book",
    "random_walk",
    "Random walk of Example 6.2 (5 states, +1 on the right) or Figure 7.2 (n_states=19)",
)
_builtin(
    "RandomWalk19-v0",
    "tabular",
    "book",
    "random_walk",
    "The 19-state random walk of Figure 7.2 (-1 left, +1 right)",
    n_states=19,
)
_builtin(
    "Gridworld4x4-v0",
    "tabular",
    "book",
    "gridworld",
    "The 4x4 gridworld of Example 4.1 (-1 per step, two terminal corners)",
)
_builtin(
    "WindyGridworld-v0",
    "tabular",
    "book",
    "windy_gridworld",
    "Windy gridworld of Example 6.5 (king_moves, stay, stochastic_wind)",
)
_builtin(
    "ShortCorridor-v0",
    "tabular",
    "book",
    "short_corridor",
    "Short corridor with switched actions of Example 13.1",
)
_builtin(
    "MaximizationBias-v0",
    "tabular",
    "book",
    "maximization_bias",
    "The MDP of Figure 6.5 (n_b_actions, mean, std)",
)
_builtin(
    "GamblersProblem-v0",
    "tabular",
    "book",
    "gamblers_problem",
    "Gambler's problem of Example 4.3 (p_h, goal)",
)

# Classic control: Gymnasium's five envs, each a module through the same door as a user's env.
for _m in _CONTROL_MODULES:
    _SPECS[_m.ID] = EnvSpec(_m.ID, "control", _m.make, {}, _m.SUMMARY)


def register(env: ControlEnv, summary: str | None = None) -> ControlEnv:
    """Make ``env`` (from ``from_functions``) reachable by its id everywhere: ``make(id)``,
    ``numbarl.train(algo, id)``, the CLI, and ``gymnasium.make("numbarl/<id>")`` once
    ``numbarl.gym`` is imported. ``make(id, name=value)`` then overrides its named params.

    Registering an id again with the same functions and data is allowed (a module imported
    twice); with different ones, or a built-in id, it is a ValueError. Returns ``env``."""
    if not isinstance(env, ControlEnv):
        raise TypeError(
            f"register needs a ControlEnv built by numbarl.envs.from_functions, got {env!r}"
        )
    old = _SPECS.get(env.id)
    if old is not None:
        if old.env is None:
            raise ValueError(f"{env.id} is a built-in environment id; choose another id")
        if not same_env(old.env, env):
            raise ValueError(
                f"{env.id} is already registered with other functions or data; "
                "choose another id (re-registering the same env is fine)"
            )
        return env
    _SPECS[env.id] = EnvSpec(
        env.id,
        "control",
        env.with_params,
        {},
        summary or f"user env ({env.functions[1].py_func.__module__})",
        env,
    )
    _notify(env.id)
    return env


_LISTENERS: list[Callable[[str], None]] = []


def on_register(listener: Callable[[str], None]) -> None:
    """Call ``listener(id)`` for every env registered from now on (``numbarl.gym`` uses it to
    register new ids with Gymnasium)."""
    _LISTENERS.append(listener)


def _notify(env_id: str) -> None:
    for listener in _LISTENERS:
        listener(env_id)


ENTRY_POINT_GROUP = "numbarl.envs"


def load_module(name_or_path: str) -> Any:
    """Import a module that registers envs: a dotted module name (found on ``sys.path``, the
    current directory first) or a ``.py`` file path. What the CLI's ``--import`` calls."""
    import sys
    from pathlib import Path

    if name_or_path.endswith(".py") or "/" in name_or_path or "\\" in name_or_path:
        path = Path(name_or_path).resolve()
        if not path.is_file():
            raise ValueError(f"--import: no such file {name_or_path!r}")
        name = path.stem
        if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
            return sys.modules[name]
        if str(path.parent) not in sys.path:  # so its own imports and Numba's cache resolve
            sys.path.insert(0, str(path.parent))
        return importlib.import_module(name)
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(name_or_path)
    except ModuleNotFoundError as exc:
        if exc.name != name_or_path.split(".")[0]:
            raise
        raise ValueError(
            f"--import: no module named {name_or_path!r} (looked in the current directory and "
            "sys.path); give a module name or a path to a .py file"
        ) from None


def load_plugins() -> list[str]:
    """Import every module advertised under the ``numbarl.envs`` entry-point group of the
    installed packages (each registers its envs when imported); returns their names."""
    loaded = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        ep.load()
        loaded.append(ep.value)
    return loaded


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


def builder(name: str) -> Callable[..., Any]:
    """The function ``make(name, ...)`` calls."""
    s = spec(name)
    wrapped = getattr(s.build, "__wrapped__", None)
    if wrapped is not None:
        module, function = wrapped
        return getattr(importlib.import_module(f"{__name__}.{module}"), function)
    return s.build


def options(name: str) -> dict[str, Any]:
    """The options ``make(name, ...)`` accepts, with their defaults for this id (for control
    envs: Gymnasium's options and every named constant in ``params``)."""
    s = spec(name)
    if s.env is not None:
        return dict(zip(s.env.param_names, s.env.params.tolist(), strict=True))
    fn = builder(name)
    out = {
        k: p.default
        for k, p in inspect.signature(fn).parameters.items()
        if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD
    }
    module = importlib.import_module(fn.__module__)
    hidden = getattr(module, "OPTIONS_ONLY", ())  # params set through a named option
    for k, v in getattr(module, "PARAMS", {}).items():
        if k not in hidden:
            out.setdefault(k, v)
    out.update(s.defaults)
    return out


def make(name: str, **opts: Any):
    """Build the environment ``name`` (see ``names()``) with Gymnasium's options for it.

    Unknown ids or options raise ValueError naming what is allowed.
    """
    s = spec(name)
    allowed = options(name)
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        raise ValueError(
            f"{name}: unknown option(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(allowed) or 'none'}"
        )
    kwargs = dict(s.defaults)
    kwargs.update(opts)
    return s.build(**kwargs)


__all__ = [
    "ControlEnv",
    "EnvSpec",
    "from_functions",
    "load_module",
    "load_plugins",
    "on_register",
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
