"""One entry point over every algorithm: ``numbarl.train(algo, env, seed=0, **config)``.

Each algorithm is an `AlgoSpec` in `ALGOS`: its config NamedTuple, the family module that runs it
and the environments it serves. Modules are imported lazily, so ``import numbarl`` stays light.
A family module provides, for each algorithm name it hosts:

- ``run(algo, env, cfg, seed, progress) -> (arrays: dict[str, ndarray], history: dict[str, array])``
  where ``history`` holds equal-length columns (an x column ``episode`` or ``step`` and metrics);
- ``evaluate(algo, arrays, env, episodes, seed) -> float64[episodes]`` greedy returns.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import config as _config


class AlgoSpec(NamedTuple):
    name: str
    family: str  # module under numbarl that runs it, e.g. "tabular.train"
    config: str  # "module:ClassName" of the config NamedTuple
    env_kind: str  # "tabular" | "control" | "discrete" | "continuous"
    summary: str
    tuned: dict | None = None  # {env_id: {field: value}} used when the user sets nothing


ALGOS: dict[str, AlgoSpec] = {}


def register_algo(spec: AlgoSpec) -> None:
    ALGOS[spec.name] = spec


def _load(ref: str):
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(f"numbarl.{module}"), attr)


def algo_spec(algo: str) -> AlgoSpec:
    _ensure_registered()
    if not isinstance(algo, str) or algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; known: {', '.join(sorted(ALGOS))}")
    return ALGOS[algo]


def config_class(algo: str) -> type:
    """The config NamedTuple of ``algo`` (a spec may name a factory taking the algo's name)."""
    obj = _load(algo_spec(algo).config)
    return obj if isinstance(obj, type) else obj(algo)


def algorithms() -> list[str]:
    """Names of every registered algorithm."""
    _ensure_registered()
    return sorted(ALGOS)


def tuned_defaults(algo: str, env_id: str | None) -> dict[str, Any]:
    spec = algo_spec(algo)
    if not spec.tuned:
        return {}
    values = dict(spec.tuned.get("*", {}))  # the algorithm's own defaults on every env
    if env_id is not None:
        values.update(spec.tuned.get(env_id, {}))
    return values


def _env_id(env: Any) -> str | None:
    if isinstance(env, str):
        return env
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or getattr(env, "id", None)


def resolve_env(env: Any, env_options: dict[str, Any] | None = None) -> tuple[Any, str]:
    """An env object and its display name from an id string, a TabularMDP, a ControlEnv or a
    Gymnasium env."""
    from numbarl import envs

    if isinstance(env, str):
        return envs.make(env, **(env_options or {})), env
    if env_options:
        raise ValueError("env_options only apply when env is given by name")
    return env, _env_id(env) or type(env).__name__


@dataclass
class Result:
    """What training produced: the learned arrays and a tidy history (one row per episode or
    evaluation step, config fields as columns)."""

    algorithm: str
    env: str
    seed: int
    config: Any
    arrays: dict[str, np.ndarray]
    history: Any  # pandas.DataFrame
    env_options: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def to_csv(self, path: str | Path) -> Path:
        from .results import write_csv

        return write_csv(self.history, path)

    def save(self, path: str | Path) -> Path:
        """Write the learned arrays and metadata to ``path`` (.npz), atomically."""
        path = Path(path)
        meta = {
            "algorithm": self.algorithm,
            "env": self.env,
            "seed": self.seed,
            "config": dict(self.config._asdict()),
            "env_options": self.env_options,
        }
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, __meta__=np.array(json.dumps(meta)), **self.arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Result:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            arrays = {k: data[k] for k in data.files if k != "__meta__"}
        cfg = _config.make_config(config_class(meta["algorithm"]), meta["config"])
        import pandas as pd

        return cls(
            algorithm=meta["algorithm"],
            env=meta["env"],
            seed=int(meta["seed"]),
            config=cfg,
            arrays=arrays,
            history=pd.DataFrame(),
            env_options=meta.get("env_options", {}),
        )


def build_config(algo: str, env_id: str | None, overrides: dict[str, Any] | None = None):
    """The config for ``algo`` on ``env_id``: reference defaults, then the tuned values for that
    env (if any), then the user's overrides; all checked."""
    values = tuned_defaults(algo, env_id)
    values.update(overrides or {})
    return _config.make_config(config_class(algo), values)


def tidy_history(algo: str, env_name: str, seed: int, cfg: Any, columns: dict[str, np.ndarray]):
    import pandas as pd

    df = pd.DataFrame(columns)
    df.insert(0, "seed", seed)
    df.insert(0, "env", env_name)
    df.insert(0, "algorithm", algo)
    for k, v in cfg._asdict().items():
        if k not in df.columns:
            df[k] = v
    return df


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def train(
    algo: str,
    env: Any,
    seed: int = 0,
    *,
    env_options: dict[str, Any] | None = None,
    progress: Callable[[float], None] | None = None,
    **config: Any,
) -> Result:
    """Train ``algo`` on ``env`` (an id from ``numbarl.envs.names()``, a TabularMDP, or a
    Gymnasium env for the deep learners) and return a `Result`.

    Config fields not given take the algorithm's tuned defaults for that env (if it has any),
    else its reference defaults. ``progress(fraction)`` is called as training advances.
    Bad input raises ValueError/TypeError before compiled code runs."""
    spec = algo_spec(algo)
    seed = check_seed(seed)
    env_obj, env_name = resolve_env(env, env_options)
    cfg = build_config(algo, env_name, config)
    family = importlib.import_module(f"numbarl.{spec.family}")
    from .nn.threads import single_threaded_blas

    with single_threaded_blas():  # tiny matrices: BLAS threads only cost (numbarl.nn.threads)
        arrays, columns = family.run(algo, env_obj, cfg, seed, progress)
    history = tidy_history(algo, env_name, seed, cfg, columns)
    return Result(algo, env_name, seed, cfg, arrays, history, dict(env_options or {}))


def evaluate(
    result_or_path: Result | str | Path,
    env: Any = None,
    episodes: int = 100,
    seed: int = 0,
    env_options: dict[str, Any] | None = None,
) -> np.ndarray:
    """Run a trained policy greedily for ``episodes`` episodes; returns float64[episodes]."""
    res = result_or_path if isinstance(result_or_path, Result) else Result.load(result_or_path)
    if isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    seed = check_seed(seed)
    opts = res.env_options if env is None else (env_options or {})
    env_obj, _ = resolve_env(res.env if env is None else env, opts)
    family = importlib.import_module(f"numbarl.{algo_spec(res.algorithm).family}")
    return family.evaluate(res.algorithm, res.arrays, env_obj, int(episodes), seed)


_REGISTERED = False


def _ensure_registered() -> None:
    global _REGISTERED
    if not _REGISTERED:
        _REGISTERED = True
        importlib.import_module("numbarl.algos")
