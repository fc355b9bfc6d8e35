"""Distributing updates (Sutton & Barto, Sections 8.5 and 8.6): expected against sample updates
(Figure 8.7) and trajectory sampling against uniform sweeps (Figure 8.8).

Drivers take a NamedTuple config of scalars (or plain scalars) and an ``np.random.Generator``
(advanced in place: the same generator state gives the same bytes) and are ``nogil`` for
`numbarl.runs.run_many`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from numbarl.config import make_config
from numbarl.validation import AT_LEAST_ONE, POSITIVE, UNIT_OPEN_LOW

__all__ = [
    "TrajectorySamplingConfig",
    "greedy_start_value",
    "make_trajectory_sampling_config",
    "random_task",
    "run_trajectory_sampling",
    "sample_update_errors",
]


# ---------------------------------------------------------------------------------------------
# Expected against sample updates (Figure 8.7)


@njit(cache=True, nogil=True)
def sample_update_errors(b: int, computations: int, rng) -> np.ndarray:
    """Figure 8.7's setting: one state-action pair with ``b`` equally likely successors whose
    values ``v_j`` ~ N(0, 1) are exact, so its true value is their mean (an expected update
    costs ``b`` max computations and leaves no error). Sample updates with sample averages
    (alpha = 1/t) draw successors uniformly; before any the estimate is off by 1. Returns the
    error float64[computations + 1] after t = 0, 1, ... sample updates (one max computation
    each); its RMS over runs is sqrt((b - 1) / (b t)) for t >= 1."""
    values = rng.standard_normal(b)
    true = 0.0
    for j in range(b):  # a plain sum: NumPy's pairwise mean differs in the last bit
        true += values[j]
    true /= b
    err = np.empty(computations + 1)
    err[0] = 1.0
    total = 0.0
    for t in range(1, computations + 1):
        total += values[int(rng.random() * b)]
        err[t] = total / t - true
    return err


# ---------------------------------------------------------------------------------------------
# Trajectory sampling (Figure 8.8)


class TrajectorySamplingConfig(NamedTuple):
    """Figure 8.8's tasks and updates: ``n_states`` states with 2 actions each, every action
    leading to one of ``branching`` states chosen at random per task (equally likely) with an
    expected reward drawn from N(0, 1), and ending the episode with probability
    ``termination`` on every transition; ``updates`` expected updates in all, the greedy
    policy's start-state value measured every ``eval_every`` of them (exact to ``tolerance /
    2``, see `greedy_start_value`); on-policy sampling follows ``epsilon``-greedy episodes from
    state 0."""

    n_states: int = 1000
    branching: int = 1
    termination: float = 0.1
    epsilon: float = 0.1
    updates: int = 20_000
    eval_every: int = 500
    tolerance: float = 1e-2

    _ranges = {  # read by numbarl.config.make_config (epsilon: by name)
        "n_states": AT_LEAST_ONE,
        "branching": AT_LEAST_ONE,
        "termination": UNIT_OPEN_LOW,
        "updates": AT_LEAST_ONE,
        "eval_every": AT_LEAST_ONE,
        "tolerance": POSITIVE,
    }


@njit(cache=True)
def random_task(n_states: int, branching: int, rng):
    """(next int64[S, 2, b], reward float64[S, 2, b]): each action's ``b`` successors drawn
    uniformly among all states (with replacement) and their rewards from N(0, 1)."""
    nxt = np.empty((n_states, 2, branching), dtype=np.int64)
    for s in range(n_states):
        for a in range(2):
            for j in range(branching):
                nxt[s, a, j] = int(rng.random() * n_states)
    reward = rng.standard_normal((n_states, 2, branching))
    return nxt, reward


@njit(cache=True, inline="always")
def _expected_update(q, nxt, reward, s, a, cont):
    b = nxt.shape[2]
    total = 0.0
    for j in range(b):
        s2 = nxt[s, a, j]
        total += reward[s, a, j] + cont * max(q[s2, 0], q[s2, 1])
    q[s, a] = total / b


@njit(cache=True)
def greedy_start_value(q, nxt, reward, cont, v, tolerance, seen, order, greedy, new_v):
    """Value of state 0 under the greedy policy of ``q`` float64[S, 2] (first action on ties).

    Jacobi policy evaluation over the states that policy reaches from state 0 only (a closed
    set: a few hundred of 10,000 states when b = 1), warm-started from ``v`` float64[S]
    (updated in place), with MacQueen's error bounds: after a sweep with changes ``d``, the
    true values lie within ``cont / (1 - cont) * [min d, max d]`` of the new ones, so the
    midpoint is used and the sweeps stop once that interval is narrower than ``tolerance``. The
    slow mode of plain iteration (a shift of every value, decaying by ``cont`` a sweep) is thus
    removed at once. ``seen`` bool[S] must be all False (it is left so); ``order``, ``greedy``
    int64[S] and ``new_v`` float64[S] are scratch."""
    n_states, _, b = nxt.shape
    seen[0] = True
    order[0] = 0
    n = 1
    i = 0
    while i < n:
        s = order[i]
        i += 1
        a = 0 if q[s, 0] >= q[s, 1] else 1
        greedy[s] = a
        for j in range(b):
            s2 = nxt[s, a, j]
            if not seen[s2]:
                seen[s2] = True
                order[n] = s2
                n += 1
    reward_sum = np.empty(n)  # the policy's reward per reached state, summed over branches
    for k in range(n):
        s = order[k]
        seen[s] = False
        total = 0.0
        for j in range(b):
            total += reward[s, greedy[s], j]
        reward_sum[k] = total
    factor = cont / (1.0 - cont)
    while True:
        lo = np.inf
        hi = -np.inf
        for k in range(n):
            s = order[k]
            a = greedy[s]
            total = 0.0
            for j in range(b):
                total += v[nxt[s, a, j]]
            new = (reward_sum[k] + cont * total) / b
            d = new - v[s]
            lo = min(lo, d)
            hi = max(hi, d)
            new_v[s] = new
        shift = factor * 0.5 * (lo + hi)
        for k in range(n):
            s = order[k]
            v[s] = new_v[s] + shift
        if factor * (hi - lo) <= tolerance:
            break
    return v[0]


@njit(cache=True, nogil=True)
def run_trajectory_sampling(cfg: TrajectorySamplingConfig, rng):
    """One sample task of Figure 8.8 and both ways of distributing ``cfg.updates`` expected
    updates over it: uniform (cycling through all state-action pairs in order) and on-policy
    (the pairs met along epsilon-greedy episodes from state 0, simulated on the task; ties broken
    at random). Returns (uniform float64[K], on_policy float64[K]): the greedy policy's value of
    the start state after 0, eval_every, 2 eval_every, ... updates (K = updates // eval_every +
    1; ``updates`` is rounded down to a multiple of ``eval_every``). Q starts at 0."""
    nxt, reward = random_task(cfg.n_states, cfg.branching, rng)
    cont = 1.0 - cfg.termination
    n_points = cfg.updates // cfg.eval_every + 1
    out_uniform = np.empty(n_points)
    out_on = np.empty(n_points)
    # Uniform: sweep the pairs in order.
    seen = np.zeros(cfg.n_states, dtype=np.bool_)
    order = np.empty(cfg.n_states, dtype=np.int64)
    greedy = np.empty(cfg.n_states, dtype=np.int64)
    scratch = np.empty(cfg.n_states)
    q = np.zeros((cfg.n_states, 2))
    v = np.zeros(cfg.n_states)
    out_uniform[0] = greedy_start_value(
        q, nxt, reward, cont, v, cfg.tolerance, seen, order, greedy, scratch
    )
    pair = 0
    n_pairs = 2 * cfg.n_states
    for point in range(1, n_points):
        for _ in range(cfg.eval_every):
            _expected_update(q, nxt, reward, pair >> 1, pair & 1, cont)
            pair += 1
            if pair == n_pairs:
                pair = 0
        out_uniform[point] = greedy_start_value(
            q, nxt, reward, cont, v, cfg.tolerance, seen, order, greedy, scratch
        )
    # On-policy: epsilon-greedy episodes from state 0 in the simulated task.
    q = np.zeros((cfg.n_states, 2))
    v = np.zeros(cfg.n_states)
    out_on[0] = greedy_start_value(
        q, nxt, reward, cont, v, cfg.tolerance, seen, order, greedy, scratch
    )
    s = 0
    keep = 1.0 - cfg.termination
    draws = np.empty(2 * cfg.eval_every)
    for point in range(1, n_points):
        draws[:] = rng.random(draws.size)  # drawn in bulk: cheaper than one call per draw
        for k in range(cfg.eval_every):
            u = draws[2 * k]
            if u < cfg.epsilon:
                a = 0 if u < 0.5 * cfg.epsilon else 1
            elif q[s, 0] == q[s, 1]:
                a = 0 if (u - cfg.epsilon) / (1.0 - cfg.epsilon) < 0.5 else 1
            else:
                a = 0 if q[s, 0] > q[s, 1] else 1
            _expected_update(q, nxt, reward, s, a, cont)
            u = draws[2 * k + 1]  # one draw: the episode ends, or which successor
            if u < cfg.termination:
                s = 0
            else:
                j = int((u - cfg.termination) / keep * cfg.branching)
                s = nxt[s, a, min(j, cfg.branching - 1)]
        out_on[point] = greedy_start_value(
            q, nxt, reward, cont, v, cfg.tolerance, seen, order, greedy, scratch
        )
    return out_uniform, out_on


def make_trajectory_sampling_config(**config: Any) -> TrajectorySamplingConfig:
    """A `TrajectorySamplingConfig` with validated, cast fields."""
    return make_config(TrajectorySamplingConfig, config)
