"""Tabular MDPs as data: one compiled sampler serves every finite environment.

A `TabularMDP` is a NamedTuple of arrays and scalars, so it passes straight into njit code and
every function taking it loads from Numba's disk cache. Environments are built once in Python
from a Gymnasium-style transition table ``P[s][a] = [(prob, next_state, reward, terminated), ...]``
(optionally a fifth element, the standard deviation of a Gaussian reward) by `from_transitions`.

Conventions
- Entering a terminal state ends the episode: for every non-terminal state ``s`` and outcome
  ``(p, s2, r, done)``, ``done == terminal[s2]``. Transitions out of terminal states are kept in
  the sampling tables (Gymnasium's ``P`` has them) but never used by episodes or DP.
- ``r[s, a]`` is the expected immediate reward; stochastic rewards are sampled as
  ``reward + reward_std * N(0, 1)`` with the normal drawn only where ``reward_std > 0``.
- ``allowed[s, a]`` marks the actions available in ``s`` (all True except where an env has
  state-dependent action sets, e.g. the gambler's stakes); DP and the tabular learners respect it.
- Sampling draws one uniform per reset and per step and picks the first outcome whose cumulative
  probability exceeds it, exactly as Gymnasium's ``categorical_sample`` does, so with the same
  ``np.random.Generator`` state the trajectories equal Gymnasium's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numba import njit

# A transition outcome: (probability, next_state, reward, terminated[, reward_std]).
Outcome = tuple
TransitionTable = dict | Sequence


class TabularMDP(NamedTuple):
    """A finite MDP. Dense views: ``p`` float64[S, A, S], ``r`` float64[S, A], ``terminal``
    bool[S], ``start`` float64[S]. Sampling tables (padded to K outcomes): ``next_state``
    int64[S, A, K], ``cum_prob`` float64[S, A, K], ``reward`` float64[S, A, K], ``reward_std``
    float64[S, A, K], ``start_cum`` float64[S]. ``max_steps`` is the time limit (truncation);
    ``max_steps <= 0`` means none."""

    n_states: int
    n_actions: int
    max_steps: int
    p: np.ndarray
    r: np.ndarray
    terminal: np.ndarray
    start: np.ndarray
    allowed: np.ndarray
    next_state: np.ndarray
    cum_prob: np.ndarray
    reward: np.ndarray
    reward_std: np.ndarray
    start_cum: np.ndarray


# Python-side metadata kept apart from the compiled data (names are not needed in njit code).
_SPECS: dict[int, dict] = {}


def _fail(name: str, what: str) -> None:
    raise ValueError(f"{name}: {what}")


def _normalise_table(P: TransitionTable, n_states: int, n_actions: int, name: str) -> list:
    rows = []
    for s in range(n_states):
        try:
            row = P[s]
        except (KeyError, IndexError):
            _fail(name, f"transition table has no entry for state {s} (expected 0..{n_states - 1})")
        acts = []
        for a in range(n_actions):
            try:
                outs = row[a]
            except (KeyError, IndexError):
                outs = []
            acts.append(list(outs))
        rows.append(acts)
    return rows


def from_transitions(
    P: TransitionTable,
    n_states: int,
    n_actions: int,
    start: np.ndarray | Sequence[float],
    *,
    max_steps: int = 0,
    terminal: np.ndarray | Sequence[bool] | None = None,
    allowed: np.ndarray | None = None,
    name: str = "TabularMDP",
) -> TabularMDP:
    """Build a `TabularMDP` from ``P[s][a] = [(prob, next, reward, terminated[, reward_std])]``.

    ``terminal`` defaults to the states entered by a transition flagged terminated. An action with
    no outcomes must be marked not allowed (or is treated so when ``allowed`` is None).
    Raises ValueError naming what is malformed.
    """
    if not (isinstance(n_states, int | np.integer) and n_states >= 1):
        _fail(name, f"n_states must be a positive integer, got {n_states!r}")
    if not (isinstance(n_actions, int | np.integer) and n_actions >= 1):
        _fail(name, f"n_actions must be a positive integer, got {n_actions!r}")
    S, A = int(n_states), int(n_actions)
    rows = _normalise_table(P, S, A, name)
    K = max(1, max(len(outs) for row in rows for outs in row))

    p = np.zeros((S, A, S))
    r = np.zeros((S, A))
    next_state = np.zeros((S, A, K), dtype=np.int64)
    cum_prob = np.full((S, A, K), 2.0)  # padding is never selected
    reward = np.zeros((S, A, K))
    reward_std = np.zeros((S, A, K))
    done_into = np.zeros(S, dtype=bool)
    has_outcomes = np.zeros((S, A), dtype=bool)

    for s in range(S):
        for a in range(A):
            outs = rows[s][a]
            if not outs:
                continue
            has_outcomes[s, a] = True
            total = 0.0
            for k, out in enumerate(outs):
                if len(out) not in (4, 5):
                    _fail(
                        name,
                        f"P[{s}][{a}][{k}] must be (prob, next_state, reward, terminated"
                        f"[, reward_std]), got {out!r}",
                    )
                prob, s2, rew, done = float(out[0]), out[1], float(out[2]), bool(out[3])
                std = float(out[4]) if len(out) == 5 else 0.0
                if not np.isfinite(prob) or prob < 0.0 or prob > 1.0:
                    _fail(name, f"P[{s}][{a}][{k}] probability {prob!r} must be in [0, 1]")
                if not (isinstance(s2, int | np.integer) and 0 <= s2 < S):
                    _fail(
                        name, f"P[{s}][{a}][{k}] next state {s2!r} must be an integer in 0..{S - 1}"
                    )
                if not np.isfinite(rew) or not np.isfinite(std) or std < 0.0:
                    _fail(
                        name,
                        f"P[{s}][{a}][{k}] reward {rew!r} (std {std!r}) must be finite, std >= 0",
                    )
                total += prob
                p[s, a, s2] += prob
                r[s, a] += prob * rew
                next_state[s, a, k] = s2
                cum_prob[s, a, k] = total
                reward[s, a, k] = rew
                reward_std[s, a, k] = std
                if done:
                    done_into[s2] = True
            if abs(total - 1.0) > 1e-9:
                _fail(name, f"probabilities of P[{s}][{a}] sum to {total!r}, must sum to 1")
            cum_prob[s, a, len(outs) - 1] = 1.0 + 1e-12  # guard against round-off at u -> 1

    term = done_into if terminal is None else np.asarray(terminal, dtype=bool)
    if term.shape != (S,):
        _fail(name, f"terminal must have shape ({S},), got {term.shape}")
    for s in range(S):
        if term[s]:
            continue
        for a in range(A):
            for k, out in enumerate(rows[s][a]):
                if bool(out[3]) != bool(term[out[1]]):
                    _fail(
                        name,
                        f"P[{s}][{a}][{k}] terminated={bool(out[3])} but state {out[1]} "
                        f"is {'terminal' if term[out[1]] else 'non-terminal'}; entering a "
                        "terminal state must end the episode",
                    )

    if allowed is None:
        allowed_arr = has_outcomes.copy()
    else:
        allowed_arr = np.asarray(allowed, dtype=bool)
        if allowed_arr.shape != (S, A):
            _fail(name, f"allowed must have shape ({S}, {A}), got {allowed_arr.shape}")
    for s in range(S):
        if term[s]:
            continue
        if not allowed_arr[s].any():
            _fail(name, f"non-terminal state {s} has no allowed action")
        for a in range(A):
            if allowed_arr[s, a] and not has_outcomes[s, a]:
                _fail(name, f"action {a} is allowed in state {s} but P[{s}][{a}] is empty")
    # A terminal state with no outcomes gets a self-loop so the dense view stays stochastic.
    for s in range(S):
        for a in range(A):
            if not has_outcomes[s, a]:
                p[s, a, s] = 1.0
                next_state[s, a, 0] = s
                cum_prob[s, a, 0] = 1.0 + 1e-12

    start_arr = np.asarray(start, dtype=np.float64)
    if start_arr.shape != (S,):
        _fail(name, f"start distribution must have shape ({S},), got {start_arr.shape}")
    if (
        not np.all(np.isfinite(start_arr))
        or np.any(start_arr < 0)
        or abs(start_arr.sum() - 1.0) > 1e-9
    ):
        _fail(name, "start distribution must be finite, non-negative and sum to 1")
    start_cum = np.cumsum(start_arr)
    start_cum[np.flatnonzero(start_arr)[-1] :] = 1.0 + 1e-12
    if not isinstance(max_steps, int | np.integer):
        _fail(name, f"max_steps must be an integer, got {max_steps!r}")
    return TabularMDP(
        n_states=S,
        n_actions=A,
        max_steps=int(max_steps),
        p=p,
        r=r,
        terminal=term.copy(),
        start=start_arr.copy(),
        allowed=allowed_arr,
        next_state=next_state,
        cum_prob=cum_prob,
        reward=reward,
        reward_std=reward_std,
        start_cum=start_cum,
    )


def validate(mdp: TabularMDP, name: str = "TabularMDP") -> TabularMDP:
    """Check a (possibly user-built) `TabularMDP` for shapes, dtypes, NaN and normalisation."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"{name}: expected a TabularMDP, got {type(mdp).__name__}")
    S, A = mdp.n_states, mdp.n_actions
    shapes = {"p": (S, A, S), "r": (S, A), "terminal": (S,), "start": (S,), "allowed": (S, A)}
    for field, shape in shapes.items():
        arr = getattr(mdp, field)
        if not isinstance(arr, np.ndarray) or arr.shape != shape:
            got = getattr(arr, "shape", type(arr).__name__)
            _fail(name, f"{field} must be an array of shape {shape}, got {got}")
    for field in ("p", "r", "start"):
        if not np.all(np.isfinite(getattr(mdp, field))):
            _fail(name, f"{field} contains NaN or infinity")
    if np.any(mdp.p < 0) or not np.allclose(mdp.p.sum(axis=2), 1.0, atol=1e-9):
        bad = np.argwhere(~np.isclose(mdp.p.sum(axis=2), 1.0, atol=1e-9))
        where = f" (first at s={bad[0][0]}, a={bad[0][1]})" if len(bad) else ""
        _fail(name, f"p[s, a, :] must be non-negative and sum to 1{where}")
    if np.any(mdp.start < 0) or abs(mdp.start.sum() - 1.0) > 1e-9:
        _fail(name, "start must be non-negative and sum to 1")
    return mdp


