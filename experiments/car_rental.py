"""Example 4.2 / Figure 4.2: Jack's car rental, solved by policy iteration.

Two locations with at most 20 cars each; overnight Jack moves up to 5 cars between them at $2 a
car (action a in -5..5, positive from the first location to the second; he cannot move cars he
does not have, and cars beyond 20 at a location disappear); each car rented earns $10. Rental
requests are Poisson(3) at the first location and Poisson(4) at the second, returns Poisson(3)
and Poisson(2); returned cars can be rented the next day; gamma 0.9. States are (cars at the
first location, cars at the second) at the end of the day: state = first * 21 + second.

The expected model is exact: a location's requests beyond its cars all rent every car, and its
returns beyond the room left all fill it to 20, so each truncated Poisson puts its tail mass on
the last value (``scipy.stats.poisson``'s survival function) and every row sums to 1. The MDP is
a `TabularMDP` built from the dense arrays (`car_rental_mdp`; vectorised, with exactly the
tables ``numbarl.envs.from_arrays`` builds, which a test checks on a small instance).

Policy iteration (Section 4.3) from pi_0 = never move: exact evaluation
(``numbarl.dp.state_values``) and improvement by ``numbarl.dp``'s rule (keep the current action
unless another is better by more than 1e-9; the book's pseudocode takes any argmax, and exact
ties do not arise here). This is the loop of ``numbarl.dp.policy_iteration``, written out to keep
every intermediate policy; a test checks that both end at the same policy.

Finding: the final value surface runs from 421.4 (no cars anywhere) to 637.0 at (20, 20), not
to the 612 the book's figure shows at its top; the policies match the book's pi_0..pi_4. The
model of the book's own program (jacks.lisp on the book's website: up to 25 cars in the morning
after a move, Poisson probabilities below 1e-6 dropped) gives the same surface to within 0.03,
so 612 does not come from a different reading of the problem that we could find.

CSV ``car_rental.csv``: ``policy (0..), first, second, action, value`` (the policy pi_k and its
value v_pi_k in every state).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd
from scipy.stats import poisson

from numbarl import dp
from numbarl.envs.tabular import TabularMDP, validate

NAME = "car_rental"
FIGURE = "Figure 4.2"
RUNS = 1
MAX_CARS = 20
MAX_MOVE = 5
MOVE_COST = 2.0
RENT_REWARD = 10.0
REQUEST_MEANS = (3.0, 4.0)
RETURN_MEANS = (3.0, 2.0)
GAMMA = 0.9
TOL = 1e-9
BOOK_V_20_20 = 612  # the top label of the book's v_pi4 surface (we get 637.0; see above)
BOOK_ITERATIONS = 4  # pi_4 is optimal


def location_model(
    request_mean: float, return_mean: float, max_cars: int = MAX_CARS
) -> tuple[np.ndarray, np.ndarray]:
    """One location's day from ``m`` cars in the morning (after the moves): (transition
    float64[m, n'] to ``n'`` cars in the evening, expected cars rented float64[m])."""
    n = max_cars + 1
    transition = np.zeros((n, n))
    rented = np.zeros(n)
    for m in range(n):
        rent = poisson.pmf(np.arange(m + 1), request_mean)
        rent[m] = poisson.sf(m - 1, request_mean)  # requests >= m rent all m cars
        rented[m] = rent @ np.arange(m + 1)
        for k in range(m + 1):
            left = m - k
            room = max_cars - left
            ret = poisson.pmf(np.arange(room + 1), return_mean)
            ret[room] = poisson.sf(room - 1, return_mean)  # returns >= room fill the lot
            transition[m, left:] += rent[k] * ret
    return transition, rented


def dense_model(
    max_cars: int = MAX_CARS, max_move: int = MAX_MOVE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p float64[S, A, S], r float64[S, A], allowed bool[S, A]) with S = (max_cars + 1)**2 and
    A = 2 max_move + 1 (action index a + max_move). Actions that would move cars Jack does not
    have are not allowed (self-loops with reward 0 in ``p``/``r``)."""
    n = max_cars + 1
    t1, e1 = location_model(REQUEST_MEANS[0], RETURN_MEANS[0], max_cars)
    t2, e2 = location_model(REQUEST_MEANS[1], RETURN_MEANS[1], max_cars)
    first, second = np.divmod(np.arange(n * n), n)
    moves = np.arange(-max_move, max_move + 1)
    allowed = (moves[None, :] <= first[:, None]) & (-moves[None, :] <= second[:, None])
    m1 = np.clip(first[:, None] - moves[None, :], 0, max_cars)
    m2 = np.clip(second[:, None] + moves[None, :], 0, max_cars)
    p = (t1[m1][:, :, :, None] * t2[m2][:, :, None, :]).reshape(n * n, moves.size, n * n)
    r = RENT_REWARD * (e1[m1] + e2[m2]) - MOVE_COST * np.abs(moves)[None, :]
    s_idx, a_idx = np.nonzero(~allowed)
    p[s_idx, a_idx] = 0.0
    p[s_idx, a_idx, s_idx] = 1.0
    r[~allowed] = 0.0
    return p, r, allowed


