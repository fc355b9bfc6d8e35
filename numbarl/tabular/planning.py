"""Planning and learning with tabular methods (Sutton & Barto, Chapter 8).

Dyna-Q and Dyna-Q+ (Sections 8.2-8.3) and prioritized sweeping (Section 8.4) on the mazes of
`numbarl.tabular.mazes` (plain arrays: ``Maze``). Expected against sample updates (Section 8.5)
and trajectory sampling (Section 8.6) live in `numbarl.tabular.trajectory_sampling`. The names
of both modules stay importable from here.

Models are arrays too: the deterministic model is ``model_next`` int64[S, A] and
``model_reward`` float64[S, A] with ``tried`` bool[S, A]; Dyna-Q+ adds ``last_tried`` int64[S, A]
(the real time step of the last try); prioritized sweeping keeps its queue in an array-backed
indexed max-heap (`heap_push`, `heap_pop`) keyed by the pair ``s * A + a`` and each state's
predecessors in linked lists over pairs. Every loop is ``@njit(cache=True)``; drivers take a
NamedTuple config of scalars and an ``np.random.Generator`` (advanced in place: the same
generator state gives the same bytes) and are ``nogil`` for `numbarl.runs.run_many`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from numbarl.config import make_config
from numbarl.tabular.mazes import (
    ACTION_MOVES,
    BLOCKING_MAZE,
    BLOCKING_MAZE_AFTER,
    DYNA_MAZE,
    SHORTCUT_MAZE,
    SHORTCUT_MAZE_AFTER,
    Maze,
    as_tabular_mdp,
    maze_from_grid,
    maze_from_text,
    scale_grid,
    shortest_path_length,
)
from numbarl.tabular.trajectory_sampling import (
    TrajectorySamplingConfig,
    greedy_start_value,
    make_trajectory_sampling_config,
    random_task,
    run_trajectory_sampling,
    sample_update_errors,
)
from numbarl.validation import NON_NEGATIVE, UNIT_OPEN_LOW

__all__ = [
    "ACTION_MOVES",
    "DynaConfig",
    "BLOCKING_MAZE",
    "BLOCKING_MAZE_AFTER",
    "DYNA_MAZE",
    "Maze",
    "SHORTCUT_MAZE",
    "SHORTCUT_MAZE_AFTER",
    "maze_from_text",
    "PrioritizedSweepingConfig",
    "TrajectorySamplingConfig",
    "as_tabular_mdp",
    "dyna_q_update",
    "greedy_path_length",
    "greedy_start_value",
    "heap_pop",
    "heap_push",
    "make_dyna_config",
    "make_prioritized_sweeping_config",
    "make_trajectory_sampling_config",
    "maze_from_grid",
    "random_task",
    "run_dyna",
    "run_prioritized_sweeping",
    "run_trajectory_sampling",
    "sample_update_errors",
    "scale_grid",
    "shortest_path_length",
]


# ---------------------------------------------------------------------------------------------
# Small kernels


@njit(cache=True, inline="always")
def max_row(q: np.ndarray, s: int) -> float:
    best = q[s, 0]
    for a in range(1, q.shape[1]):
        if q[s, a] > best:
            best = q[s, a]
    return best


@njit(cache=True, inline="always")
def epsilon_greedy(q: np.ndarray, s: int, epsilon: float, u: float) -> int:
    """Epsilon-greedy action of ``q[s]`` from one uniform ``u``: if ``u < epsilon`` the action
    ``floor(u / epsilon * A)``, else the greedy one with ties broken by the rescaled ``u``."""
    n_actions = q.shape[1]
    if u < epsilon:
        return min(int(u / epsilon * n_actions), n_actions - 1)
    best = max_row(q, s)
    n_best = 0
    for a in range(n_actions):
        if q[s, a] == best:
            n_best += 1
    j = min(int((u - epsilon) / (1.0 - epsilon) * n_best), n_best - 1)
    for a in range(n_actions):
        if q[s, a] == best:
            if j == 0:
                return a
            j -= 1
    return n_actions - 1


@njit(cache=True)
def dyna_q_update(
    q: np.ndarray, s: int, a: int, r: float, s_next: int, terminal: bool, alpha: float, gamma: float
) -> float:
    """One-step tabular Q-learning update of ``q`` float64[S, A] in place (the update Dyna-Q
    applies to real and to modelled transitions): ``Q(s, a) += alpha * (r + gamma * max_a'
    Q(s', a') - Q(s, a))``, with no bootstrap from a terminal ``s'``. Returns the TD error."""
    target = r if terminal else r + gamma * max_row(q, s_next)
    delta = target - q[s, a]
    q[s, a] += alpha * delta
    return delta


