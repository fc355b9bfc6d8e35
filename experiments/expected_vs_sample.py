"""Figure 8.7: expected against sample updates. One state-action pair with ``b`` equally likely
successors whose values are exact (drawn from N(0, 1) per run), so the pair's true value is
their mean and the initial estimate is off by 1 (the book's setting). An expected update costs
``b`` max computations and then leaves no error; sample updates with sample averages (alpha =
1/t) cost one each, and their RMS error after t of them is sqrt((b - 1) / (b t)) (the book's
formula). Branching factors 2, 10, 100, 1,000, 10,000; up to 2b computations; RMS error over
`RUNS` runs (``numbarl.tabular.planning.sample_update_errors`` on threads; the book's curves are
the formula, its number of runs is not stated: 100 as in its reference code).

CSV ``expected_vs_sample.csv``: ``method (sample|expected), branching, computations,
fraction (computations / b), rms_error, formula, runs``, at about 400 points per branching
factor (the errors of single runs are not kept: 2 million rows for b = 10,000).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.runs import run_many
from numbarl.tabular import planning

NAME = "expected_vs_sample"
FIGURE = "Figure 8.7"
RUNS = 100
BRANCHING = (2, 10, 100, 1000, 10000)
POINTS = 400
KEY_B = 10000
KEY_FRACTION = 0.1


def formula(b: int, t: np.ndarray) -> np.ndarray:
    """The book's RMS error of sample updates after ``t`` of them: sqrt((b - 1) / (b t)), 1 at
    t = 0."""
    t = np.asarray(t, dtype=float)
    out = np.ones_like(t)
    pos = t > 0
    out[pos] = np.sqrt((b - 1) / (b * t[pos]))
    return out


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    frames = []
    for b in BRANCHING:
        err = run_many(planning.sample_update_errors, runs, seed, b, 2 * b)
        rms = np.sqrt((err**2).mean(axis=0))
        t = np.unique(np.round(np.linspace(0, 2 * b, POINTS + 1)).astype(np.int64))
        expected = np.where(t < b, 1.0, 0.0)
        for method, values, ref in (
            ("sample", rms[t], formula(b, t)),
            ("expected", expected, expected),
        ):
            frames.append(
                pd.DataFrame(
                    {
                        "method": method,
                        "branching": b,
                        "computations": t,
                        "fraction": t / b,
                        "rms_error": values,
                        "formula": ref,
                        "runs": runs,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def plot(df: pd.DataFrame):
    """RMS error against computations in units of b, one line per b (sample updates), and the
    expected update's step at 1b, as in the book."""
    fig, ax = common.new_figure(size=(6.5, 4.5))
    sample = df[df["method"] == "sample"]
    for b, g in sample.groupby("branching"):
        ax.plot(g["fraction"], g["rms_error"], label=f"b = {b}")
    ax.plot([0, 1, 1, 2], [1, 1, 0, 0], color="k", linestyle="--", label="expected update")
    common.finish_axes(
        ax,
        "Number of max_a' Q(s', a') computations (units of b)",
        "RMS error in value estimate",
        f"Figure 8.7: sample updates ({int(df['runs'].iloc[0])} runs) vs expected",
        legend="branching factor",
        xlim=(0, 2),
        ylim=(0, 1.05),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    key = df[(df["method"] == "sample") & (df["branching"] == KEY_B)]
    row = key.iloc[(key["fraction"] - KEY_FRACTION).abs().argmin()]
    return job.report(
        f"RMS error after {KEY_FRACTION:g}b sample updates, b = {KEY_B} (expected update: 1)",
        f"{row['rms_error']:.4f}",
        f"{row['formula']:.4f} (formula)",
        **{
            f"rms_at_1b_b{b}": float(
                df[(df["method"] == "sample") & (df["branching"] == b) & (df["fraction"] == 1.0)][
                    "rms_error"
                ].iloc[0]
            )
            for b in BRANCHING
        },
    )


if __name__ == "__main__":
    main()