def from_arrays(
    p: np.ndarray,
    r: np.ndarray,
    terminal: np.ndarray,
    start: np.ndarray,
    *,
    max_steps: int = 0,
    allowed: np.ndarray | None = None,
    name: str = "TabularMDP",
) -> TabularMDP:
    """Build a `TabularMDP` from dense arrays ``p`` float64[S, A, S] and ``r`` float64[S, A]
    (deterministic reward ``r[s, a]`` whatever the next state)."""
    p = np.asarray(p, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    if p.ndim != 3 or p.shape[0] != p.shape[2]:
        _fail(name, f"p must have shape (S, A, S), got {p.shape}")
    S, A = p.shape[0], p.shape[1]
    if r.shape != (S, A):
        _fail(name, f"r must have shape ({S}, {A}), got {r.shape}")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(r))):
        _fail(name, "p and r must not contain NaN or infinity")
    term = np.asarray(terminal, dtype=bool)
    if term.shape != (S,):
        _fail(name, f"terminal must have shape ({S},), got {term.shape}")
    P = {
        s: {
            a: [(p[s, a, s2], int(s2), r[s, a], bool(term[s2])) for s2 in np.flatnonzero(p[s, a])]
            for a in range(A)
        }
        for s in range(S)
    }
    return from_transitions(
        P, S, A, start, max_steps=max_steps, terminal=term, allowed=allowed, name=name
    )


