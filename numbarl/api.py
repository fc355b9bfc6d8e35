"""One entry point over every algorithm: ``numbarl.train(algo, env, seed=0, **config)``.

Each algorithm is a row of `numbarl.algos.ALGOS`: its config NamedTuple, the module hosting it
and the environments it serves. Modules are imported lazily, so ``import numbarl`` stays light.
A family module (``numbarl.tabular.train``, ``numbarl.deep.train``) provides, for each
algorithm name it hosts:

- ``run(algo, env, cfg, seed, progress) -> (arrays: dict[str, ndarray], history: dict[str, array])``
  where ``history`` holds equal-length columns (an x column ``episode`` or ``step`` and metrics);
- ``evaluate(algo, arrays, env, episodes, seed) -> float64[episodes]`` greedy returns.
"""

from __future__ import annotations

import importlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import config as _config
from .algos import ALGOS, AlgoSpec
from .validation import check_seed


def _load(ref: str):
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(f"numbarl.{module}"), attr)


def algo_spec(algo: str) -> AlgoSpec:
    if not isinstance(algo, str) or algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; known: {', '.join(sorted(ALGOS))}")
    return ALGOS[algo]


def config_class(algo: str) -> type:
    """The config NamedTuple of ``algo`` (a spec may name a factory taking the algo's name)."""
    obj = _load(algo_spec(algo).config)
    return obj if isinstance(obj, type) else obj(algo)


def algorithms() -> list[str]:
    """Names of every registered algorithm."""
    return sorted(ALGOS)


def tuned_defaults(algo: str, env_id: str | None) -> dict[str, Any]:
    tuned = algo_spec(algo).tuned
    if not tuned:
        return {}
    values = dict(tuned.get("*", {}))  # the algorithm's own defaults on every env
    if env_id is not None:
        values.update(tuned.get(env_id, {}))
    return values


def resolve_env(env: Any, env_options: dict[str, Any] | None = None) -> tuple[Any, str]:
    """An env object and its display name from an id string, a TabularMDP, a ControlEnv or a
    Gymnasium env."""
    from numbarl import envs

    if isinstance(env, str):
        return envs.make(env, **(env_options or {})), env
    if env_options:
        raise ValueError("env_options only apply when env is given by name")
    return env, _config.env_id(env) or type(env).__name__


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
        """A `Result` (arrays and config, no history) from a file `save` wrote. Anything else
        raises ValueError naming the file; nothing is ever unpickled."""
        path = Path(path)
        meta, arrays = read_save(path)
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


_META_KEYS = ("algorithm", "env", "seed", "config")


def read_save(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metadata, arrays) of a numbarl save; ValueError naming ``path`` if it is not one (not an
    .npz archive, no numbarl metadata, or object arrays, which are never unpickled)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    not_ours = (
        f"{path} is not a numbarl save (an .npz written by Result.save or numbarl train --save)"
    )
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{not_ours}: it is not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "__meta__" not in data.files:
                raise ValueError(f"{not_ours}: it holds no numbarl metadata (__meta__)")
            meta = json.loads(str(data["__meta__"]))
            arrays = {k: data[k] for k in data.files if k != "__meta__"}
    except (ValueError, OSError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        if str(exc).startswith(not_ours):
            raise
        if "allow_pickle" in str(exc) or "pickled" in str(exc):
            exc = "it holds Python objects, and numbarl never unpickles"
        raise ValueError(f"{not_ours}: {exc}") from None
    if not isinstance(meta, dict) or any(k not in meta for k in _META_KEYS):
        raise ValueError(f"{not_ours}: its metadata lacks {', '.join(_META_KEYS)}")
    if meta["algorithm"] not in ALGOS:
        raise ValueError(f"{path}: saved by an unknown algorithm {meta['algorithm']!r}")
    return meta, arrays


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
