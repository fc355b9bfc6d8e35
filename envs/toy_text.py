"""Gymnasium's toy-text environments as `TabularMDP` data.

Each builder makes Gymnasium's transition table ``P[s][a] = [(prob, next, reward, terminated)]``
once in Python, in Gymnasium's state and action numbering and in Gymnasium's outcome order, and
hands it to `from_transitions`. Because the compiled sampler (`envs.tabular.reset` / `step`)
draws one uniform per reset and per step exactly as Gymnasium's ``categorical_sample`` does, the
same ``np.random.Generator`` seed gives Gymnasium's trajectories for FrozenLake, CliffWalking and
Taxi. ``max_steps`` is Gymnasium's registered time limit (``<= 0``: none).

FrozenLake-v1 / FrozenLake8x8-v1
    ``state = row * ncol + col``; actions 0=left, 1=down, 2=right, 3=up. Holes and goals are
    terminal (reward-0 self-loops, as in Gymnasium's ``P``).
CliffWalking-v1 / CliffWalkingSlippery-v1
    4x12 grid, ``state = row * 12 + col``, start 36, goal 47; actions 0=up, 1=right, 2=down,
    3=left; -1 per step, -100 and back to the start for the cliff. No time limit in Gymnasium.
Taxi-v4
    ``state = ((taxi_row * 5 + taxi_col) * 5 + passenger) * 4 + destination``; actions 0=south,
    1=north, 2=east, 3=west, 4=pickup, 5=dropoff. Gymnasium flags termination on the dropoff
    transition; a `TabularMDP` ends an episode by the state entered. The two agree on every
    reachable state. Only in unreachable states (passenger already at its destination, taxi
    elsewhere) does a move onto the destination enter one of the 4 terminal states without
    Gymnasium's flag. Here such moves are flagged terminated. ``p`` and ``r`` equal Gymnasium's.
    ``fickle_passenger`` is refused: whether the passenger may still change destination is
    hidden state (drawn at reset), so the dynamics are not Markov in Gymnasium's 500 states.

Blackjack-v1 (infinite deck; actions 0=stick, 1=hit); 715 states:
    0..703
        Gymnasium's observation ``(player_sum, dealer_card, usable_ace)`` flattened as
        ``(player_sum * 11 + dealer_card) * 2 + usable_ace`` (``np.ravel_multi_index`` over
        ``(32, 11, 2)``); see `blackjack_state` / `blackjack_decode`. Observations that cannot
        occur before the game ends (dealer card 0, usable_ace=0 with sum < 4 or > 21,
        usable_ace=1 with sum < 12 or > 21) are marked terminal with reward-0 self-loops and are
        never entered.
    704 (`BLACKJACK_END`)
        The absorbing end of the game, entered by every terminating transition (bust after a
        hit, or stick). The reward of that transition is Gymnasium's: -1/0/+1 by comparing
        scores, with +1.5 for a winning natural when ``natural=True``, or +1 for any natural
        that the dealer does not match when ``sab=True``. Gymnasium's final observation after
        a stick can equal a live state, so it cannot serve as the terminal state.
    705..714 (`blackjack_state(21, d, 1, natural=True)` = ``705 + d - 1``)
        The player's first hand is a natural (ace and ten) and the dealer shows ``d``. It
        is observed as ``(21, d, 1)``, like any soft 21. A natural is only possible before
        the first hit, and it changes the reward of sticking under ``natural``/``sab``. The
        state exists whatever the options, so the numbering is fixed; with
        ``natural=sab=False`` it behaves like state ``blackjack_state(21, d, 1)``.
    The start distribution (two player cards and the dealer's showing card, 1-9 with
    probability 1/13 each, 10 with 4/13) and the dealer's play after a stick (a hidden card, then
    hits while ``sum_hand < 17``, an ace counting 11 while that keeps the sum <= 21, so the
    dealer sticks on soft 17) are enumerated exactly with fractions. A player observation is
    Markov: once a hand's ace cannot count 11 (sum >= 12 without it), no later ace can.
    Sutton & Barto (Example 5.1): every setting has the book's dealer (sticks on 17 or more).
    ``blackjack(natural=False, sab=False)`` is the book's game without the 1.5 bonus, with a
    natural scored like any other 21 (a draw against a dealer's 21). The book also rules that a
    natural wins +1 unless the dealer has one too (then a draw): that is ``sab=True``,
    Gymnasium's registered default. In the book a natural ends the game at once; here, as in
    Gymnasium, the player still chooses (sticking on it is optimal).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from .tabular import TabularMDP, from_transitions

# ---------------------------------------------------------------------------------------------
# Option checks (Python side, before anything is built)


def _bool_option(name: str, field: str, value) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}: {field} must be True or False, got {value!r}")
    return bool(value)


def _int_option(name: str, field: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}: {field} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _float_option(name: str, field: str, value, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name}: {field} must be a real number in [{lo}, {hi}], got {value!r}")
    x = float(value)
    if not (lo <= x <= hi):  # also rejects NaN
        raise ValueError(f"{name}: {field} must be in [{lo}, {hi}], got {value!r}")
    return x


def _max_steps(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name}: max_steps must be an integer (<= 0 for no limit), got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------------------------
# FrozenLake

FROZEN_LAKE_MAPS: dict[str, list[str]] = {
    "4x4": ["SFFF", "FHFH", "FFFH", "HFFG"],
    "8x8": [
        "SFFFFFFF",
        "FFFFFFFF",
        "FFFHFFFF",
        "FFFFFHFF",
        "FFFHFFFF",
        "FHHFFFHF",
        "FHFFHFHF",
        "FFFHFFFG",
    ],
}
_LEFT, _DOWN, _RIGHT, _UP = 0, 1, 2, 3


def _goal_reachable(board: np.ndarray, size: int) -> bool:
    """Gymnasium's ``is_valid``: depth-first search from (0, 0) through non-hole tiles."""
    frontier, discovered = [(0, 0)], set()
    while frontier:
        r, c = frontier.pop()
        if (r, c) not in discovered:
            discovered.add((r, c))
            for x, y in ((1, 0), (0, 1), (-1, 0), (0, -1)):
                r_new, c_new = r + x, c + y
                if r_new < 0 or r_new >= size or c_new < 0 or c_new >= size:
                    continue
                if board[r_new][c_new] == "G":
                    return True
                if board[r_new][c_new] != "H":
                    frontier.append((r_new, c_new))
    return False