def tabular_from_dense(p: np.ndarray, r: np.ndarray, allowed: np.ndarray) -> TabularMDP:
    """The `TabularMDP` ``from_arrays(p, r, terminal=none, start=uniform, allowed=allowed)``
    builds, without its per-outcome Python loop (2 million outcomes here): next states in
    increasing order, sampling tables padded to the largest outcome count."""
    S, A, _ = p.shape
    nonzero = p > 0.0
    count = nonzero.sum(axis=2)
    K = int(count.max())
    order = np.argsort(~nonzero, axis=2, kind="stable")[:, :, :K]
    probs = np.take_along_axis(p, order, axis=2)
    real = np.arange(K)[None, None, :] < count[:, :, None]
    probs = np.where(real, probs, 0.0)
    cum = np.cumsum(probs, axis=2)
    if np.any(np.abs(cum[:, :, -1] - 1.0) > 1e-9):
        raise ValueError("car rental: transition probabilities do not sum to 1")
    cum[real == 0] = 2.0
    last = count - 1
    np.put_along_axis(cum, last[:, :, None], 1.0 + 1e-12, axis=2)
    reward = np.where(real, r[:, :, None], 0.0)
    r_dense = np.cumsum(probs * r[:, :, None], axis=2)[:, :, -1]  # from_transitions' order
    dense = np.zeros_like(p)
    np.put_along_axis(dense, order, probs, axis=2)
    start = np.full(S, 1.0 / S)
    start_cum = np.cumsum(start)
    start_cum[S - 1 :] = 1.0 + 1e-12
    return validate(
        TabularMDP(
            n_states=S,
            n_actions=A,
            max_steps=0,
            p=dense,
            r=r_dense,
            terminal=np.zeros(S, dtype=bool),
            start=start,
            allowed=allowed.copy(),
            next_state=np.where(real, order, 0).astype(np.int64),
            cum_prob=cum,
            reward=reward,
            reward_std=np.zeros((S, A, K)),
            start_cum=start_cum,
        ),
        "car_rental",
    )


def car_rental_mdp(max_cars: int = MAX_CARS, max_move: int = MAX_MOVE) -> TabularMDP:
    """Jack's car rental as a `TabularMDP` (441 states, 11 actions by default)."""
    return tabular_from_dense(*dense_model(max_cars, max_move))


def policy_iteration(
    mdp: TabularMDP, max_move: int = MAX_MOVE
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """([pi_0, pi_1, ...] as action indices int64[S], [v_pi_0, ...] float64[S]) until the
    policy is stable; pi_0 never moves a car."""
    current = np.full(mdp.n_states, max_move, dtype=np.int64)
    policies, values = [], []
    while True:
        pi = np.zeros((mdp.n_states, mdp.n_actions))
        pi[np.arange(mdp.n_states), current] = 1.0
        v = dp.state_values(mdp, pi, gamma=GAMMA)
        policies.append(current)
        values.append(v)
        q = dp.q_from_v(mdp, v, gamma=GAMMA)
        current, changed = dp.improve_policy_kernel(
            q, mdp.p, mdp.terminal, mdp.allowed, current, TOL
        )
        if not changed:
            return policies, values


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    """Every policy of the iteration and its value. ``runs`` and ``seed`` are unused (exact)."""
    mdp = car_rental_mdp()
    policies, values = policy_iteration(mdp)
    n = MAX_CARS + 1
    first, second = np.divmod(np.arange(n * n), n)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "policy": k,
                    "first": first,
                    "second": second,
                    "action": pi - MAX_MOVE,
                    "value": v,
                }
            )
            for k, (pi, v) in enumerate(zip(policies, values, strict=True))
        ],
        ignore_index=True,
    )


def grid(df: pd.DataFrame, k: int, column: str) -> np.ndarray:
    """``column`` of policy ``k`` as float64[first, second]."""
    sub = df[df["policy"] == k]
    out = np.zeros((MAX_CARS + 1, MAX_CARS + 1))
    out[sub["first"], sub["second"]] = sub[column]
    return out


def plot(df: pd.DataFrame):
    """pi_0 .. pi_last as contour maps of the action (first location on the vertical axis, as in
    the book) and the last policy's value surface."""
    from matplotlib.figure import Figure

    last = int(df["policy"].max())
    fig = Figure(figsize=(15.0, 9.0), layout="constrained")
    levels = np.arange(-MAX_MOVE, MAX_MOVE + 2) - 0.5
    for k in range(last + 1):
        ax = fig.add_subplot(2, 3, k + 1)
        actions = grid(df, k, "action")
        im = ax.imshow(actions, origin="lower", cmap="RdBu_r", vmin=-MAX_MOVE, vmax=MAX_MOVE)
        ax.contour(actions, levels=levels, colors="black", linewidths=0.6)
        for r, c in ((2, 18), (10, 10), (18, 2), (20, 0), (0, 20)):
            ax.text(c, r, f"{int(actions[r, c])}", ha="center", va="center", fontsize=8)
        ax.set_title(f"pi_{k}")
        ax.set_xlabel("#Cars at second location")
        ax.set_ylabel("#Cars at first location")
        if k == 0:
            fig.colorbar(im, ax=ax, label="cars moved first -> second")
    ax = fig.add_subplot(2, 3, 6, projection="3d")
    values = grid(df, last, "value")
    x, y = np.meshgrid(np.arange(MAX_CARS + 1), np.arange(MAX_CARS + 1))
    ax.plot_surface(x, y, values, cmap="viridis")
    ax.set_xlabel("#Cars at second location")
    ax.set_ylabel("#Cars at first location")
    ax.set_title(f"v_pi_{last}")
    fig.suptitle("Figure 4.2: Jack's car rental, policy iteration")
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    last = int(df["policy"].max())
    v = grid(df, last, "value")
    return job.report(
        "improvements to the optimal policy; v(20, 20); max / min of v",
        f"{last}; {v[20, 20]:.1f}; {v.max():.1f} / {v.min():.1f}",
        f"{BOOK_ITERATIONS}; about {BOOK_V_20_20}; 612 / about 420",
        iterations=last,
        v_20_20=float(v[20, 20]),
    )


if __name__ == "__main__":
    main()