# ---------------------------------------------------------------------------------------------
# The compiled sampler


@njit(cache=True, inline="always")
def sample_index(cum: np.ndarray, u: float) -> int:
    """First k with cum[k] > u (Gymnasium's ``categorical_sample``)."""
    k = 0
    while cum[k] <= u:
        k += 1
    return k


@njit(cache=True, inline="always")
def reset(mdp: TabularMDP, rng: np.random.Generator) -> int:
    """Draw a start state."""
    return sample_index(mdp.start_cum, rng.random())


@njit(cache=True, inline="always")
def step_specialised(
    mdp: TabularMDP, s: int, a: int, rng: np.random.Generator, noisy: bool
) -> tuple[int, float, bool]:
    """`step`, draw for draw, specialised on ``noisy`` (pass a compile-time-constant flag,
    e.g. from `has_reward_noise`, and compile the loop twice): a generator call under a branch in
    a hot loop, even one never taken, cost ~28 ns per step on FrozenLake 8x8, and indexing
    ``cum_prob`` in place avoids taking (and refcounting) a view."""
    u = rng.random()
    cum = mdp.cum_prob
    k = 0
    while cum[s, a, k] <= u:  # sample_index without a view
        k += 1
    s2 = mdp.next_state[s, a, k]
    rew = mdp.reward[s, a, k]
    if noisy:
        std = mdp.reward_std[s, a, k]
        if std > 0.0:
            rew += std * rng.standard_normal()
    return s2, rew, mdp.terminal[s2]