def generate_random_map(size: int = 8, p: float = 0.8, seed: int | None = None) -> list[str]:
    """A random ``size`` x ``size`` FrozenLake map with a path from start to goal; each tile
    other than the corners is frozen with probability ``p``. Equal to Gymnasium's
    ``frozen_lake.generate_random_map(size, p, seed)`` for the same seed."""
    size = _int_option("generate_random_map", "size", size, 1)
    p = _float_option("generate_random_map", "p", p, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    while True:
        board = rng.choice(["F", "H"], (size, size), p=[p, 1 - p])
        board[0][0] = "S"
        board[-1][-1] = "G"
        if _goal_reachable(board, size):
            return ["".join(row) for row in board]


def _frozen_lake_desc(map_name, desc) -> list[str]:
    name = "FrozenLake"
    if desc is None:
        if map_name not in FROZEN_LAKE_MAPS:
            raise ValueError(
                f"{name}: map_name must be one of {sorted(FROZEN_LAKE_MAPS)} (or pass desc, a "
                f"list of equal-length strings of S, F, H, G, e.g. from generate_random_map), "
                f"got {map_name!r}"
            )
        return list(FROZEN_LAKE_MAPS[map_name])
    if isinstance(desc, str | bytes) or not isinstance(desc, Sequence | np.ndarray):
        raise ValueError(
            f"{name}: desc must be a list of strings (rows of S, F, H, G), got {desc!r}"
        )
    rows = []
    for i, row in enumerate(desc):
        if isinstance(row, bytes):
            row = row.decode()
        elif isinstance(row, np.ndarray | list | tuple):
            row = "".join(x.decode() if isinstance(x, bytes) else str(x) for x in row)
        if not isinstance(row, str):
            raise ValueError(f"{name}: desc row {i} must be a string of S, F, H, G, got {row!r}")
        rows.append(row)
    if not rows or not rows[0]:
        raise ValueError(f"{name}: desc must have at least one non-empty row, got {desc!r}")
    if any(len(row) != len(rows[0]) for row in rows):
        lengths = [len(row) for row in rows]
        raise ValueError(f"{name}: desc rows must all have the same length, got lengths {lengths}")
    bad = sorted({ch for row in rows for ch in row} - set("SFHG"))
    if bad:
        raise ValueError(
            f"{name}: desc may contain only 'S' (start), 'F' (frozen), 'H' (hole) and 'G' "
            f"(goal), got {bad}"
        )
    if not any("S" in row for row in rows):
        raise ValueError(f"{name}: desc must contain at least one start tile 'S'")
    if not any("G" in row for row in rows):
        raise ValueError(f"{name}: desc must contain at least one goal tile 'G'")
    return rows


def frozen_lake(
    map_name: str = "4x4",
    desc: Sequence[str] | None = None,
    is_slippery: bool = True,
    success_rate: float = 1.0 / 3.0,
    reward_schedule: Sequence[float] = (1, 0, 0),
    max_steps: int = 100,
) -> TabularMDP:
    """Gymnasium's FrozenLake-v1: ``map_name`` "4x4" or "8x8", or a custom map ``desc`` (rows of
    'S' start, 'F' frozen, 'H' hole, 'G' goal; it overrides ``map_name``). When slippery, the move
    goes in the intended direction with probability ``success_rate`` and to either perpendicular
    side with ``(1 - success_rate) / 2``. ``reward_schedule`` is the reward for entering
    (goal, hole, frozen or start). ``max_steps``: 100 for FrozenLake-v1, 200 for FrozenLake8x8-v1.
    States ``row * ncol + col``, actions 0=left, 1=down, 2=right, 3=up."""
    name = "FrozenLake"
    rows = _frozen_lake_desc(map_name, desc)
    is_slippery = _bool_option(name, "is_slippery", is_slippery)
    success_rate = _float_option(name, "success_rate", success_rate, 0.0, 1.0)
    if isinstance(reward_schedule, str) or len(reward_schedule) != 3:
        raise ValueError(
            f"{name}: reward_schedule must be 3 numbers (goal, hole, frozen), "
            f"got {reward_schedule!r}"
        )
    schedule = [
        _float_option(name, f"reward_schedule[{i}]", x, -np.inf, np.inf)
        for i, x in enumerate(reward_schedule)
    ]
    if not all(np.isfinite(schedule)):
        raise ValueError(f"{name}: reward_schedule must be finite, got {reward_schedule!r}")
    max_steps = _max_steps(name, max_steps)

    nrow, ncol = len(rows), len(rows[0])
    n_states = nrow * ncol
    fail_rate = (1.0 - success_rate) / 2.0

    def move(row: int, col: int, a: int) -> tuple[int, float, bool]:
        if a == _LEFT:
            col = max(col - 1, 0)
        elif a == _DOWN:
            row = min(row + 1, nrow - 1)
        elif a == _RIGHT:
            col = min(col + 1, ncol - 1)
        else:
            row = max(row - 1, 0)
        letter = rows[row][col]
        reward = schedule["GHF".index(letter if letter in "GHF" else "F")]
        return row * ncol + col, reward, letter in "GH"

    P: dict[int, dict[int, list]] = {}
    for row in range(nrow):
        for col in range(ncol):
            s = row * ncol + col
            P[s] = {}
            for a in range(4):
                if rows[row][col] in "GH":
                    P[s][a] = [(1.0, s, 0.0, True)]
                elif is_slippery:
                    P[s][a] = [
                        (success_rate if b == a else fail_rate, *move(row, col, b))
                        for b in ((a - 1) % 4, a, (a + 1) % 4)
                    ]
                else:
                    P[s][a] = [(1.0, *move(row, col, a))]
    start = np.array([ch == "S" for row in rows for ch in row], dtype=np.float64)
    start /= start.sum()
    return from_transitions(P, n_states, 4, start, max_steps=max_steps, name=name)


# ---------------------------------------------------------------------------------------------
# CliffWalking

_CLIFF_SHAPE = (4, 12)
_CLIFF_START = 36
_CLIFF_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left


def cliff_walking(is_slippery: bool = False, max_steps: int = 0) -> TabularMDP:
    """Gymnasium's CliffWalking-v1 (``is_slippery=True``: CliffWalkingSlippery-v1, where the move
    goes in the intended or either perpendicular direction with probability 1/3 each). 4x12 grid,
    states ``row * 12 + col``, start 36, goal 47 (terminal); actions 0=up, 1=right, 2=down,
    3=left. -1 per step; stepping into the cliff gives -100 and returns to the start.
    Gymnasium registers no time limit, hence ``max_steps=0``."""
    name = "CliffWalking"
    is_slippery = _bool_option(name, "is_slippery", is_slippery)
    max_steps = _max_steps(name, max_steps)
    nrow, ncol = _CLIFF_SHAPE
    n_states = nrow * ncol
    P: dict[int, dict[int, list]] = {}
    for s in range(n_states):
        row, col = divmod(s, ncol)
        P[s] = {}
        for a in range(4):
            moves = (a,) if not is_slippery else ((a - 1) % 4, a, (a + 1) % 4)
            outcomes = []
            for b in moves:
                r2 = min(max(row + _CLIFF_MOVES[b][0], 0), nrow - 1)
                c2 = min(max(col + _CLIFF_MOVES[b][1], 0), ncol - 1)
                if r2 == nrow - 1 and 0 < c2 < ncol - 1:  # the cliff
                    outcomes.append((1 / len(moves), _CLIFF_START, -100.0, False))
                else:
                    done = (r2, c2) == (nrow - 1, ncol - 1)
                    outcomes.append((1 / len(moves), r2 * ncol + c2, -1.0, done))
            P[s][a] = outcomes
    start = np.zeros(n_states)
    start[_CLIFF_START] = 1.0
    return from_transitions(P, n_states, 4, start, max_steps=max_steps, name=name)


# ---------------------------------------------------------------------------------------------
# Taxi

_TAXI_MAP = [
    "+---------+",
    "|R: | : :G|",
    "| : | : : |",
    "| : : : : |",
    "| | : | : |",
    "|Y| : |B: |",
    "+---------+",
]
_TAXI_LOCS = [(0, 0), (0, 4), (4, 0), (4, 3)]  # R, G, Y, B
# (forward, left, right) per movement action, Gymnasium's rainy convention.
_TAXI_RAINY_MOVES = {
    0: ((1, 0), (0, 1), (0, -1)),
    1: ((-1, 0), (0, -1), (0, 1)),
    2: ((0, 1), (-1, 0), (1, 0)),
    3: ((0, -1), (1, 0), (-1, 0)),
}


def taxi_encode(taxi_row: int, taxi_col: int, passenger: int, destination: int) -> int:
    """Gymnasium's Taxi state: ``((taxi_row * 5 + taxi_col) * 5 + passenger) * 4 + destination``
    (passenger 0-3 = R, G, Y, B, 4 = in the taxi; destination 0-3)."""
    return ((taxi_row * 5 + taxi_col) * 5 + passenger) * 4 + destination


def taxi_decode(s: int) -> tuple[int, int, int, int]:
    """Inverse of `taxi_encode`: (taxi_row, taxi_col, passenger, destination)."""
    if not 0 <= s < 500:
        raise ValueError(f"Taxi: state must be in 0..499, got {s!r}")
    rest, destination = divmod(int(s), 4)
    rest, passenger = divmod(rest, 5)
    taxi_row, taxi_col = divmod(rest, 5)
    return taxi_row, taxi_col, passenger, destination


def taxi(
    is_rainy: bool = False,
    fickle_passenger: bool = False,
    max_steps: int = 200,
    rainy_probability: float = 0.8,
    fickle_probability: float = 0.3,
) -> TabularMDP:
    """Gymnasium's Taxi-v4 (500 states, see `taxi_encode`; actions 0=south, 1=north, 2=east,
    3=west, 4=pickup, 5=dropoff). -1 per step, +20 for delivering (terminates), -10 for an illegal
    pickup or dropoff. ``is_rainy``: a possible move goes forward with ``rainy_probability`` and
    to either side with half the rest (an impossible move stays put). Start: uniform over the 300
    states whose passenger waits at a location other than its destination.

    ``fickle_passenger=True`` (with ``fickle_probability > 0``) raises ValueError: Gymnasium
    decides at reset, hidden from the observation, whether the passenger will change destination
    on the first move after pickup, so those dynamics are not Markov in the 500 states."""
    name = "Taxi"
    is_rainy = _bool_option(name, "is_rainy", is_rainy)
    fickle_passenger = _bool_option(name, "fickle_passenger", fickle_passenger)
    rainy_p = _float_option(name, "rainy_probability", rainy_probability, 0.0, 1.0)
    fickle_p = _float_option(name, "fickle_probability", fickle_probability, 0.0, 1.0)
    max_steps = _max_steps(name, max_steps)
    if fickle_passenger and fickle_p > 0.0:
        raise ValueError(
            f"{name}: fickle_passenger=True cannot be represented exactly: whether the passenger "
            "will still change destination is decided at reset and is not part of Gymnasium's "
            "500-state observation, so the dynamics are not Markov in it. Allowed: "
            "fickle_passenger=False (or fickle_probability=0)"
        )
    desc = _TAXI_MAP
    lateral_p = (1.0 - rainy_p) / 2.0

    def pickup(loc, pass_idx):
        if pass_idx < 4 and loc == _TAXI_LOCS[pass_idx]:
            return 4, -1.0
        return pass_idx, -10.0

    def dropoff(loc, pass_idx, dest_idx):
        if loc == _TAXI_LOCS[dest_idx] and pass_idx == 4:
            return dest_idx, 20.0, True
        if loc in _TAXI_LOCS and pass_idx == 4:
            return _TAXI_LOCS.index(loc), -1.0, False
        return pass_idx, -10.0, False

    def lateral(row, col, dr, dc):  # Gymnasium's _calc_new_position
        new_row, new_col = max(0, min(row + dr, 4)), max(0, min(col + dc, 4))
        if dc == 1 and desc[1 + new_row][2 * new_col] != ":":
            return row, col
        if dc == -1 and desc[1 + new_row][2 * new_col + 2] != ":":
            return row, col
        return new_row, new_col

    def dry(row, col, pass_idx, dest_idx, a):
        new_row, new_col, new_pass, reward, done = row, col, pass_idx, -1.0, False
        if a == 0:
            new_row = min(row + 1, 4)
        elif a == 1:
            new_row = max(row - 1, 0)
        if a == 2 and desc[1 + row][2 * col + 2] == ":":
            new_col = min(col + 1, 4)
        elif a == 3 and desc[1 + row][2 * col] == ":":
            new_col = max(col - 1, 0)
        elif a == 4:
            new_pass, reward = pickup((row, col), pass_idx)
        elif a == 5:
            new_pass, reward, done = dropoff((row, col), pass_idx, dest_idx)
        return [(1.0, taxi_encode(new_row, new_col, new_pass, dest_idx), reward, done)]

    def rainy(row, col, pass_idx, dest_idx, a):
        new_row, new_col, new_pass, reward, done = row, col, pass_idx, -1.0, False
        left = right = (row, col)
        if (
            (a == 0 and row < 4)
            or (a == 1 and row > 0)
            or (a == 2 and desc[1 + row][2 * col + 2] == ":")
            or (a == 3 and desc[1 + row][2 * col] == ":")
        ):
            dr, dc = _TAXI_RAINY_MOVES[a][0]
            new_row, new_col = max(0, min(row + dr, 4)), max(0, min(col + dc, 4))
            left = lateral(row, col, *_TAXI_RAINY_MOVES[a][1])
            right = lateral(row, col, *_TAXI_RAINY_MOVES[a][2])
        elif a == 4:
            new_pass, reward = pickup((row, col), pass_idx)
        elif a == 5:
            new_pass, reward, done = dropoff((row, col), pass_idx, dest_idx)
        intended = taxi_encode(new_row, new_col, new_pass, dest_idx)
        if a > 3:
            return [(1.0, intended, reward, done)]
        return [
            (rainy_p, intended, -1.0, done),
            (lateral_p, taxi_encode(*left, new_pass, dest_idx), -1.0, done),
            (lateral_p, taxi_encode(*right, new_pass, dest_idx), -1.0, done),
        ]

    # The 4 states a delivery enters; entering them ends the episode (see the module docstring).
    terminal_states = {taxi_encode(*_TAXI_LOCS[d], d, d) for d in range(4)}
    build = rainy if is_rainy else dry
    P: dict[int, dict[int, list]] = {s: {} for s in range(500)}
    start = np.zeros(500)
    for row in range(5):
        for col in range(5):
            for pass_idx in range(5):
                for dest_idx in range(4):
                    s = taxi_encode(row, col, pass_idx, dest_idx)
                    if pass_idx < 4 and pass_idx != dest_idx:
                        start[s] += 1.0
                    for a in range(6):
                        P[s][a] = [
                            (p, s2, rew, done or s2 in terminal_states)
                            for p, s2, rew, done in build(row, col, pass_idx, dest_idx, a)
                        ]
    start /= start.sum()
    return from_transitions(P, 500, 6, start, max_steps=max_steps, name=name)


# ---------------------------------------------------------------------------------------------
# Blackjack

BLACKJACK_N_OBS = 32 * 11 * 2  # Gymnasium's observation space, flattened
BLACKJACK_END = BLACKJACK_N_OBS  # 704: absorbing end of the game
BLACKJACK_NATURAL = BLACKJACK_N_OBS + 1  # 705..714: natural first hand, dealer showing 1..10
BLACKJACK_N_STATES = BLACKJACK_NATURAL + 10
# Infinite deck: 1 (ace) .. 9 with probability 1/13 each, 10 (ten, J, Q, K) with 4/13.
_CARDS = tuple((c, Fraction(4 if c == 10 else 1, 13)) for c in range(1, 11))


def blackjack_state(
    player_sum: int, dealer_card: int, usable_ace: int | bool, *, natural: bool = False
) -> int:
    """State index of Gymnasium's observation ``(player_sum, dealer_card, usable_ace)``:
    ``(player_sum * 11 + dealer_card) * 2 + usable_ace`` in 0..703. With ``natural=True``, the
    natural-first-hand state ``705 + dealer_card - 1`` (requires ``(21, dealer_card, 1)``)."""
    if not (0 <= player_sum < 32 and 0 <= dealer_card < 11 and int(usable_ace) in (0, 1)):
        raise ValueError(
            "Blackjack: observation must have player_sum in 0..31, dealer_card in 0..10 and "
            f"usable_ace 0 or 1, got {(player_sum, dealer_card, usable_ace)!r}"
        )
    if natural:
        if player_sum != 21 or not usable_ace or not 1 <= dealer_card <= 10:
            raise ValueError(
                "Blackjack: a natural state is (21, dealer_card in 1..10, 1), got "
                f"{(player_sum, dealer_card, usable_ace)!r}"
            )
        return BLACKJACK_NATURAL + dealer_card - 1
    return (int(player_sum) * 11 + int(dealer_card)) * 2 + int(usable_ace)


def blackjack_decode(s: int) -> tuple[int, int, int]:
    """Gymnasium's observation ``(player_sum, dealer_card, usable_ace)`` of state ``s``; a natural
    state 705..714 decodes to ``(21, dealer_card, 1)``. The end state 704 has no observation
    (ValueError)."""
    if not (isinstance(s, int | np.integer) and 0 <= s < BLACKJACK_N_STATES) or s == BLACKJACK_END:
        raise ValueError(
            f"Blackjack: state must be in 0..{BLACKJACK_END - 1} or {BLACKJACK_NATURAL}.."
            f"{BLACKJACK_N_STATES - 1} ({BLACKJACK_END} is the end of the game), got {s!r}"
        )
    if s >= BLACKJACK_NATURAL:
        return 21, int(s) - BLACKJACK_NATURAL + 1, 1
    rest, usable = divmod(int(s), 2)
    player_sum, dealer_card = divmod(rest, 11)
    return player_sum, dealer_card, usable


def _hand_value(raw: int, has_ace: bool) -> tuple[int, int]:
    """Gymnasium's ``_hand_sum_and_usable_ace`` from the sum with aces as 1."""
    if has_ace and raw + 10 <= 21:
        return raw + 10, 1
    return raw, 0


def _dealer_distribution(shown: int) -> dict:
    """Exact distribution of the dealer's final hand after a stick, given the showing card:
    keys 17..21 (sum), 0 (bust) and "natural" (a two-card 21), values Fractions."""
    out: dict = {}
    memo: dict = {}

    def finals(raw: int, has_ace: bool) -> dict:
        if (raw, has_ace) in memo:
            return memo[raw, has_ace]
        total, _ = _hand_value(raw, has_ace)
        if total >= 17:
            dist = {0 if total > 21 else total: Fraction(1)}
        else:
            dist = {}
            for c, pc in _CARDS:
                for k, v in finals(raw + c, has_ace or c == 1).items():
                    dist[k] = dist.get(k, Fraction(0)) + pc * v
        memo[raw, has_ace] = dist
        return dist

    for hidden, ph in _CARDS:
        if sorted((shown, hidden)) == [1, 10]:
            out["natural"] = out.get("natural", Fraction(0)) + ph
            continue
        for k, v in finals(shown + hidden, shown == 1 or hidden == 1).items():
            out[k] = out.get(k, Fraction(0)) + ph * v
    return out


def _stick_outcomes(player: int, dealer: dict, natural_hand: bool, natural: bool, sab: bool):
    """Exact reward distribution of sticking on ``player`` (<= 21) against ``dealer``, following
    Gymnasium's ``cmp`` and natural/sab rules. Returns [(prob, reward)] with prob > 0."""
    rewards: dict[float, Fraction] = {}
    for key, prob in dealer.items():
        dealer_score = 21 if key == "natural" else key
        reward = float(player > dealer_score) - float(player < dealer_score)
        if natural_hand and sab:
            reward = 1.0 if key != "natural" else reward
        elif natural_hand and natural and reward == 1.0:
            reward = 1.5
        rewards[reward] = rewards.get(reward, Fraction(0)) + prob
    return [(rewards[rew], rew) for rew in sorted(rewards) if rewards[rew] > 0]


def _live_observation(player_sum: int, dealer_card: int, usable_ace: int) -> bool:
    if not 1 <= dealer_card <= 10:
        return False
    return 12 <= player_sum <= 21 if usable_ace else 4 <= player_sum <= 21


def blackjack(natural: bool = False, sab: bool = False, max_steps: int = 0) -> TabularMDP:
    """Gymnasium's Blackjack-v1 with an infinite deck, as an exact 715-state MDP (states
    0..703 are Gymnasium's flattened observations, 704 the end of the game, 705..714 a natural
    first hand per dealer card; see the module docstring). Actions 0=stick, 1=hit.

    ``natural``: a winning natural pays 1.5. ``sab`` (overrides ``natural``): Sutton & Barto's
    rule that a natural wins +1 unless the dealer also has one. Blackjack-v1 is registered with
    ``sab=True``. The plain game ``blackjack(natural=False, sab=False)`` keeps the book's dealer
    (sticks on 17+) and has no natural bonus. Gymnasium has no time limit (``max_steps=0``)."""
    name = "Blackjack"
    natural = _bool_option(name, "natural", natural)
    sab = _bool_option(name, "sab", sab)
    max_steps = _max_steps(name, max_steps)
    dealer = {d: _dealer_distribution(d) for d in range(1, 11)}
    end = BLACKJACK_END

    def hit(player_sum: int, usable_ace: int, d: int) -> list:
        raw = player_sum - 10 if usable_ace else player_sum
        merged: dict = {}
        for c, pc in _CARDS:
            # A non-usable ace can never become usable again (raw >= 12), so only a new ace or a
            # usable one counts.
            new_raw = raw + c
            if new_raw > 21:
                key = (end, -1.0)
            else:
                new_sum, new_usable = _hand_value(new_raw, bool(usable_ace) or c == 1)
                key = (blackjack_state(new_sum, d, new_usable), 0.0)
            merged[key] = merged.get(key, Fraction(0)) + pc
        return [(float(p), s2, rew, s2 == end) for (s2, rew), p in merged.items()]

    def stick(player_sum: int, d: int, natural_hand: bool) -> list:
        return [
            (float(p), end, rew, True)
            for p, rew in _stick_outcomes(player_sum, dealer[d], natural_hand, natural, sab)
        ]

    S = BLACKJACK_N_STATES
    P: dict[int, dict[int, list]] = {}
    terminal = np.zeros(S, dtype=bool)
    for s in range(BLACKJACK_N_OBS):
        player_sum, d, usable = blackjack_decode(s)
        if _live_observation(player_sum, d, usable):
            P[s] = {0: stick(player_sum, d, False), 1: hit(player_sum, usable, d)}
        else:
            terminal[s] = True
            P[s] = {0: [(1.0, s, 0.0, True)], 1: [(1.0, s, 0.0, True)]}
    terminal[end] = True
    P[end] = {0: [(1.0, end, 0.0, True)], 1: [(1.0, end, 0.0, True)]}
    for d in range(1, 11):
        s = blackjack_state(21, d, 1, natural=True)
        P[s] = {0: stick(21, d, True), 1: hit(21, 1, d)}

    # Start: the dealer's showing card and two player cards, all independent.
    start_f: dict[int, Fraction] = {}
    for d, pd in _CARDS:
        for c1, p1 in _CARDS:
            for c2, p2 in _CARDS:
                if sorted((c1, c2)) == [1, 10]:
                    s = blackjack_state(21, d, 1, natural=True)
                else:
                    player_sum, usable = _hand_value(c1 + c2, 1 in (c1, c2))
                    s = blackjack_state(player_sum, d, usable)
                start_f[s] = start_f.get(s, Fraction(0)) + pd * p1 * p2
    start = np.zeros(S)
    for s, p in start_f.items():
        start[s] = float(p)
    return from_transitions(P, S, 2, start, max_steps=max_steps, terminal=terminal, name=name)
