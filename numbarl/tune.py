"""Hyperparameter search with Optuna: ``tune(algo, env, trials)`` and ``numbarl tune``.

Each trial draws a config from the algorithm's search space (`SPACES`, one readable table, as
rl-zoo's ``hyperparams_opt.py`` keeps them) with a seeded TPE sampler, trains it on ``seeds``
seeds (on local worker processes or Ray, as `numbarl.sweep` runs jobs) and scores each run by
its final policy on fresh episodes:

- ``final_return``: mean greedy return of the final policy over ``eval_episodes`` fresh episodes
  (maximised);
- ``steps_to_solve``: the first ``step`` whose greedy evaluation during training reaches the
  threshold (Gymnasium's ``reward_threshold`` unless given), provided the final policy also
  reaches it on fresh episodes; an unsolved run counts as twice its last step (minimised);
- ``seconds_to_solve``: the run's training seconds up to that step (seconds x solve step / last
  step, exact when the config stops at the threshold); unsolved: twice its seconds (minimised).
  Wall time varies from run to run, so this objective is not reproducible.

The trial's value is the mean over seeds; after each seed the running mean is reported as an
intermediate value (seeds are the pruner's steps) and a `MedianPruner` stops trials that are
worse than the median of earlier trials at the same seed. The search is resumable through
Optuna's storage (``storage="sqlite:///study.db"``): ``trials`` is the total the study should
hold, so rerunning the same call after an interruption runs only the missing trials, and a
larger ``trials`` continues the study. Trials run one after another (TPE sees every earlier
result, so the same seed gives the same study); the seeds of a trial run in parallel.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from . import api
from .errors import TrainingDiverged
from .results import write_csv
from .sweep import Job, JobResult, ModuleRef, open_runner, resolve_imports

__all__ = ["OBJECTIVES", "SPACES", "TuneResult", "best_row", "sample_config", "tune"]

# Search spaces, one row per algorithm: field -> ("log", low, high) | ("float", low, high) |
# ("int", low, high) | ("cat", (choices...)). Fields not listed keep the tuned default for the
# env (else the reference default); fixed values (``config=`` / ``--set``) override both.
_GAMMAS = (0.9, 0.95, 0.98, 0.99, 0.995)
_LAMBDAS = (0.8, 0.9, 0.92, 0.95, 0.98, 1.0)
SPACES: dict[str, dict[str, tuple]] = {
    "ppo": {
        "lr": ("log", 1e-4, 1e-2),
        "n_envs": ("cat", (4, 8, 16)),
        "n_steps": ("cat", (16, 32, 64, 128)),
        "n_epochs": ("int", 1, 10),
        "n_minibatches": ("cat", (1, 2, 4, 8)),
        "gamma": ("cat", _GAMMAS),
        "gae_lambda": ("cat", _LAMBDAS),
        "clip_coef": ("cat", (0.1, 0.2, 0.3)),
        "ent_coef": ("log", 1e-6, 0.05),
        "hidden": ("cat", (32, 64)),
        # one hidden layer: CartPole's row (a search over CPU per solved seed chose it)
        "n_layers": ("cat", (1, 2)),
    },
    "a2c": {
        "lr": ("log", 1e-4, 1e-2),
        "n_steps": ("cat", (5, 8, 16, 32)),
        "gamma": ("cat", _GAMMAS),
        "gae_lambda": ("cat", _LAMBDAS),
        "ent_coef": ("log", 1e-6, 0.05),
        "vf_coef": ("float", 0.25, 1.0),
        "max_grad_norm": ("cat", (0.3, 0.5, 1.0, 5.0)),
        "hidden": ("cat", (32, 64)),
    },
    "dqn": {
        "lr": ("log", 1e-4, 1e-2),
        "batch_size": ("cat", (32, 64, 128)),
        "buffer_size": ("cat", (5_000, 10_000, 50_000)),
        "learning_starts": ("cat", (0, 500, 1_000)),
        # updates in bursts (rl-zoo's CartPole row: 128 every 256 steps) as well as every step
        "train_frequency": ("cat", (1, 2, 4, 16, 64, 256)),
        "gradient_steps": ("cat", (1, 2, 8, 32, 128)),
        "target_update_every": ("cat", (10, 100, 250, 500, 1_000)),
        "gamma": ("cat", _GAMMAS),
        "exploration_fraction": ("float", 0.05, 0.5),
        "epsilon_end": ("float", 0.01, 0.1),
        "hidden": ("cat", (32, 64, 128)),
        "double": ("cat", (False, True)),
        "n_step": ("cat", (1, 3)),
    },
    "q_learning": {"alpha": ("log", 0.01, 1.0), "epsilon": ("float", 0.01, 0.3)},
    "sarsa": {"alpha": ("log", 0.01, 1.0), "epsilon": ("float", 0.01, 0.3)},
}

OBJECTIVES = {
    "final_return": "maximize",
    "steps_to_solve": "minimize",
    "seconds_to_solve": "minimize",
}


class TuneResult(NamedTuple):
    best_params: dict[str, Any]
    best_value: float
    trials: pd.DataFrame  # one row per trial: number, state, value, seeds, seconds, params
    study: Any  # the optuna.Study


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def space(algo: str) -> dict[str, tuple]:
    """The search space of ``algo``; ValueError naming the algorithms that have one."""
    api.algo_spec(algo)  # an unknown algorithm fails with the list of known ones
    if algo not in SPACES:
        raise ValueError(
            f"no search space for {algo!r}; tune one of {', '.join(sorted(SPACES))} "
            "(or add a row to numbarl.tune.SPACES)"
        )
    return SPACES[algo]


def sample_config(trial: Any, algo: str, fixed: Mapping[str, Any] = ()) -> dict[str, Any]:
    """Draw ``algo``'s search-space fields not in ``fixed`` from the Optuna ``trial``."""
    out: dict[str, Any] = {}
    for name, (kind, *args) in space(algo).items():
        if name in fixed:
            continue
        if kind == "log":
            out[name] = trial.suggest_float(name, args[0], args[1], log=True)
        elif kind == "float":
            out[name] = trial.suggest_float(name, args[0], args[1])
        elif kind == "int":
            out[name] = trial.suggest_int(name, args[0], args[1])
        elif kind == "cat":
            out[name] = trial.suggest_categorical(name, list(args[0]))
        else:  # a typo in SPACES
            raise ValueError(f"SPACES[{algo!r}][{name!r}]: unknown kind {kind!r}")
    return out