@njit(cache=True, inline="always")
def step(mdp: TabularMDP, s: int, a: int, rng: np.random.Generator) -> tuple[int, float, bool]:
    """One transition from state ``s`` with action ``a``: (next_state, reward, terminated)."""
    return step_specialised(mdp, s, a, rng, True)


@njit(cache=True)
def has_reward_noise(mdp: TabularMDP) -> bool:
    """Whether any outcome of ``mdp`` has a Gaussian reward (``reward_std > 0``)."""
    std = mdp.reward_std.ravel()
    for i in range(std.shape[0]):
        if std[i] > 0.0:
            return True
    return False


@njit(cache=True, inline="always")
def random_action(mdp: TabularMDP, s: int, rng: np.random.Generator) -> int:
    """A uniformly random allowed action in ``s``."""
    n = 0
    for a in range(mdp.n_actions):
        if mdp.allowed[s, a]:
            n += 1
    j = int(rng.random() * n)
    for a in range(mdp.n_actions):
        if mdp.allowed[s, a]:
            if j == 0:
                return a
            j -= 1
    return mdp.n_actions - 1


@njit(cache=True)
def rollout_random(mdp: TabularMDP, n_steps: int, rng: np.random.Generator):
    """Run a uniformly random policy for ``n_steps`` steps, resetting at termination or the time
    limit. Returns (states int64[n], actions int64[n], rewards float64[n], next_states int64[n],
    terminated bool[n], truncated bool[n])."""
    states = np.empty(n_steps, dtype=np.int64)
    actions = np.empty(n_steps, dtype=np.int64)
    rewards = np.empty(n_steps)
    next_states = np.empty(n_steps, dtype=np.int64)
    terminated = np.zeros(n_steps, dtype=np.bool_)
    truncated = np.zeros(n_steps, dtype=np.bool_)
    s = reset(mdp, rng)
    t = 0
    for i in range(n_steps):
        a = random_action(mdp, s, rng)
        s2, rew, done = step(mdp, s, a, rng)
        t += 1
        states[i] = s
        actions[i] = a
        rewards[i] = rew
        next_states[i] = s2
        terminated[i] = done
        if not done and mdp.max_steps > 0 and t >= mdp.max_steps:
            truncated[i] = True
        if done or truncated[i]:
            s = reset(mdp, rng)
            t = 0
        else:
            s = s2
    return states, actions, rewards, next_states, terminated, truncated


@njit(cache=True)
def random_steps(mdp: TabularMDP, n_steps: int, rng: np.random.Generator) -> float:
    """Benchmark kernel: ``n_steps`` random-policy steps with resets; returns the reward sum."""
    total = 0.0
    s = reset(mdp, rng)
    t = 0
    for _ in range(n_steps):
        a = random_action(mdp, s, rng)
        s2, rew, done = step(mdp, s, a, rng)
        total += rew
        t += 1
        if done or (mdp.max_steps > 0 and t >= mdp.max_steps):
            s = reset(mdp, rng)
            t = 0
        else:
            s = s2
    return total