@njit(cache=True)
def greedy_path_length(q: np.ndarray, maze: Maze, limit: int) -> int:
    """Steps the greedy policy of ``q`` (first action on ties) takes from the start to a
    terminal state, or -1 if it needs more than ``limit`` steps (or loops)."""
    s = maze.start
    for t in range(limit + 1):
        if maze.terminal[s]:
            return t
        best = 0
        for a in range(1, q.shape[1]):
            if q[s, a] > q[s, best]:
                best = a
        s = maze.next_state[s, best]
    return -1


# ---------------------------------------------------------------------------------------------
# Dyna-Q and Dyna-Q+


class DynaConfig(NamedTuple):
    """Dyna-Q (``kappa = 0``) or Dyna-Q+ (``kappa > 0``: planning rewards ``r + kappa *
    sqrt(tau)``, tau the real steps since the pair was last tried; untried actions of visited
    states are planned with the model "stay put, reward 0", as the book's Dyna-Q+).

    The run stops after ``episodes`` episodes or ``max_total_steps`` real steps (0: no budget),
    whichever is first; with ``stop_path > 0`` it also stops after the first episode at whose
    end the greedy path from the start reaches the goal within ``stop_path`` steps (Example
    8.4's "optimal solution found")."""

    alpha: float = 0.1
    gamma: float = 0.95
    epsilon: float = 0.1
    planning_steps: int = 5
    kappa: float = 0.0
    episodes: int = 50
    max_total_steps: int = 0
    stop_path: int = 0

    _ranges = {  # read by numbarl.config.make_config (gamma, epsilon, episodes: by name)
        "alpha": UNIT_OPEN_LOW,
        "planning_steps": NON_NEGATIVE,
        "kappa": NON_NEGATIVE,
        "max_total_steps": NON_NEGATIVE,
        "stop_path": NON_NEGATIVE,
    }


