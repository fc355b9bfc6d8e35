"""Prediction: estimate v_pi of a given policy on any `TabularMDP` (Sutton & Barto, Ch. 5-7, 12).

Methods, by name (njit driver, ``PredictionConfig.variant``):

- ``mc_first_visit``: first-visit MC with sample averages, book 5.1 (`run_mc`, 0)
- ``mc_every_visit``: every-visit MC with sample averages (`run_mc`, 1)
- ``mc``: constant-alpha MC, book 6.1 (`run_mc`, 2)
- ``td0``: TD(0), book 6.2 (`run_td0`)
- ``n_step_td``: n-step TD, book 7.1 (`run_n_step_td`)
- ``lambda_return``: the offline lambda-return algorithm, book 12.1 (`run_offline_lambda_return`)
- ``td_lambda`` / ``td_lambda_replacing``: TD(lambda) with accumulating / replacing traces,
  book 12.2 (`run_td_lambda`, 0 / 1)
- ``true_online_td_lambda``: true online TD(lambda), book 12.5 (`run_true_online_td_lambda`)
- ``batch_td0`` / ``batch_mc``: batch updating, book 6.3 and Figure 6.2 right (`run_batch`,
  0 / 1)

Every driver has the signature ``driver(mdp, pi, v0, cfg, v_true, rng) -> (v, history, rms)``:
``pi`` float64[S, A], ``v0`` float64[S] (terminal entries 0), ``cfg`` a `PredictionConfig`,
``v_true`` float64[S] or float64[0], ``rng`` a ``np.random.Generator``. It returns the final
``v`` float64[S] and either the estimate after each episode ``history`` float64[E, S] (when
``v_true`` is empty; then ``rms`` is float64[0]) or only the RMS error over the non-terminal
states after each episode ``rms`` float64[E] (when ``v_true`` has S entries; then ``history`` is
float64[0, S]), which keeps big sweeps small. With ``rng`` last, ``numbarl.runs.run_many(driver,
runs, seed, mdp, pi, v0, cfg, v_true)`` runs seeded repetitions on threads. The drivers and
their one-step kernels live in `numbarl.tabular.prediction_drivers` and are importable from here.

Conventions
- Terminal states keep value 0. Every episode draws its actions with ``sample_action(pi[s])``
  then steps with ``envs.tabular.step``, in that order, so all methods see the same trajectories
  from the same generator state (`sample_episode` reproduces them).
- The time limit ``mdp.max_steps`` (> 0) truncates an episode: TD-style methods (TD(0), n-step,
  lambda-return, TD(lambda), true online) bootstrap from the state reached; Monte Carlo methods
  use the return observed up to the limit.
- Offline methods (MC, lambda-return) compute every target of an episode from the values at the
  start of the episode, then apply the updates in time order t = 0..T-1, so lambda = 1 gives
  constant-alpha MC exactly.
- A run whose values become NaN or infinite (or whose batch updates do not converge within
  ``max_sweeps``) stops: the rows of ``history``/``rms`` from that episode on are NaN, and the
  Python wrappers raise naming the episode.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from numbarl import config as _config
from numbarl.envs.tabular import TabularMDP, validate
from numbarl.runs import run_many, spawn_rngs
from numbarl.tabular.policies import check_policy
from numbarl.tabular.prediction_drivers import (
    BATCH_MC,
    BATCH_TD0,
    MC_CONSTANT_ALPHA,
    MC_EVERY_VISIT,
    MC_FIRST_VISIT,
    TRACE_ACCUMULATING,
    TRACE_REPLACING,
    discounted_returns,
    lambda_returns,
    n_step_return,
    rms_error,
    rms_errors,
    run_batch,
    run_mc,
    run_n_step_td,
    run_offline_lambda_return,
    run_td0,
    run_td_lambda,
    run_true_online_td_lambda,
    sample_episode,
    td_error,
    true_online_update,
    update_trace,
)
from numbarl.validation import AT_LEAST_ONE, POSITIVE


class PredictionConfig(NamedTuple):
    """Hyperparameters of every prediction method (fields a method does not use are ignored).

    ``alpha`` step size (> 0); ``gamma`` discount in [0, 1]; ``lam`` lambda in [0, 1]; ``n``
    steps of n-step TD (>= 1); ``episodes`` (>= 1); ``variant`` the method's variant code
    (MC_*, TRACE_*, BATCH_*; set from the method name by `make_config`); batch methods only:
    ``tol`` (> 0) stop a batch when every visited state's mean increment per visit,
    ``|sum of errors| / visits``, is below it, ``max_sweeps`` (>= 1) passes allowed per episode.
    """

    alpha: float = 0.1
    gamma: float = 1.0
    lam: float = 0.0
    n: int = 1
    episodes: int = 100
    variant: int = 0
    tol: float = 1e-6
    max_sweeps: int = 1_000_000

    _ranges = {  # read by numbarl.config.make_config
        "tol": POSITIVE,
        "max_sweeps": AT_LEAST_ONE,
        "variant": (0.0, 2.0, True, True),
    }


# ---------------------------------------------------------------------------------------------
# Python API


class ValueResult(NamedTuple):
    """``v`` float64[S] final estimate; ``history`` float64[E, S] estimate after each episode
    (None in RMS-only mode); ``rms_error`` float64[E] over the non-terminal states (None without
    true values). `evaluate_many` stacks a leading run axis R on each."""

    v: np.ndarray
    history: np.ndarray | None
    rms_error: np.ndarray | None


_LAMBDA = ("alpha", "gamma", "lam", "episodes")
_BATCH = ("alpha", "gamma", "episodes", "tol", "max_sweeps")
_LAMBDA_DEFAULTS = {"alpha": 0.4, "lam": 0.8, "episodes": 10}  # Figures 12.3-12.8 use 10

# name -> (driver, variant, fields the method reads, default overrides)
_METHODS: dict[str, tuple[Any, int, tuple[str, ...], dict[str, Any]]] = {
    "mc_first_visit": (run_mc, MC_FIRST_VISIT, ("gamma", "episodes"), {}),
    "mc_every_visit": (run_mc, MC_EVERY_VISIT, ("gamma", "episodes"), {}),
    "mc": (run_mc, MC_CONSTANT_ALPHA, ("alpha", "gamma", "episodes"), {"alpha": 0.02}),
    "td0": (run_td0, 0, ("alpha", "gamma", "episodes"), {}),
    "n_step_td": (
        run_n_step_td,
        0,
        ("alpha", "gamma", "n", "episodes"),
        {"alpha": 0.4, "n": 4, "episodes": 10},
    ),
    "lambda_return": (run_offline_lambda_return, 0, _LAMBDA, _LAMBDA_DEFAULTS),
    "td_lambda": (run_td_lambda, TRACE_ACCUMULATING, _LAMBDA, _LAMBDA_DEFAULTS),
    "td_lambda_replacing": (run_td_lambda, TRACE_REPLACING, _LAMBDA, _LAMBDA_DEFAULTS),
    "true_online_td_lambda": (
        run_true_online_td_lambda,
        0,
        _LAMBDA,
        _LAMBDA_DEFAULTS,
    ),
    "batch_td0": (run_batch, BATCH_TD0, _BATCH, {"alpha": 0.001}),
    "batch_mc": (run_batch, BATCH_MC, _BATCH, {"alpha": 0.001}),
}
METHODS: tuple[str, ...] = tuple(_METHODS)


def _method(method: str):
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    return _METHODS[method]


def driver(method: str):
    """The njit driver running ``method`` (call it with `make_config(method, ...)`)."""
    return _method(method)[0]


def config_fields(method: str) -> tuple[str, ...]:
    """The `PredictionConfig` fields ``method`` reads (and `make_config` accepts for it)."""
    return _method(method)[2]


def make_config(method: str, **config: Any) -> PredictionConfig:
    """The validated `PredictionConfig` of ``method``: the method's defaults, then ``config``.

    Only the fields the method reads are accepted (e.g. ``lam`` for the lambda methods, ``n``
    for n_step_td, ``tol``/``max_sweeps`` for batch ones); ``variant`` is set from the name.
    Raises ValueError (unknown field, value out of range) or TypeError (wrong type)."""
    _, variant, fields, defaults = _method(method)
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise ValueError(
            f"{method}: unknown config field(s) {', '.join(unknown)}; allowed: {', '.join(fields)}"
        )
    return _config.make_config(PredictionConfig, {**defaults, **config}, variant=variant)


def initial_values(mdp: TabularMDP, v0: float | np.ndarray = 0.0) -> np.ndarray:
    """float64[S] initial estimates: a number fills the non-terminal states (terminal ones 0);
    an array must have shape (S,), be finite and be 0 at terminal states."""
    if isinstance(v0, bool):
        raise TypeError(f"v0 must be a number or an array of shape ({mdp.n_states},), got {v0!r}")
    if np.ndim(v0) == 0:
        try:
            x = float(v0)
        except (TypeError, ValueError):
            raise TypeError(
                f"v0 must be a number or an array of shape ({mdp.n_states},), got {v0!r}"
            ) from None
        if not np.isfinite(x):
            raise ValueError(f"v0 must be finite, got {v0!r}")
        return np.where(mdp.terminal, 0.0, x)
    arr = np.array(v0, dtype=np.float64)
    if arr.shape != (mdp.n_states,):
        raise ValueError(f"v0 must have shape ({mdp.n_states},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("v0 must be finite")
    if np.any(arr[mdp.terminal] != 0.0):
        bad = np.flatnonzero(mdp.terminal & (arr != 0.0))[0]
        raise ValueError(f"v0[{bad}] = {arr[bad]!r}: terminal states must have value 0")
    return np.ascontiguousarray(arr)


def _true_values(mdp: TabularMDP, true_values) -> np.ndarray:
    arr = np.array(true_values, dtype=np.float64)
    if arr.shape != (mdp.n_states,):
        raise ValueError(f"true_values must have shape ({mdp.n_states},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("true_values must be finite")
    return np.ascontiguousarray(arr)


def _check_episodes_end(mdp: TabularMDP, pi: np.ndarray) -> None:
    """Without a time limit, every state reachable under pi must be able to reach a terminal
    state, or compiled code would loop forever."""
    if mdp.max_steps > 0:
        return
    edges = np.einsum("sa,sat->st", pi, mdp.p) > 0.0
    edges[mdp.terminal] = False
    reach = mdp.start > 0.0
    while True:
        grown = reach | (reach @ edges)
        if np.array_equal(grown, reach):
            break
        reach = grown
    ends = mdp.terminal.copy()
    while True:
        grown = ends | (edges @ ends)
        if np.array_equal(grown, ends):
            break
        ends = grown
    stuck = np.flatnonzero(reach & ~ends)
    if stuck.size:
        raise ValueError(
            f"episodes never end under this policy from state(s) {stuck[:10].tolist()} and the "
            "MDP has no time limit (max_steps <= 0); give the MDP a max_steps or another policy"
        )


def _prepare(method, mdp, policy, v0, true_values, history, config):
    drv, _, _, _ = _method(method)
    mdp = validate(mdp, "mdp")
    pi = check_policy(policy, mdp)
    cfg = make_config(method, **config)
    v_init = initial_values(mdp, v0)
    if not isinstance(history, bool | np.bool_):
        raise TypeError(f"history must be True or False, got {history!r}")
    truth = None if true_values is None else _true_values(mdp, true_values)
    _check_episodes_end(mdp, pi)
    rms_only = truth is not None and not history
    v_arg = truth if rms_only else np.empty(0)
    return drv, mdp, pi, cfg, v_init, truth, v_arg, rms_only


def _finish(method, mdp, truth, rms_only, v, hist, rms) -> ValueResult:
    trace = rms if rms_only else hist.sum(axis=-1)
    bad = ~np.isfinite(trace)
    if bad.any():
        where = np.argwhere(bad)[0]
        run = f"run {where[0]}, " if trace.ndim == 2 else ""
        hint = (
            "the batch updates diverged or did not converge within max_sweeps; lower alpha "
            "(alpha * visits per state must stay below about 1) or raise tol/max_sweeps"
            if method.startswith("batch")
            else "the step size is too large for this MDP; lower alpha"
        )
        raise FloatingPointError(
            f"{method}: values became non-finite in {run}episode {where[-1] + 1}; {hint}"
        )
    if rms_only:
        return ValueResult(v, None, rms)
    err = None
    if truth is not None:
        flat = hist.reshape(-1, mdp.n_states)
        err = rms_errors(flat, truth, mdp.terminal).reshape(hist.shape[:-1])
    return ValueResult(v, hist, err)


def evaluate(
    method: str,
    mdp: TabularMDP,
    policy: np.ndarray,
    v0: float | np.ndarray = 0.0,
    seed: int | np.random.Generator = 0,
    *,
    true_values: np.ndarray | None = None,
    history: bool = True,
    **config: Any,
) -> ValueResult:
    """Estimate v_pi of ``policy`` float64[S, A] on ``mdp`` with ``method`` (see `METHODS`).

    ``v0``: initial values (`initial_values`). ``seed``: an integer (the run uses the first
    generator of ``SeedSequence(seed).spawn``, so it equals run 0 of `evaluate_many`) or a
    ``np.random.Generator`` (advanced in place). ``true_values`` float64[S] adds the RMS error
    after each episode; with ``history=False`` only that is kept (float64[E], no [E, S] table).
    ``config``: `PredictionConfig` fields the method reads. Raises ValueError/TypeError on bad
    input and FloatingPointError naming the episode if the values stop being finite."""
    drv, mdp, pi, cfg, v_init, truth, v_arg, rms_only = _prepare(
        method, mdp, policy, v0, true_values, history, config
    )
    if isinstance(seed, np.random.Generator):
        rng = seed
    else:
        rng = spawn_rngs(seed, 1)[0]
    v, hist, rms = drv(mdp, pi, v_init, cfg, v_arg, rng)
    return _finish(method, mdp, truth, rms_only, v, hist, rms)


def evaluate_many(
    method: str,
    mdp: TabularMDP,
    policy: np.ndarray,
    v0: float | np.ndarray = 0.0,
    runs: int = 100,
    seed: int = 0,
    *,
    true_values: np.ndarray | None = None,
    history: bool = True,
    threads: int | None = None,
    **config: Any,
) -> ValueResult:
    """`evaluate` repeated for ``runs`` independent runs (run i uses the i-th generator spawned
    from ``seed``) on threads via `numbarl.runs.run_many`; byte-identical whatever ``threads``.
    Returns a `ValueResult` of stacked arrays: v [R, S], history [R, E, S], rms_error [R, E]."""
    drv, mdp, pi, cfg, v_init, truth, v_arg, rms_only = _prepare(
        method, mdp, policy, v0, true_values, history, config
    )
    v, hist, rms = run_many(drv, runs, seed, mdp, pi, v_init, cfg, v_arg, threads=threads)
    return _finish(method, mdp, truth, rms_only, v, hist, rms)


__all__ = [
    "BATCH_MC",
    "BATCH_TD0",
    "MC_CONSTANT_ALPHA",
    "MC_EVERY_VISIT",
    "MC_FIRST_VISIT",
    "METHODS",
    "TRACE_ACCUMULATING",
    "TRACE_REPLACING",
    "PredictionConfig",
    "ValueResult",
    "config_fields",
    "discounted_returns",
    "driver",
    "evaluate",
    "evaluate_many",
    "initial_values",
    "lambda_returns",
    "make_config",
    "n_step_return",
    "rms_error",
    "rms_errors",
    "run_batch",
    "run_mc",
    "run_n_step_td",
    "run_offline_lambda_return",
    "run_td0",
    "run_td_lambda",
    "run_true_online_td_lambda",
    "sample_episode",
    "td_error",
    "true_online_update",
    "update_trace",
]
