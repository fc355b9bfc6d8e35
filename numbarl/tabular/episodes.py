"""What every tabular control driver shares: the config record, the initial table, time limits
and step budgets, the epsilon schedule, the one-uniform epsilon-greedy choice, per-episode output
arrays, and the Python-side checks (`make_control_config`, `as_mdp`, `check_finished`).

`numbarl.tabular.td_control`, `numbarl.tabular.mc_control`, the door `numbarl.tabular.control`
and `numbarl.tabular.off_policy` (off-policy Monte Carlo prediction) import from here; this
module imports none of them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from numbarl.config import make_config
from numbarl.envs.tabular import TabularMDP, validate
from numbarl.tabular.policies import best_allowed, count_allowed, nth_allowed, nth_best
from numbarl.validation import NON_NEGATIVE, UNIT, UNIT_OPEN_LOW, check_finite

# ---------------------------------------------------------------------------------------------
# Config


class ControlConfig(NamedTuple):
    """Hyperparameters of every tabular control method (one record, so each driver compiles once).

    ``alpha`` is the TD step size (the Monte Carlo methods average returns, 1/N); ``n`` is the
    n of n-step Sarsa; ``q0`` the initial action value; ``epsilon_decay``/``epsilon_min`` give a
    per-episode schedule; ``max_total_steps`` a step budget (0: none); ``max_episode_steps`` a
    time limit on top of the MDP's (0: the MDP's own)."""

    alpha: float = 0.5
    gamma: float = 1.0
    epsilon: float = 0.1
    episodes: int = 500
    n: int = 1
    q0: float = 0.0
    epsilon_decay: float = 1.0
    epsilon_min: float = 0.0
    max_total_steps: int = 0
    max_episode_steps: int = 0

    # Ranges beyond those implied by the names (numbarl.config): (low, high, low_inc, high_inc).
    _ranges = {
        "alpha": UNIT_OPEN_LOW,
        "epsilon_decay": UNIT_OPEN_LOW,
        "epsilon_min": UNIT,
        "max_total_steps": NON_NEGATIVE,
        "max_episode_steps": NON_NEGATIVE,
    }


def make_control_config(**config: Any) -> ControlConfig:
    """A checked `ControlConfig`: unknown fields, wrong types and out-of-range values raise
    ValueError/TypeError naming the field (alpha in (0, 1], gamma/epsilon/epsilon_min in
    [0, 1], epsilon_decay in (0, 1], episodes/n >= 1, step counts >= 0, q0 finite)."""
    cfg = make_config(ControlConfig, config)
    check_finite("ControlConfig.q0", cfg.q0)
    if cfg.epsilon_min > cfg.epsilon:
        raise ValueError(
            f"ControlConfig.epsilon_min must be <= epsilon ({cfg.epsilon!r}), "
            f"got {cfg.epsilon_min!r}"
        )
    return cfg


class ControlResult(NamedTuple):
    """What `control` returns. ``q`` is the learned table float64[S, A] (for Double Q-learning
    the mean of ``q1`` and ``q2``, which are None for the other methods); ``returns``
    float64[E], ``lengths`` int64[E] and ``first_actions`` int64[E] are per episode;
    ``n_episodes`` counts completed episodes."""

    algo: str
    config: ControlConfig
    q: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray
    first_actions: np.ndarray
    n_episodes: int
    q1: np.ndarray | None = None
    q2: np.ndarray | None = None


# ---------------------------------------------------------------------------------------------
# Compiled pieces of every driver


@njit(cache=True)
def initial_q(mdp: TabularMDP, q0: float) -> np.ndarray:
    """float64[S, A]: ``q0`` for allowed actions of non-terminal states, 0 elsewhere."""
    q = np.zeros((mdp.n_states, mdp.n_actions))
    for s in range(mdp.n_states):
        if not mdp.terminal[s]:
            for a in range(mdp.n_actions):
                if mdp.allowed[s, a]:
                    q[s, a] = q0
    return q


# Without a time limit, an episode that runs this many steps stops the run (a policy that never
# reaches a terminal state, e.g. Monte Carlo ES's greedy policy walking into a wall forever).
EPISODE_CAP = 1_000_000


@njit(cache=True, inline="always")
def time_limit(mdp: TabularMDP, max_episode_steps: int) -> tuple[int, int]:
    """(limit, stop): the effective time limit (the smaller positive of the two; <= 0 means
    none) and the step count that ends an episode (``limit``, or `EPISODE_CAP` without one)."""
    limit = mdp.max_steps
    if max_episode_steps > 0 and (limit <= 0 or max_episode_steps < limit):
        limit = max_episode_steps
    return limit, (limit if limit > 0 else EPISODE_CAP)


@njit(cache=True, inline="always")
def episode_epsilon(cfg: ControlConfig, eps_k: float) -> float:
    return max(cfg.epsilon_min, eps_k)


@njit(cache=True)
def episode_outputs(episodes: int):
    return (
        np.zeros(episodes),
        np.zeros(episodes, dtype=np.int64),
        np.full(episodes, -1, dtype=np.int64),
    )


@njit(cache=True, inline="always")
def driver_start(mdp: TabularMDP, cfg: ControlConfig):
    """What every control driver starts from: (q float64[S, A] (`initial_q`), returns
    float64[E], lengths int64[E], first_actions int64[E] (-1), limit, stop (`time_limit`))."""
    q = initial_q(mdp, cfg.q0)
    returns, lengths, first_actions = episode_outputs(cfg.episodes)
    limit, stop = time_limit(mdp, cfg.max_episode_steps)
    return q, returns, lengths, first_actions, limit, stop


@njit(cache=True, inline="always")
def epsilon_greedy_u(q: np.ndarray, s: int, allowed: np.ndarray, epsilon: float, u: float) -> int:
    """Epsilon-greedy action in state ``s`` of ``q`` float64[S, A] over ``allowed`` bool[S, A]
    from one uniform ``u`` in [0, 1): if ``u < epsilon``, the allowed action of index
    ``floor(u / epsilon * n_allowed)``; else the greedy action, ties broken by
    ``(u - epsilon) / (1 - epsilon)`` (each is again uniform given its branch). One draw per step,
    always, keeps the hot loop free of conditional generator calls."""
    values, ok = q[s], allowed[s]
    if u < epsilon:
        return nth_allowed(ok, int(u / epsilon * count_allowed(ok)))
    first, best, n_best = best_allowed(values, ok)
    if n_best <= 1:
        return first
    return nth_best(values, ok, first, best, int((u - epsilon) / (1.0 - epsilon) * n_best))


@njit(cache=True)
def grow(buf: np.ndarray) -> np.ndarray:
    out = np.empty(2 * buf.shape[0], dtype=buf.dtype)
    out[: buf.shape[0]] = buf
    return out


# ---------------------------------------------------------------------------------------------
# Python-side checks


def as_mdp(mdp: TabularMDP | str) -> TabularMDP:
    """A validated `TabularMDP`, built with ``numbarl.envs.make`` when given an id."""
    if isinstance(mdp, str):
        from numbarl import envs

        if envs.spec(mdp).kind != "tabular":
            raise ValueError(
                f"{mdp!r} is not a tabular environment; tabular: {envs.names('tabular')}"
            )
        mdp = envs.make(mdp)
    return validate(mdp, "mdp")


def check_finished(algo: str, cfg: Any, n_episodes: int, total_steps: int = 0) -> None:
    """RuntimeError if a run stopped early for a reason other than its step budget: an episode
    ran `EPISODE_CAP` steps in an MDP without a time limit."""
    budget = getattr(cfg, "max_total_steps", 0)
    if n_episodes < cfg.episodes and (budget <= 0 or total_steps < budget):
        raise RuntimeError(
            f"{algo}: episode {n_episodes} did not end within {EPISODE_CAP:,} steps (the MDP has "
            "no time limit and the policy never reached a terminal state); set max_episode_steps"
        )