@njit(cache=True, nogil=True)
def run_dyna(maze: Maze, maze_after: Maze, switch_step: int, cfg: DynaConfig, rng):
    """Dyna-Q (tabular, deterministic model; Section 8.2's algorithm) on ``maze``, which is
    replaced by ``maze_after`` once ``switch_step`` real steps are done (``switch_step < 0``:
    never). Planning picks a previously visited state uniformly, then one of its tried actions
    uniformly (Dyna-Q+: any action). Returns::

        q             float64[S, A]
        lengths       int64[E]    steps of each episode (the episode cut by the budget included)
        cum_reward    float64[T + 1]  reward collected by each real step (T = max_total_steps;
                                      length 1 without a budget)
        n_episodes    int         episodes completed
        updates       int         Q updates done, real and planned
    """
    n_states, n_actions = maze.next_state.shape
    q = np.zeros((n_states, n_actions))
    model_next = np.empty((n_states, n_actions), dtype=np.int64)
    model_reward = np.zeros((n_states, n_actions))
    tried = np.zeros((n_states, n_actions), dtype=np.bool_)
    last_tried = np.zeros((n_states, n_actions), dtype=np.int64)
    for s in range(n_states):
        for a in range(n_actions):
            model_next[s, a] = s  # Dyna-Q+'s model of an untried action: stay, reward 0
    visited = np.empty(n_states, dtype=np.int64)
    n_visited = 0
    is_visited = np.zeros(n_states, dtype=np.bool_)
    tried_list = np.empty((n_states, n_actions), dtype=np.int64)
    n_tried = np.zeros(n_states, dtype=np.int64)
    plus = cfg.kappa > 0.0
    budget = cfg.max_total_steps
    cum_reward = np.zeros(budget + 1)
    lengths = np.zeros(cfg.episodes, dtype=np.int64)
    n_episodes = 0
    updates = 0
    t = 0
    total = 0.0
    current = maze
    for episode in range(cfg.episodes):
        s = current.start
        length = 0
        while True:
            if switch_step >= 0 and t >= switch_step:
                current = maze_after
            if not is_visited[s]:
                is_visited[s] = True
                visited[n_visited] = s
                n_visited += 1
            a = epsilon_greedy(q, s, cfg.epsilon, rng.random())
            s_next = current.next_state[s, a]
            r = current.reward[s, a]
            done = current.terminal[s_next]
            dyna_q_update(q, s, a, r, s_next, done, cfg.alpha, cfg.gamma)
            updates += 1
            if not tried[s, a]:
                tried[s, a] = True
                tried_list[s, n_tried[s]] = a
                n_tried[s] += 1
            model_next[s, a] = s_next
            model_reward[s, a] = r
            t += 1
            last_tried[s, a] = t
            total += r
            if budget > 0:
                cum_reward[t] = total
            for _ in range(cfg.planning_steps):
                ps = visited[int(rng.random() * n_visited)]
                if plus:
                    pa = int(rng.random() * n_actions)
                else:
                    pa = tried_list[ps, int(rng.random() * n_tried[ps])]
                pn = model_next[ps, pa]
                pr = model_reward[ps, pa]
                if plus:
                    pr += cfg.kappa * np.sqrt(float(t - last_tried[ps, pa]))
                dyna_q_update(q, ps, pa, pr, pn, current.terminal[pn], cfg.alpha, cfg.gamma)
                updates += 1
            length += 1
            s = s_next
            if done or (budget > 0 and t >= budget):
                break
        lengths[episode] = length
        if not done:
            break
        n_episodes += 1
        if cfg.stop_path > 0 and greedy_path_length(q, current, cfg.stop_path) >= 0:
            break
    return q, lengths, cum_reward, n_episodes, updates


def make_dyna_config(**config: Any) -> DynaConfig:
    """A `DynaConfig` with validated, cast fields (floats as floats, ints as ints)."""
    return make_config(DynaConfig, config)


# ---------------------------------------------------------------------------------------------
# Prioritized sweeping: an array-backed indexed max-heap


@njit(cache=True)
def _sift_up(prio: np.ndarray, item: np.ndarray, pos: np.ndarray, i: int) -> None:
    p, k = prio[i], item[i]
    while i > 0:
        parent = (i - 1) >> 1
        if prio[parent] >= p:
            break
        prio[i] = prio[parent]
        item[i] = item[parent]
        pos[item[i]] = i
        i = parent
    prio[i] = p
    item[i] = k
    pos[k] = i


