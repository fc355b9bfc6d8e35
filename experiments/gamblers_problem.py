"""Figure 4.3: value iteration on the gambler's problem (Example 4.3; p_h = 0.4, goal 100).

Exact DP (``numbarl.dp.value_iteration``, in-place sweeps from v = 0), so ``--runs`` and
``--seed`` change nothing. The final policy uses the book's tie rule: among the stakes within
`TIE_TOL` of the best, the smallest positive one (stake 0 never changes the capital, so it
always ties at convergence and is left out, as in the book's figure).

CSV ``gamblers_problem.csv``: ``sweep, capital, value`` for every sweep until the largest change
is below 1e-12; ``gamblers_problem_policy.csv``: ``capital, stake, value`` (the final policy).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl import dp
from numbarl.envs import make

NAME = "gamblers_problem"
FIGURE = "Figure 4.3"
RUNS = 1
P_HEADS = 0.4
GOAL = 100
THETA = 1e-12
TIE_TOL = 1e-9
SHOWN_SWEEPS = (1, 2, 3, 32)  # the book's upper panel (and the final estimate)
KEY_CAPITALS = (25, 50, 75)
BOOK_STAKES = (25, 50, 25)


def book_stakes(q: np.ndarray, tol: float = TIE_TOL) -> np.ndarray:
    """int64[S]: the smallest positive stake whose value is within ``tol`` of the state's best
    (0 for the terminal capitals 0 and goal). ``q`` float64[S, A], -inf where not allowed."""
    positive = q[:, 1:]
    best = positive.max(axis=1, keepdims=True)
    near = positive >= best - tol
    stakes = near.argmax(axis=1) + 1
    stakes[~np.isfinite(best[:, 0])] = 0
    return stakes.astype(np.int64)


def run(runs: int = RUNS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values per sweep, final policy). ``runs`` and ``seed`` are unused (exact DP)."""
    mdp = make("GamblersProblem-v0", p_h=P_HEADS, goal=GOAL)
    v, sweeps, history = dp.value_iteration(mdp, gamma=1.0, theta=THETA, record=True)
    capital = np.arange(1, GOAL)
    values = pd.DataFrame(
        {
            "sweep": np.repeat(np.arange(1, sweeps + 1), GOAL - 1),
            "capital": np.tile(capital, sweeps),
            "value": history[:, 1:GOAL].ravel(),
        }
    )
    q = dp.q_from_v(mdp, v, gamma=1.0)
    stakes = book_stakes(q)
    policy = pd.DataFrame({"capital": capital, "stake": stakes[1:GOAL], "value": v[1:GOAL]})
    return values, policy


def plot(values: pd.DataFrame, policy: pd.DataFrame):
    """Upper panel: value estimates after sweeps 1, 2, 3, 32 and the final one; lower panel: the
    final policy (stake against capital), as in the book."""
    fig, (top, bottom) = common.new_figure(ncols=1, nrows=2, size=(7.0, 4.0))
    last = int(values["sweep"].max())
    for k in [s for s in SHOWN_SWEEPS if s < last] + [last]:
        sub = values[values["sweep"] == k]
        label = f"sweep {k}" if k != last else f"final value function (sweep {k})"
        top.plot(sub["capital"], sub["value"], label=label)
    common.finish_axes(
        top, "Capital", "Value estimates", "Figure 4.3: gambler's problem, p_h = 0.4"
    )
    bottom.step(policy["capital"], policy["stake"], where="mid", label="final policy")
    common.finish_axes(bottom, "Capital", "Final policy (stake)", legend=False)
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    values, policy = job.result
    job.write(policy, None, suffix="_policy")
    at = policy.set_index("capital")["stake"]
    ours = "/".join(str(int(at[c])) for c in KEY_CAPITALS)
    return job.report(
        "stakes at capital 25/50/75",
        ours,
        "/".join(map(str, BOOK_STAKES)),
        sweeps=int(values["sweep"].max()),
        v50=float(policy.set_index("capital")["value"][50]),
    )


if __name__ == "__main__":
    main()
