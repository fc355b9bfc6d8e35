"""Sutton & Barto's finite MDPs (2nd edition) as `TabularMDP` data.

Every builder returns a `TabularMDP` made by `from_transitions`, so one compiled sampler
(`envs.tabular.reset` / `envs.tabular.step`) and every DP routine and tabular learner serve them.
Gridworlds number states row-major (``state = row * n_cols + col``, row 0 at the top) and use
Gymnasium's action convention 0=up, 1=right, 2=down, 3=left. Terminal states carry reward-0
self-loops (as Gymnasium's ``P`` does); episodes and DP never use them. No time limit
(``max_steps=0``) unless stated.
"""

from __future__ import annotations

import numpy as np

from .tabular import TabularMDP, from_transitions

# Gridworld moves as (d_row, d_col), Gymnasium's order, then the king's diagonals clockwise.
UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
KING_MOVES = MOVES + ((-1, 1), (1, 1), (1, -1), (-1, -1))  # + up-right, down-right, ...
STAY = (0, 0)

# Example 6.5.
WINDY_SHAPE = (7, 10)
WINDY_START = (3, 0)
WINDY_GOAL = (3, 7)
WIND = (0, 0, 0, 1, 1, 1, 2, 2, 1, 0)  # upward push per column


# ---------------------------------------------------------------------------------------------
# Option checks (Python side, before anything is built)


def _int_option(name: str, field: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}: {field} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _float_option(name: str, field: str, value, lo: float = -np.inf, hi: float = np.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name}: {field} must be a real number, got {value!r}")
    x = float(value)
    if not np.isfinite(x) or x < lo or x > hi:
        raise ValueError(f"{name}: {field} must be a finite number in [{lo}, {hi}], got {value!r}")
    return x


def _bool_option(name: str, field: str, value) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}: {field} must be True or False, got {value!r}")
    return bool(value)


def _merge(outcomes: list) -> list:
    """Merge outcomes with the same (next_state, reward, terminated); drop zero probabilities."""
    merged: dict = {}
    for prob, s2, rew, done in outcomes:
        if prob > 0.0:
            key = (s2, rew, done)
            merged[key] = merged.get(key, 0.0) + prob
    return [(prob, s2, rew, done) for (s2, rew, done), prob in merged.items()]


def _self_loops(n_actions: int, s: int) -> dict:
    return {a: [(1.0, s, 0.0, True)] for a in range(n_actions)}


# ---------------------------------------------------------------------------------------------
# Chapter 6 / 7: random walks


