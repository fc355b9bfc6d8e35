"""Mazes of Sutton & Barto's Chapter 8 as plain arrays (Figures 8.2-8.5, Example 8.4).

Every maze of the chapter is deterministic, so a `Maze` holds ``next_state`` int64[S, A] and
``reward`` float64[S, A] (one table lookup per step, no sampler) with ``terminal`` bool[S] and a
``start`` state. `maze_from_grid` builds one from a grid of walls; states are the cells
``row * cols + col`` (wall cells included, never entered); actions are 0 up, 1 down, 2 left,
3 right; a move into a wall or off the grid leaves the state unchanged; entering the goal pays
+1 and ends the episode, every other step pays 0. A changing maze (Figures 8.4, 8.5) is two
`Maze` values and the step at which the second replaces the first. `as_tabular_mdp` turns a
maze into a `TabularMDP` for DP and the other learners.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "ACTION_MOVES",
    "BLOCKING_MAZE",
    "BLOCKING_MAZE_AFTER",
    "DYNA_MAZE",
    "SHORTCUT_MAZE",
    "SHORTCUT_MAZE_AFTER",
    "Maze",
    "as_tabular_mdp",
    "maze_from_grid",
    "maze_from_text",
    "scale_grid",
    "shortest_path_length",
]

# (drow, dcol) of the actions 0 up, 1 down, 2 left, 3 right.
ACTION_MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))


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
# Figure 8.5 starts from the maze Figure 8.4 ends with; a second gap opens at the right end after
# 3,000 steps.
SHORTCUT_MAZE = BLOCKING_MAZE_AFTER
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
