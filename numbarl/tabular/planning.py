"""Planning and learning with tabular methods (Sutton & Barto, Chapter 8).

Dyna-Q and Dyna-Q+ (Sections 8.2-8.3), prioritized sweeping (Section 8.4), expected against
sample updates (Section 8.5, Figure 8.7) and trajectory sampling (Section 8.6, Figure 8.8).

Mazes are plain arrays, not `TabularMDP`s: every maze of the chapter is deterministic, so a
``Maze`` holds ``next_state`` int64[S, A] and ``reward`` float64[S, A] (one table lookup per
step, no sampler) with ``terminal`` bool[S] and a ``start`` state. ``maze_from_grid`` builds
one from a grid of walls; states are the cells ``row * cols + col`` (wall cells included, never
entered); actions are 0 up, 1 down, 2 left, 3 right; a move into a wall or off the grid leaves
the state unchanged; entering the goal pays +1 and ends the episode, every other step pays 0.
A changing maze (Figures 8.4, 8.5) is two ``Maze`` values and the step at which the second
replaces the first. `as_tabular_mdp` turns a maze into a `TabularMDP` for DP and the other
learners.

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

# (drow, dcol) of the actions 0 up, 1 down, 2 left, 3 right.
ACTION_MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))


# ---------------------------------------------------------------------------------------------
# Mazes


class Maze(NamedTuple):
    """A deterministic maze: ``next_state`` int64[S, A], ``reward`` float64[S, A] (paid on the
    move), ``terminal`` bool[S], ``start`` (a state index), ``rows`` and ``cols`` of the grid."""

    next_state: np.ndarray
    reward: np.ndarray
    terminal: np.ndarray
    start: int
    rows: int
    cols: int


def maze_from_grid(
    walls: np.ndarray | list[str], start: tuple[int, int], goal: tuple[int, int]
) -> Maze:
    """The maze of a grid of walls: ``walls`` bool[rows, cols] (or a list of strings, ``#`` a
    wall), ``start`` and ``goal`` as (row, col). Moves into a wall or off the grid stay put;
    entering ``goal`` pays +1 and ends the episode."""
    if isinstance(walls, list):
        walls = np.array([[ch == "#" for ch in line] for line in walls], dtype=bool)
    walls = np.asarray(walls, dtype=bool)
    if walls.ndim != 2:
        raise ValueError(f"walls must be a 2-D grid, got shape {walls.shape}")
    rows, cols = walls.shape
    for name, (r, c) in (("start", start), ("goal", goal)):
        if not (0 <= r < rows and 0 <= c < cols):
            raise ValueError(f"{name} {(r, c)} is outside the {rows}x{cols} grid")
        if walls[r, c]:
            raise ValueError(f"{name} {(r, c)} is a wall")
    n = rows * cols
    next_state = np.empty((n, 4), dtype=np.int64)
    reward = np.zeros((n, 4))
    g = goal[0] * cols + goal[1]
    for r in range(rows):
        for c in range(cols):
            s = r * cols + c
            for a, (dr, dc) in enumerate(ACTION_MOVES):
                r2, c2 = r + dr, c + dc
                if 0 <= r2 < rows and 0 <= c2 < cols and not walls[r2, c2]:
                    next_state[s, a] = r2 * cols + c2
                else:
                    next_state[s, a] = s
                if next_state[s, a] == g and s != g:
                    reward[s, a] = 1.0
    terminal = np.zeros(n, dtype=bool)
    terminal[g] = True
    next_state[g] = g
    reward[g] = 0.0
    return Maze(next_state, reward, terminal, int(start[0] * cols + start[1]), rows, cols)


# The book's mazes (Figures 8.2, 8.4, 8.5), '#' a wall, S the start, G the goal.
DYNA_MAZE = (
    ".......#G",
    "..#....#.",
    "S.#....#.",
    "..#......",
    ".....#...",
    ".........",
)
BLOCKING_MAZE = (  # the wall's gap moves from the right end to the left end after 1,000 steps
    "........G",
    ".........",
    ".........",
    "########.",
    ".........",
    "...S.....",
)
BLOCKING_MAZE_AFTER = (
    "........G",
    ".........",
    ".........",
    ".########",
    ".........",
    "...S.....",
)
SHORTCUT_MAZE = (  # a second gap opens at the right end after 3,000 steps
    "........G",
    ".........",
    ".........",
    ".########",
    ".........",
    "...S.....",
)
SHORTCUT_MAZE_AFTER = (
    "........G",
    ".........",
    ".........",
    ".#######.",
    ".........",
    "...S.....",
)


def maze_from_text(
    lines: tuple[str, ...] | list[str], row_factor: int = 1, col_factor: int = 1
) -> Maze:
    """The maze drawn by ``lines`` (``#`` wall, ``S`` start, ``G`` goal, ``.`` free), each cell
    scaled to a ``row_factor`` x ``col_factor`` block (Example 8.4). Scaled, the start is the
    top-left cell of its block and the goal the top-right cell of its block (the goal cell of
    the book's mazes is in the top-right corner)."""
    grid = np.array([[ch == "#" for ch in line] for line in lines], dtype=bool)
    if len({len(line) for line in lines}) != 1:
        raise ValueError("maze lines must have equal lengths")
    (sr,), (sc,) = np.nonzero(np.array([[ch == "S" for ch in line] for line in lines]))
    (gr,), (gc,) = np.nonzero(np.array([[ch == "G" for ch in line] for line in lines]))
    walls = scale_grid(grid, row_factor, col_factor)
    start = (int(sr) * row_factor, int(sc) * col_factor)
    goal = (int(gr) * row_factor, int(gc) * col_factor + col_factor - 1)
    return maze_from_grid(walls, start, goal)


def scale_grid(walls: np.ndarray, row_factor: int, col_factor: int) -> np.ndarray:
    """Each cell of ``walls`` bool[rows, cols] becomes a ``row_factor`` x ``col_factor`` block
    (Example 8.4's mazes of increasing resolution)."""
    return np.repeat(np.repeat(np.asarray(walls, dtype=bool), row_factor, 0), col_factor, 1)


def shortest_path_length(maze: Maze) -> int:
    """Fewest steps from the start to a terminal state (breadth-first search); -1 if none."""
    dist = np.full(maze.terminal.size, -1, dtype=np.int64)
    dist[maze.start] = 0
    frontier = [maze.start]
    while frontier:
        nxt = []
        for s in frontier:
            if maze.terminal[s]:
                return int(dist[s])
            for s2 in maze.next_state[s]:
                if dist[s2] < 0:
                    dist[s2] = dist[s] + 1
                    nxt.append(int(s2))
        frontier = nxt
    return -1


def as_tabular_mdp(maze: Maze):
    """The maze as a `numbarl.envs.TabularMDP` (for DP and the other tabular learners)."""
    from numbarl.envs.tabular import from_arrays

    n, a = maze.next_state.shape
    p = np.zeros((n, a, n))
    p[np.arange(n)[:, None], np.arange(a)[None, :], maze.next_state] = 1.0
    start = np.zeros(n)
    start[maze.start] = 1.0
    return from_arrays(p, maze.reward, maze.terminal, start)


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
    cfg = make_config(DynaConfig, config)
    _check_unit("DynaConfig", alpha=cfg.alpha, gamma=cfg.gamma, epsilon=cfg.epsilon)
    if cfg.alpha <= 0.0:
        raise ValueError(f"DynaConfig.alpha must be in (0, 1], got {cfg.alpha}")
    _check_nonnegative(
        "DynaConfig",
        planning_steps=cfg.planning_steps,
        kappa=cfg.kappa,
        max_total_steps=cfg.max_total_steps,
        stop_path=cfg.stop_path,
    )
    if cfg.episodes < 1:
        raise ValueError(f"DynaConfig.episodes must be >= 1, got {cfg.episodes}")
    return cfg


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
    cfg = make_config(PrioritizedSweepingConfig, config)
    _check_unit("PrioritizedSweepingConfig", alpha=cfg.alpha, gamma=cfg.gamma, epsilon=cfg.epsilon)
    if cfg.alpha <= 0.0:
        raise ValueError(f"PrioritizedSweepingConfig.alpha must be in (0, 1], got {cfg.alpha}")
    _check_nonnegative(
        "PrioritizedSweepingConfig",
        planning_steps=cfg.planning_steps,
        theta=cfg.theta,
        stop_path=cfg.stop_path,
    )
    if cfg.episodes < 1:
        raise ValueError(f"PrioritizedSweepingConfig.episodes must be >= 1, got {cfg.episodes}")
    return cfg


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
    cfg = make_config(TrajectorySamplingConfig, config)
    _check_unit("TrajectorySamplingConfig", termination=cfg.termination, epsilon=cfg.epsilon)
    if cfg.termination <= 0.0:
        raise ValueError(
            f"TrajectorySamplingConfig.termination must be in (0, 1], got {cfg.termination}"
        )
    for field in ("n_states", "branching", "updates", "eval_every"):
        if getattr(cfg, field) < 1:
            raise ValueError(
                f"TrajectorySamplingConfig.{field} must be >= 1, got {getattr(cfg, field)}"
            )
    if cfg.tolerance <= 0.0:
        raise ValueError(f"TrajectorySamplingConfig.tolerance must be > 0, got {cfg.tolerance}")
    return cfg


# ---------------------------------------------------------------------------------------------
# Validation helpers


def _check_unit(name: str, **values: float) -> None:
    for field, value in values.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}.{field} must be in [0, 1], got {value}")


def _check_nonnegative(name: str, **values: float) -> None:
    for field, value in values.items():
        if value < 0:
            raise ValueError(f"{name}.{field} must be >= 0, got {value}")