def _threshold(env: str, threshold: float | None) -> float:
    if threshold is not None:
        return float(threshold)
    try:
        import gymnasium

        value = gymnasium.spec(env).reward_threshold
    except Exception:
        value = None
    if value is None:
        raise ValueError(
            f"{env} has no reward_threshold to define 'solved'; pass threshold= (--threshold)"
        )
    return float(value)


def score(objective: str, result: JobResult, threshold: float) -> float:
    """One run's score under ``objective`` (see the module docstring)."""
    h = result.history
    final = float(h["final_return"].iloc[0])
    if objective == "final_return":
        return final
    reached = np.flatnonzero(h["eval_return"].to_numpy() >= threshold)
    last = float(h["step"].iloc[-1])
    solved = reached.size > 0 and final >= threshold
    if objective == "steps_to_solve":
        return float(h["step"].iloc[reached[0]]) if solved else 2.0 * last
    if solved:
        return result.seconds * float(h["step"].iloc[reached[0]]) / max(last, 1.0)
    return 2.0 * result.seconds


def _round(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value != 0.0:
        return float(f"{value:.3g}")
    return value


def best_row(env: str, params: Mapping[str, Any]) -> str:
    """The best config as a row for a tuned table (floats to 3 significant digits)."""
    fields = ", ".join(f"{k}={_round(v)!r}" for k, v in params.items())
    return f'"{env}": dict({fields}),'


def _trials_frame(study: Any, algo: str, env: str, objective: str) -> pd.DataFrame:
    rows = []
    for t in study.trials:
        row = {
            "algorithm": algo,
            "env": env,
            "objective": objective,
            "trial": t.number,
            "state": t.state.name,
            "value": t.value if t.value is not None else float("nan"),
            "seeds": len(t.intermediate_values),
            "seconds": t.user_attrs.get("seconds", float("nan")),
        }
        row.update(t.params)
        rows.append(row)
    return pd.DataFrame(rows)


def _open_study(optuna: Any, storage: str | None, name: str, direction: str, sampler, pruner):
    try:
        return optuna.create_study(
            storage=storage,
            study_name=name,
            direction=direction,
            sampler=sampler,
            pruner=pruner,
            load_if_exists=True,
        )
    except Exception as exc:  # SQLAlchemy, OS and Optuna errors all mean the same to a user
        raise ValueError(f"cannot open study storage {storage!r}: {exc}") from None


def tune(
    algo: str,
    env: str,
    trials: int,
    *,
    seeds: int = 3,
    objective: str = "final_return",
    eval_episodes: int = 20,
    threshold: float | None = None,
    seed: int = 0,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    out: str | Path | None = None,
    env_options: dict[str, Any] | None = None,
    imports: Sequence[str | ModuleRef] = (),
    progress: Callable[[int, int], None] | None = None,
    **config: Any,
) -> TuneResult:
    """Search ``algo``'s config on ``env`` until the study holds ``trials`` finished trials.

    Each trial trains seeds ``0 .. seeds - 1`` (the same seeds for every trial, so trials are
    compared on the same draws) and scores each run by ``objective``. ``seed`` seeds the TPE
    sampler. ``config`` fields are fixed for every trial (and left out of the search). ``out``
    receives the trials as tidy CSV (rewritten after every trial). ``imports``: modules that
    register user envs, imported here and by every worker (as `numbarl.sweep.sweep`).
    ``progress(done, total)`` is called per trial."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose from {', '.join(OBJECTIVES)}")
    for name, value, low in (
        ("trials", trials, 1),
        ("seeds", seeds, 1),
        ("eval_episodes", eval_episodes, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    seed = api.check_seed(seed)
    fields = space(algo)
    unknown = sorted(set(fields) - set(api.config_class(algo)._fields))
    if unknown:  # the table and the config drifted apart
        raise ValueError(f"SPACES[{algo!r}] names fields {unknown} that {algo} does not have")
    refs = resolve_imports(imports)  # first: they may register ``env``
    api.build_config(algo, env, dict(config))  # bad fixed fields fail before anything runs
    api.resolve_env(env, env_options)
    if objective != "final_return":
        if api.algo_spec(algo).env_kind == "tabular":
            raise ValueError(
                f"objective {objective!r} needs greedy evaluations during training (the deep "
                f"learners' eval_return); {algo} has none: use final_return"
            )
        threshold = _threshold(env, threshold)
    optuna = _optuna()
    direction = OBJECTIVES[objective]
    name = study_name or f"{algo}-{env}-{objective}"
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    study = _open_study(
        optuna, storage, name, direction, optuna.samplers.TPESampler(seed=seed), pruner
    )
    if study.direction.name.lower() != direction:
        raise ValueError(
            f"study {name!r} in {storage!r} was created to {study.direction.name.lower()}, "
            f"not to {direction} {objective}; give another --study-name"
        )
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    done = len(study.get_trials(deepcopy=False, states=finished))
    # A sampler seeded by the trials already done: a fresh study with the same seed draws the
    # same trials, and a resumed one continues deterministically.
    study.sampler = optuna.samplers.TPESampler(seed=seed + done)
    todo = max(0, trials - done)
    train_seeds = list(range(seeds))
    timed = objective == "seconds_to_solve"  # warm each worker first: no cache loading timed

    def write() -> None:
        if out is not None:
            write_csv(_trials_frame(study, algo, env, objective), out)

    with contextlib.ExitStack() as stack:
        runner = stack.enter_context(open_runner(backend, workers, address, jobs=seeds))

        def run_trial(trial: Any) -> float:
            params = sample_config(trial, algo, config)
            cfg = {**config, **params}
            scores: list[float] = []
            seconds = 0.0
            wave = max(1, runner.workers)
            for start in range(0, seeds, wave):
                batch = train_seeds[start : start + wave]
                jobs = [
                    Job(algo, env, s, cfg, env_options, eval_episodes, timed, refs) for s in batch
                ]
                results = dict(runner.run(jobs))
                failed = [r for r in results.values() if isinstance(r, Exception)]
                if failed:  # TrainingDiverged marks the trial failed; anything else stops
                    raise failed[0]
                for i in range(len(batch)):  # in seed order, whatever finished first
                    scores.append(score(objective, results[i], threshold or 0.0))
                    seconds += results[i].seconds
                    trial.set_user_attr("seconds", seconds)
                    trial.report(float(np.mean(scores)), step=len(scores) - 1)
                    if trial.should_prune():
                        raise optuna.TrialPruned()
            return float(np.mean(scores))

        def callback(study: Any, trial: Any) -> None:
            write()
            if progress is not None:
                finished_now = len(study.get_trials(deepcopy=False, states=finished))
                progress(finished_now, trials)

        if todo:
            study.optimize(
                run_trial, n_trials=todo, catch=(TrainingDiverged,), callbacks=[callback]
            )
    write()
    frame = _trials_frame(study, algo, env, objective)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise ValueError(f"study {name!r} has no completed trial (all pruned or failed)")
    best = study.best_trial
    return TuneResult(dict(best.params), float(best.value), frame, study)