@njit(cache=True)
def _sift_down(prio: np.ndarray, item: np.ndarray, pos: np.ndarray, i: int, size: int) -> None:
    p, k = prio[i], item[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and prio[child + 1] > prio[child]:
            child += 1
        if prio[child] <= p:
            break
        prio[i] = prio[child]
        item[i] = item[child]
        pos[item[i]] = i
        i = child
    prio[i] = p
    item[i] = k
    pos[k] = i


@njit(cache=True)
def heap_push(
    prio: np.ndarray, item: np.ndarray, pos: np.ndarray, size: int, key: int, priority: float
) -> int:
    """Insert ``key`` with ``priority`` into the max-heap (``prio`` float64[cap], ``item``
    int64[cap], ``pos`` int64[n_keys] the slot of each key or -1); a key already queued keeps the
    larger of its two priorities. Returns the new size."""
    i = pos[key]
    if i >= 0:
        if priority > prio[i]:
            prio[i] = priority
            _sift_up(prio, item, pos, i)
        return size
    prio[size] = priority
    item[size] = key
    pos[key] = size
    _sift_up(prio, item, pos, size)
    return size + 1


@njit(cache=True)
def heap_pop(prio: np.ndarray, item: np.ndarray, pos: np.ndarray, size: int):
    """Remove the key of highest priority: returns (key, priority, new size). ``size`` >= 1."""
    key, priority = item[0], prio[0]
    pos[key] = -1
    size -= 1
    if size > 0:
        prio[0] = prio[size]
        item[0] = item[size]
        pos[item[0]] = 0
        _sift_down(prio, item, pos, 0, size)
    return key, priority, size


class PrioritizedSweepingConfig(NamedTuple):
    """Prioritized sweeping for a deterministic environment (Section 8.4's box): at most
    ``planning_steps`` updates per real step, pairs queued when their priority exceeds
    ``theta``. Stops as `DynaConfig` does (``episodes``, ``stop_path``)."""

    alpha: float = 0.5
    gamma: float = 0.95
    epsilon: float = 0.1
    planning_steps: int = 5
    theta: float = 1e-4
    episodes: int = 10_000
    stop_path: int = 0

    _ranges = {
        "alpha": UNIT_OPEN_LOW,
        "planning_steps": NON_NEGATIVE,
        "theta": NON_NEGATIVE,
        "stop_path": NON_NEGATIVE,
    }


@njit(cache=True, nogil=True)
def run_prioritized_sweeping(maze: Maze, cfg: PrioritizedSweepingConfig, rng):
    """Prioritized sweeping on a static deterministic ``maze``. As in the book's algorithm the
    real transition only updates the model and queues the pair (priority ``|r + gamma max Q(s',
    .) - Q(s, a)|``); Q changes only in the planning loop, which pops the top pair, updates it
    from the model and queues each predecessor (s-, a-) of its state whose priority exceeds
    ``theta``. Returns ``(q float64[S, A], lengths int64[E], n_episodes, updates)``."""
    n_states, n_actions = maze.next_state.shape
    n_pairs = n_states * n_actions
    q = np.zeros((n_states, n_actions))
    model_next = np.full(n_pairs, -1, dtype=np.int64)
    model_reward = np.zeros(n_pairs)
    # Predecessors of each state: linked lists over pairs (a pair is in one list: the model is
    # deterministic and the maze static).
    head = np.full(n_states, -1, dtype=np.int64)
    link = np.full(n_pairs, -1, dtype=np.int64)
    prio = np.empty(n_pairs)
    item = np.empty(n_pairs, dtype=np.int64)
    pos = np.full(n_pairs, -1, dtype=np.int64)
    size = 0
    lengths = np.zeros(cfg.episodes, dtype=np.int64)
    n_episodes = 0
    updates = 0
    for episode in range(cfg.episodes):
        s = maze.start
        length = 0
        while True:
            a = epsilon_greedy(q, s, cfg.epsilon, rng.random())
            s_next = maze.next_state[s, a]
            r = maze.reward[s, a]
            pair = s * n_actions + a
            if model_next[pair] < 0:
                link[pair] = head[s_next]
                head[s_next] = pair
            model_next[pair] = s_next
            model_reward[pair] = r
            target = r if maze.terminal[s_next] else r + cfg.gamma * max_row(q, s_next)
            p = abs(target - q[s, a])
            if p > cfg.theta:
                size = heap_push(prio, item, pos, size, pair, p)
            for _ in range(cfg.planning_steps):
                if size == 0:
                    break
                top, _, size = heap_pop(prio, item, pos, size)
                ts, ta = top // n_actions, top % n_actions
                tn = model_next[top]
                dyna_q_update(
                    q, ts, ta, model_reward[top], tn, maze.terminal[tn], cfg.alpha, cfg.gamma
                )
                updates += 1
                v_ts = max_row(q, ts)
                pred = head[ts]
                while pred >= 0:
                    bs, ba = pred // n_actions, pred % n_actions
                    p = abs(model_reward[pred] + cfg.gamma * v_ts - q[bs, ba])
                    if p > cfg.theta:
                        size = heap_push(prio, item, pos, size, pred, p)
                    pred = link[pred]
            length += 1
            s = s_next
            if maze.terminal[s]:
                break
        lengths[episode] = length
        n_episodes += 1
        if cfg.stop_path > 0 and greedy_path_length(q, maze, cfg.stop_path) >= 0:
            break
    return q, lengths, n_episodes, updates


def make_prioritized_sweeping_config(**config: Any) -> PrioritizedSweepingConfig:
    """A `PrioritizedSweepingConfig` with validated, cast fields."""
    return make_config(PrioritizedSweepingConfig, config)
