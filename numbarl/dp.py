"""Exact dynamic programming over a `TabularMDP`'s dense views (Sutton & Barto, Chapter 4).

Every routine reads ``p`` float64[S, A, S], ``r`` float64[S, A], ``terminal`` bool[S] and
``allowed`` bool[S, A]. Conventions:
- the value of a terminal state is 0 (values passed in are read with their terminal entries as 0);
- only allowed actions count in every max and argmax; ``q[s, a]`` is ``-inf`` where ``a`` is not
  allowed in ``s`` and 0 for allowed actions of terminal states;
- ``gamma`` is in [0, 1]; with gamma = 1 a policy must end episodes with probability 1
  (``state_values`` checks this and says which states never terminate).

The njit kernels take plain arrays; the Python functions validate their input first and raise
ValueError naming the field and the allowed values.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.envs.tabular import TabularMDP, validate
from numbarl.tabular.policies import check_policy, uniform_policy

TIES = ("uniform", "first", "last")

# ---------------------------------------------------------------------------------------------
# Kernels


@njit(cache=True, inline="always")
def _backup(p: np.ndarray, r: np.ndarray, v: np.ndarray, s: int, a: int, gamma: float) -> float:
    """r[s, a] + gamma * sum_s2 p[s, a, s2] v[s2] (v of terminal states is kept at 0)."""
    total = 0.0
    for s2 in range(v.shape[0]):
        prob = p[s, a, s2]
        if prob != 0.0:
            total += prob * v[s2]
    return r[s, a] + gamma * total


@njit(cache=True)
def evaluate_policy_sweeps(
    p: np.ndarray,
    r: np.ndarray,
    terminal: np.ndarray,
    policy: np.ndarray,
    gamma: float,
    theta: float,
    max_sweeps: int,
    in_place: bool,
) -> tuple[np.ndarray, int]:
    """Iterative policy evaluation (the book's algorithm, Section 4.1) from v = 0.

    Sweeps states in index order, ``v(s) <- sum_a pi(a|s) [r(s, a) + gamma sum_s2 p v(s2)]``,
    updating in place or synchronously (all states from the previous sweep's values), until the
    largest change of a sweep is below ``theta`` or ``max_sweeps`` sweeps are done. A sweep with
    a non-finite value stops early. Returns (v float64[S], sweeps int)."""
    S, A = r.shape
    v = np.zeros(S)
    new = np.zeros(S)
    sweeps = 0
    while sweeps < max_sweeps:
        delta = 0.0
        for s in range(S):
            if terminal[s]:
                continue
            x = 0.0
            for a in range(A):
                pa = policy[s, a]
                if pa > 0.0:
                    x += pa * _backup(p, r, v, s, a, gamma)
            d = abs(x - v[s])
            if not d <= delta:  # also catches NaN
                delta = d
            if in_place:
                v[s] = x
            else:
                new[s] = x
        if not in_place:
            v[:] = new
        sweeps += 1
        if not np.isfinite(delta) or delta < theta:
            break
    return v, sweeps


@njit(cache=True)
def value_iteration_sweeps(
    p: np.ndarray,
    r: np.ndarray,
    terminal: np.ndarray,
    allowed: np.ndarray,
    gamma: float,
    theta: float,
    max_sweeps: int,
    record: bool,
) -> tuple[np.ndarray, int, np.ndarray]:
    """Value iteration (Section 4.4) from v = 0, in place in state order:
    ``v(s) <- max over allowed a of r(s, a) + gamma sum_s2 p v(s2)`` until the largest change of
    a sweep is below ``theta`` or ``max_sweeps`` sweeps are done. Returns (v float64[S], sweeps,
    history float64[sweeps, S] of v after each sweep if ``record`` else float64[0, S])."""
    S, A = r.shape
    v = np.zeros(S)
    cap = min(max_sweeps, 64) if record else 0
    history = np.zeros((cap, S))
    sweeps = 0
    while sweeps < max_sweeps:
        delta = 0.0
        for s in range(S):
            if terminal[s]:
                continue
            best = -np.inf
            for a in range(A):
                if allowed[s, a]:
                    x = _backup(p, r, v, s, a, gamma)
                    if x > best:
                        best = x
            d = abs(best - v[s])
            if not d <= delta:
                delta = d
            v[s] = best
        if record:
            if sweeps == cap:
                cap = min(2 * cap, max_sweeps)
                grown = np.zeros((cap, S))
                grown[:sweeps] = history[:sweeps]
                history = grown
            history[sweeps] = v
        sweeps += 1
        if not np.isfinite(delta) or delta < theta:
            break
    return v, sweeps, history[:sweeps].copy()


@njit(cache=True)
def q_from_v_kernel(
    p: np.ndarray,
    r: np.ndarray,
    terminal: np.ndarray,
    allowed: np.ndarray,
    v: np.ndarray,
    gamma: float,
) -> np.ndarray:
    """Action values float64[S, A]: r(s, a) + gamma sum_s2 p(s2|s, a) v(s2) for allowed actions
    of non-terminal states, 0 for allowed actions of terminal states, -inf where not allowed.
    ``v`` float64[S] must already hold 0 at terminal states."""
    S, A = r.shape
    q = np.empty((S, A))
    for s in range(S):
        for a in range(A):
            if not allowed[s, a]:
                q[s, a] = -np.inf
            elif terminal[s]:
                q[s, a] = 0.0
            else:
                q[s, a] = _backup(p, r, v, s, a, gamma)
    return q


@njit(cache=True)
def greedy_kernel(q: np.ndarray, allowed: np.ndarray, tol: float, ties: int) -> np.ndarray:
    """Greedy policy float64[S, A] over the allowed actions whose value is within ``tol`` of the
    state's best: ``ties`` 0 = uniform over them, 1 = the first, 2 = the last."""
    S, A = q.shape
    policy = np.zeros((S, A))
    for s in range(S):
        best = -np.inf
        for a in range(A):
            if allowed[s, a] and q[s, a] > best:
                best = q[s, a]
        n = 0
        first = -1
        last = -1
        for a in range(A):
            if allowed[s, a] and q[s, a] >= best - tol:
                n += 1
                if first < 0:
                    first = a
                last = a
        if n == 0:
            continue
        if ties == 0:
            for a in range(A):
                if allowed[s, a] and q[s, a] >= best - tol:
                    policy[s, a] = 1.0 / n
        elif ties == 1:
            policy[s, first] = 1.0
        else:
            policy[s, last] = 1.0
    return policy


@njit(cache=True)
def improve_policy_kernel(
    q: np.ndarray,
    p: np.ndarray,
    terminal: np.ndarray,
    allowed: np.ndarray,
    current: np.ndarray,
    tol: float,
) -> tuple[np.ndarray, bool]:
    """Policy improvement for policy iteration: in each state keep the current action
    (``current`` int64[S], -1 for none) if its value is within ``tol`` of the best; otherwise take
    the near-best action least likely to leave the state unchanged (so zero-reward self-loops do
    not make a gamma=1 policy improper), then the lowest index. Returns (actions int64[S],
    whether any non-terminal state's action changed)."""
    S, A = q.shape
    actions = np.empty(S, dtype=np.int64)
    changed = False
    for s in range(S):
        best = -np.inf
        for a in range(A):
            if allowed[s, a] and q[s, a] > best:
                best = q[s, a]
        c = current[s]
        if c >= 0 and allowed[s, c] and q[s, c] >= best - tol:
            actions[s] = c
            continue
        pick = -1
        stay = 2.0
        for a in range(A):
            if allowed[s, a] and q[s, a] >= best - tol and p[s, a, s] < stay:
                pick = a
                stay = p[s, a, s]
        actions[s] = pick
        if not terminal[s]:
            changed = True
    return actions, changed


# ---------------------------------------------------------------------------------------------
# Validation


def _fail(fn: str, field: str, what: str, value) -> None:
    raise ValueError(f"{fn}: {field} must be {what}, got {value!r}")


def _mdp_arrays(mdp: TabularMDP, fn: str):
    validate(mdp, name=f"{fn}: mdp")
    p = np.ascontiguousarray(mdp.p, dtype=np.float64)
    r = np.ascontiguousarray(mdp.r, dtype=np.float64)
    terminal = np.ascontiguousarray(mdp.terminal, dtype=np.bool_)
    allowed = np.ascontiguousarray(mdp.allowed, dtype=np.bool_)
    if not np.all(allowed[~terminal].any(axis=1)):
        s = int(np.flatnonzero(~allowed.any(axis=1) & ~terminal)[0])
        raise ValueError(f"{fn}: mdp.allowed has no allowed action in non-terminal state {s}")
    return p, r, terminal, allowed


def _real(fn: str, field: str, value, lo: float, hi: float = np.inf) -> float:
    ok = not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)
    if not ok or not np.isfinite(float(value)) or not lo <= float(value) <= hi:
        _fail(fn, field, f"a finite number in [{lo}, {hi}]", value)
    return float(value)


def _count(fn: str, field: str, value, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
        _fail(fn, field, f"an integer >= {lo}", value)
    return int(value)


def _flag(fn: str, field: str, value) -> bool:
    if not isinstance(value, bool | np.bool_):
        _fail(fn, field, "True or False", value)
    return bool(value)


def _ties(fn: str, ties) -> int:
    if ties not in TIES:
        _fail(fn, "ties", " or ".join(repr(t) for t in TIES), ties)
    return TIES.index(ties)


def _values(fn: str, field: str, v, mdp: TabularMDP) -> np.ndarray:
    arr = np.array(v, dtype=np.float64, copy=True)
    if arr.shape != (mdp.n_states,):
        _fail(fn, field, f"a float array of shape ({mdp.n_states},)", getattr(v, "shape", v))
    arr[np.asarray(mdp.terminal, dtype=bool)] = 0.0
    if not np.all(np.isfinite(arr)):
        _fail(fn, field, "finite at non-terminal states", "NaN or infinity")
    return arr


def _finite_or_fail(fn: str, v: np.ndarray, sweeps: int) -> None:
    if not np.all(np.isfinite(v)):
        raise ValueError(
            f"{fn}: values became NaN or infinite at sweep {sweeps}; check r and gamma"
        )


# ---------------------------------------------------------------------------------------------
# Prediction


def policy_evaluation(
    mdp: TabularMDP,
    policy: np.ndarray,
    gamma: float = 1.0,
    theta: float = 1e-10,
    max_sweeps: int = 100_000,
    in_place: bool = True,
) -> tuple[np.ndarray, int]:
    """Iterative policy evaluation of ``policy`` float64[S, A] from v = 0 (Section 4.1).

    ``in_place=False`` gives the book's synchronous sweeps (Figure 4.1's k = 1, 2, 3 values are
    ``policy_evaluation(..., theta=0.0, max_sweeps=k, in_place=False)``; with ``theta=0`` it also
    computes the k-step finite-horizon value). Returns (v float64[S], sweeps); ``sweeps ==
    max_sweeps`` means it stopped before the largest change fell below ``theta``."""
    fn = "policy_evaluation"
    p, r, terminal, _ = _mdp_arrays(mdp, fn)
    pi = check_policy(policy, mdp, name=f"{fn}: policy")
    g = _real(fn, "gamma", gamma, 0.0, 1.0)
    th = _real(fn, "theta", theta, 0.0)
    n = _count(fn, "max_sweeps", max_sweeps, 0)
    ip = _flag(fn, "in_place", in_place)
    v, sweeps = evaluate_policy_sweeps(p, r, terminal, pi, g, th, n, ip)
    _finite_or_fail(fn, v, sweeps)
    return v, int(sweeps)


def _proper_states(p_pi: np.ndarray, terminal: np.ndarray) -> np.ndarray:
    """bool[S]: states from which the chain ``p_pi`` reaches a terminal state."""
    reach = terminal.copy()
    edges = p_pi > 0.0
    while True:
        grown = reach | edges[:, reach].any(axis=1)
        if np.array_equal(grown, reach):
            return reach
        reach = grown


def _solve(p, r, terminal, pi, gamma: float, fn: str) -> np.ndarray:
    p_pi = np.einsum("sa,sat->st", pi, p)
    r_pi = np.einsum("sa,sa->s", pi, r)
    live = ~terminal
    if gamma == 1.0:
        stuck = live & ~_proper_states(p_pi, terminal)
        if stuck.any():
            states = np.flatnonzero(stuck)
            shown = ", ".join(str(s) for s in states[:10]) + (" ..." if len(states) > 10 else "")
            raise ValueError(
                f"{fn}: with gamma=1 the policy never terminates from state(s) {shown}, so "
                "their values are undefined (the linear system is singular); use gamma < 1 or a "
                "policy that reaches a terminal state from every state"
            )
    idx = np.flatnonzero(live)
    a_mat = np.eye(len(idx)) - gamma * p_pi[np.ix_(idx, idx)]
    v = np.zeros(len(terminal))
    try:
        v[idx] = np.linalg.solve(a_mat, r_pi[idx])
    except np.linalg.LinAlgError as err:
        raise ValueError(f"{fn}: the Bellman linear system is singular ({err})") from None
    return v


def state_values(mdp: TabularMDP, policy: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Exact v_pi float64[S]: solves (I - gamma P_pi) v = r_pi over the non-terminal states.

    With gamma = 1 a ValueError names the states from which ``policy`` never terminates."""
    fn = "state_values"
    p, r, terminal, _ = _mdp_arrays(mdp, fn)
    pi = check_policy(policy, mdp, name=f"{fn}: policy")
    g = _real(fn, "gamma", gamma, 0.0, 1.0)
    return _solve(p, r, terminal, pi, g, fn)


def q_from_v(mdp: TabularMDP, v: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """One-step lookahead q float64[S, A] from state values ``v`` float64[S] (terminal entries
    read as 0): ``r(s, a) + gamma sum_s2 p(s2|s, a) v(s2)``; -inf where not allowed."""
    fn = "q_from_v"
    p, r, terminal, allowed = _mdp_arrays(mdp, fn)
    g = _real(fn, "gamma", gamma, 0.0, 1.0)
    return q_from_v_kernel(p, r, terminal, allowed, _values(fn, "v", v, mdp), g)


def action_values(mdp: TabularMDP, policy: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Exact q_pi float64[S, A] (``q_from_v`` of ``state_values``)."""
    return q_from_v(mdp, state_values(mdp, policy, gamma), gamma)


# ---------------------------------------------------------------------------------------------
# Control


def value_iteration(
    mdp: TabularMDP,
    gamma: float = 1.0,
    theta: float = 1e-10,
    max_sweeps: int = 100_000,
    record: bool = False,
) -> tuple[np.ndarray, int] | tuple[np.ndarray, int, np.ndarray]:
    """Value iteration from v = 0 with in-place sweeps in state order (Section 4.4).

    Returns (v float64[S], sweeps), or with ``record=True`` (v, sweeps, history float64[sweeps,
    S]) where ``history[k]`` is v after sweep k + 1 (Figure 4.3's upper panel). ``sweeps
    == max_sweeps`` means it stopped before the largest change fell below ``theta``. The optimal
    policy is ``greedy_policy(mdp, v, gamma)``."""
    fn = "value_iteration"
    p, r, terminal, allowed = _mdp_arrays(mdp, fn)
    g = _real(fn, "gamma", gamma, 0.0, 1.0)
    th = _real(fn, "theta", theta, 0.0)
    n = _count(fn, "max_sweeps", max_sweeps, 0)
    rec = _flag(fn, "record", record)
    v, sweeps, history = value_iteration_sweeps(p, r, terminal, allowed, g, th, n, rec)
    _finite_or_fail(fn, v, sweeps)
    return (v, int(sweeps), history) if rec else (v, int(sweeps))


def optimal_q(
    mdp: TabularMDP, gamma: float = 1.0, theta: float = 1e-10, max_sweeps: int = 100_000
) -> np.ndarray:
    """q* float64[S, A] by value iteration (-inf where an action is not allowed)."""
    v, _ = value_iteration(mdp, gamma, theta, max_sweeps)
    return q_from_v(mdp, v, gamma)


def greedy_policy(
    mdp: TabularMDP,
    q_or_v: np.ndarray,
    gamma: float = 1.0,
    tol: float = 1e-9,
    ties: str = "uniform",
) -> np.ndarray:
    """The greedy policy float64[S, A] for action values float64[S, A] or state values
    float64[S] (then via ``q_from_v`` with ``gamma``). Allowed actions within ``tol`` of the
    best count as tied: ``ties="uniform"`` spreads the probability over them, ``"first"`` /
    ``"last"`` picks the lowest / highest such action deterministically."""
    fn = "greedy_policy"
    _, _, _, allowed = _mdp_arrays(mdp, fn)
    mode = _ties(fn, ties)
    t = _real(fn, "tol", tol, 0.0)
    arr = np.asarray(q_or_v, dtype=np.float64)
    S, A = mdp.n_states, mdp.n_actions
    if arr.shape == (S,):
        q = q_from_v(mdp, arr, gamma)
    elif arr.shape == (S, A):
        q = np.ascontiguousarray(arr)
        if not np.all(np.isfinite(q[allowed])):
            _fail(fn, "q_or_v", "finite wherever an action is allowed", "NaN or infinity")
    else:
        _fail(fn, "q_or_v", f"an array of shape ({S},) or ({S}, {A})", arr.shape)
    return greedy_kernel(q, allowed, t, mode)


def policy_iteration(
    mdp: TabularMDP,
    gamma: float = 1.0,
    policy: np.ndarray | None = None,
    tol: float = 1e-9,
    max_iterations: int = 10_000,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Policy iteration (Section 4.3) with exact evaluation (``state_values``).

    Starts from ``policy`` float64[S, A] (default: uniform over allowed actions, which ends
    episodes in every book env). Improvement keeps a state's action unless another is better by
    more than ``tol`` (so ties cannot make it cycle) and otherwise prefers, among near-best
    actions, the one least likely to leave the state unchanged. Returns (deterministic policy
    float64[S, A], v float64[S], iterations = number of evaluations). With gamma = 1 every policy
    visited must terminate; ``state_values`` raises a ValueError naming the states otherwise."""
    fn = "policy_iteration"
    p, r, terminal, allowed = _mdp_arrays(mdp, fn)
    g = _real(fn, "gamma", gamma, 0.0, 1.0)
    t = _real(fn, "tol", tol, 0.0)
    n = _count(fn, "max_iterations", max_iterations, 1)
    if policy is None:
        pi = uniform_policy(mdp)
    else:
        pi = check_policy(policy, mdp, name=f"{fn}: policy")
    deterministic = np.all((pi == 0.0) | (pi == 1.0), axis=1)
    current = np.where(deterministic, pi.argmax(axis=1), -1).astype(np.int64)
    for iteration in range(1, n + 1):
        v = _solve(p, r, terminal, pi, g, fn)
        q = q_from_v_kernel(p, r, terminal, allowed, v, g)
        current, changed = improve_policy_kernel(q, p, terminal, allowed, current, t)
        if not changed:
            return pi, v, iteration
        pi = np.zeros_like(pi)
        pi[np.arange(mdp.n_states), current] = 1.0
    raise RuntimeError(f"{fn}: the policy was still changing after {n} iterations")


__all__ = [
    "action_values",
    "greedy_policy",
    "optimal_q",
    "policy_evaluation",
    "policy_iteration",
    "q_from_v",
    "state_values",
    "value_iteration",
]