def random_walk(
    n_states: int = 5, left_reward: float | None = None, right_reward: float = 1.0
) -> TabularMDP:
    """The random walk of Example 6.2 (``n_states=5``) and Figure 7.2 (``n_states=19``).

    States: 0 is the left terminal, 1..n_states the walk (A..E for 5 states), n_states + 1 the
    right terminal. Actions: 0=left, 1=right, deterministic; the book's walk is the uniform policy
    over the two (`numbarl.tabular.policies.uniform_policy`). The episode starts in the middle
    state. Leaving right pays ``right_reward``, leaving left ``left_reward``, every other step 0.
    ``left_reward=None`` means the book's value: -1 for the 19-state walk (Figure 7.2, Chapter
    12), 0 otherwise (Example 6.2). Under the uniform policy with gamma=1 the true values are
    linear: i / (n + 1) for left 0 and right 1 (1/6..5/6), (2i - n - 1) / (n + 1) for -1/+1.
    """
    name = "RandomWalk-v0"
    n = _int_option(name, "n_states", n_states, 3)
    if n % 2 == 0:
        raise ValueError(f"{name}: n_states must be odd (a middle start state), got {n_states!r}")
    if left_reward is None:
        left_reward = -1.0 if n == 19 else 0.0
    left = _float_option(name, "left_reward", left_reward)
    right = _float_option(name, "right_reward", right_reward)
    S = n + 2
    P = {0: _self_loops(2, 0), S - 1: _self_loops(2, S - 1)}
    for s in range(1, n + 1):
        P[s] = {
            0: [(1.0, s - 1, left if s == 1 else 0.0, s == 1)],
            1: [(1.0, s + 1, right if s == n else 0.0, s == n)],
        }
    start = np.zeros(S)
    start[(n + 1) // 2] = 1.0
    terminal = np.zeros(S, dtype=bool)
    terminal[[0, S - 1]] = True
    return from_transitions(P, S, 2, start, terminal=terminal, name=name)


# ---------------------------------------------------------------------------------------------
# Chapter 4: the small gridworld


def gridworld(size: int = 4) -> TabularMDP:
    """The gridworld of Example 4.1 (Figure 4.1): ``size`` x ``size`` cells numbered row-major,
    the corners 0 and size*size - 1 terminal, reward -1 on every step, actions 0=up 1=right
    2=down 3=left; a move off the grid leaves the state unchanged. Starts uniformly over the
    non-terminal states."""
    name = "Gridworld4x4-v0"
    n = _int_option(name, "size", size, 2)
    S = n * n
    terminal = np.zeros(S, dtype=bool)
    terminal[[0, S - 1]] = True
    P: dict = {}
    for s in range(S):
        if terminal[s]:
            P[s] = _self_loops(4, s)
            continue
        row, col = divmod(s, n)
        P[s] = {}
        for a, (dr, dc) in enumerate(MOVES):
            r2, c2 = row + dr, col + dc
            s2 = r2 * n + c2 if (0 <= r2 < n and 0 <= c2 < n) else s
            P[s][a] = [(1.0, s2, -1.0, bool(terminal[s2]))]
    start = (~terminal).astype(np.float64) / (S - 2)
    return from_transitions(P, S, 4, start, terminal=terminal, name=name)


# ---------------------------------------------------------------------------------------------
# Chapter 3: the 5x5 gridworld with the special states A and B

GRID5_A, GRID5_A_PRIME, GRID5_A_REWARD = (0, 1), (4, 1), 10.0
GRID5_B, GRID5_B_PRIME, GRID5_B_REWARD = (0, 3), (2, 3), 5.0


def gridworld_5x5() -> TabularMDP:
    """The continuing gridworld of Example 3.5 (Figures 3.2 and 3.5): 5 x 5 cells numbered
    row-major (``state = row * 5 + col``, row 0 at the top), actions 0=up(north) 1=right(east)
    2=down(south) 3=left(west). A move off the grid leaves the state unchanged with reward -1;
    every action from A (0, 1) moves to A' (4, 1) with +10, from B (0, 3) to B' (2, 3) with +5;
    every other move gives 0. No terminal state and no time limit, so use gamma < 1 (the book:
    0.9) and a time limit of your own for episodes. Starts uniformly over the 25 cells."""
    name = "Gridworld5x5-v0"
    n = 5
    S = n * n
    special = {
        GRID5_A: (GRID5_A_PRIME, GRID5_A_REWARD),
        GRID5_B: (GRID5_B_PRIME, GRID5_B_REWARD),
    }
    P: dict = {}
    for s in range(S):
        row, col = divmod(s, n)
        P[s] = {}
        for a, (dr, dc) in enumerate(MOVES):
            if (row, col) in special:
                (r2, c2), reward = special[(row, col)]
            elif 0 <= row + dr < n and 0 <= col + dc < n:
                (r2, c2), reward = (row + dr, col + dc), 0.0
            else:
                (r2, c2), reward = (row, col), -1.0
            P[s][a] = [(1.0, r2 * n + c2, reward, False)]
    start = np.full(S, 1.0 / S)
    return from_transitions(P, S, 4, start, terminal=np.zeros(S, dtype=bool), name=name)


# ---------------------------------------------------------------------------------------------
# Chapter 6: windy gridworld


def windy_gridworld(
    king_moves: bool = False, stay: bool = False, stochastic_wind: bool = False
) -> TabularMDP:
    """The windy gridworld of Example 6.5: 7 rows x 10 columns, state ``row * 10 + col``, start
    (3, 0) = state 30, goal (3, 7) = state 37 (terminal), reward -1 per step. The wind of the
    column the agent moves *from* pushes it up by ``WIND = 0 0 0 1 1 1 2 2 1 0`` cells; the
    result is clipped to the grid.

    Actions: 0=up 1=right 2=down 3=left; with ``king_moves`` (Exercise 6.9) also 4=up-right
    5=down-right 6=down-left 7=up-left; ``stay=True`` adds a last action that does not move (so
    the wind alone acts): index 8 with king's moves, 4 without. With ``stochastic_wind``
    (Exercise 6.10) the push in a windy column is the column's value, one more, or one less, each
    with probability 1/3; calm columns stay calm.
    """
    name = "WindyGridworld-v0"
    king = _bool_option(name, "king_moves", king_moves)
    stay_ = _bool_option(name, "stay", stay)
    stoch = _bool_option(name, "stochastic_wind", stochastic_wind)
    moves = list(KING_MOVES if king else MOVES) + ([STAY] if stay_ else [])
    rows, cols = WINDY_SHAPE
    S, A = rows * cols, len(moves)
    goal = WINDY_GOAL[0] * cols + WINDY_GOAL[1]
    terminal = np.zeros(S, dtype=bool)
    terminal[goal] = True
    P: dict = {}
    for s in range(S):
        if terminal[s]:
            P[s] = _self_loops(A, s)
            continue
        row, col = divmod(s, cols)
        w = WIND[col]
        pushes = (
            [(w, 1.0)] if (w == 0 or not stoch) else [(w, 1 / 3), (w + 1, 1 / 3), (w - 1, 1 / 3)]
        )
        P[s] = {}
        for a, (dr, dc) in enumerate(moves):
            outs = []
            for push, prob in pushes:
                r2 = min(max(row + dr - push, 0), rows - 1)
                c2 = min(max(col + dc, 0), cols - 1)
                s2 = r2 * cols + c2
                outs.append((prob, s2, -1.0, s2 == goal))
            P[s][a] = _merge(outs)
    start = np.zeros(S)
    start[WINDY_START[0] * cols + WINDY_START[1]] = 1.0
    return from_transitions(P, S, A, start, terminal=terminal, name=name)


# ---------------------------------------------------------------------------------------------
# Chapter 13: short corridor with switched actions


def short_corridor() -> TabularMDP:
    """The short corridor of Example 13.1: non-terminal states 0, 1, 2 and terminal 3, start 0,
    reward -1 per step, actions 0=left 1=right. Left in state 0 stays put; in state 1 the actions
    are reversed (right moves left to 0, left moves right to 2). With the same probability p of
    'right' in every state the start value is (2p - 4) / (p (1 - p)), maximal at p = 2 - sqrt(2)
    ~ 0.586 with value ~ -11.66."""
    name = "ShortCorridor-v0"
    P = {
        0: {0: [(1.0, 0, -1.0, False)], 1: [(1.0, 1, -1.0, False)]},
        1: {0: [(1.0, 2, -1.0, False)], 1: [(1.0, 0, -1.0, False)]},
        2: {0: [(1.0, 1, -1.0, False)], 1: [(1.0, 3, -1.0, True)]},
        3: _self_loops(2, 3),
    }
    terminal = np.array([False, False, False, True])
    return from_transitions(P, 4, 2, [1.0, 0.0, 0.0, 0.0], terminal=terminal, name=name)


# ---------------------------------------------------------------------------------------------
# Chapter 6: maximization bias


def maximization_bias(n_b_actions: int = 10, mean: float = -0.1, std: float = 1.0) -> TabularMDP:
    """The MDP of Figure 6.5. State A (0, the start) has two actions: 0=left moves to B with
    reward 0, 1=right ends the episode with reward 0. State B (1) has ``n_b_actions`` actions,
    each ending the episode with a reward drawn from N(mean, std**2) (``r[1, b] == mean``).
    State 2 is terminal. ``n_actions = max(2, n_b_actions)``; ``allowed`` gives A only its two
    actions (and B only its ``n_b_actions``)."""
    name = "MaximizationBias-v0"
    nb = _int_option(name, "n_b_actions", n_b_actions, 1)
    mu = _float_option(name, "mean", mean)
    sigma = _float_option(name, "std", std, lo=0.0)
    A = max(2, nb)
    P = {
        0: {0: [(1.0, 1, 0.0, False)], 1: [(1.0, 2, 0.0, True)]},
        1: {b: [(1.0, 2, mu, True, sigma)] for b in range(nb)},
        2: _self_loops(A, 2),
    }
    allowed = np.zeros((3, A), dtype=bool)
    allowed[0, :2] = True
    allowed[1, :nb] = True
    allowed[2, :] = True
    terminal = np.array([False, False, True])
    return from_transitions(P, 3, A, [1.0, 0.0, 0.0], terminal=terminal, allowed=allowed, name=name)


# ---------------------------------------------------------------------------------------------
# Chapter 4: gambler's problem


def gamblers_problem(p_h: float = 0.4, goal: int = 100) -> TabularMDP:
    """The gambler's problem of Example 4.3. States are the capital 0..goal (0 and ``goal``
    terminal); action ``a`` is the stake, 0..goal // 2, allowed in state s iff
    ``a <= min(s, goal - s)`` (stake 0 is allowed, as in the book, and leaves the capital
    unchanged). The coin comes up heads with probability ``p_h``: the gambler wins the stake,
    else loses it. Reward +1 on reaching the goal, 0 otherwise, so with gamma=1 the value is the
    probability of winning. Starts uniformly over 1..goal - 1."""
    name = "GamblersProblem-v0"
    ph = _float_option(name, "p_h", p_h, lo=0.0, hi=1.0)
    g = _int_option(name, "goal", goal, 2)
    S, A = g + 1, g // 2 + 1
    stakes = np.arange(A)
    capital = np.arange(S)
    allowed = stakes[None, :] <= np.minimum(capital, g - capital)[:, None]
    terminal = np.zeros(S, dtype=bool)
    terminal[[0, g]] = True
    P: dict = {0: {0: [(1.0, 0, 0.0, True)]}, g: {0: [(1.0, g, 0.0, True)]}}
    for s in range(1, g):
        P[s] = {}
        for a in range(min(s, g - s) + 1):
            win, lose = s + a, s - a
            P[s][a] = _merge(
                [
                    (ph, win, 1.0 if win == g else 0.0, win == g),
                    (1.0 - ph, lose, 0.0, lose == 0),
                ]
            )
    start = np.zeros(S)
    start[1:g] = 1.0 / (g - 1)
    return from_transitions(P, S, A, start, terminal=terminal, allowed=allowed, name=name)


__all__ = [
    "KING_MOVES",
    "MOVES",
    "WIND",
    "WINDY_GOAL",
    "WINDY_SHAPE",
    "WINDY_START",
    "gamblers_problem",
    "gridworld",
    "gridworld_5x5",
    "maximization_bias",
    "random_walk",
    "short_corridor",
    "windy_gridworld",
]
