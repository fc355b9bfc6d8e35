"""Figure 11.2: Baird's counterexample (7 states, 8 weights, behaviour: dashed 6/7 to a uniform
upper state, solid 1/7 to the lower state; target: always solid; reward 0; gamma 0.99; w0 = (1,
1, 1, 1, 1, 1, 10, 1)). Semi-gradient off-policy TD(0) (alpha = 0.01, one behaviour trajectory
of 1,000 steps) and semi-gradient DP (alpha = 0.01, 1,000 synchronous expected sweeps) both
diverge (``numbarl.approx.baird``). The book draws one run; `RUNS` = 1. DP is deterministic,
so it has one run whatever ``--runs``.

CSV ``baird_divergence.csv``: ``method (semi_gradient_td|semi_gradient_dp), run, step,
component (1..8, the book's w_1..w_8), weight, alpha``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl.approx import baird
from numbarl.runs import run_many

NAME = "baird_divergence"
FIGURE = "Figure 11.2"
RUNS = 1
STEPS = 1000
ALPHA = 0.01
METHODS = ("semi_gradient_td", "semi_gradient_dp")
TITLES = {"semi_gradient_td": "Semi-gradient off-policy TD", "semi_gradient_dp": "Semi-gradient DP"}
BOOK = "both diverge (figure)"


def weights_frame(method: str, hist: np.ndarray, **columns) -> pd.DataFrame:
    """Tidy weights of ``hist`` float64[runs, steps + 1, 8]."""
    runs, steps, d = hist.shape
    return pd.DataFrame(
        {
            "method": method,
            "run": np.repeat(np.arange(runs), steps * d),
            "step": np.tile(np.repeat(np.arange(steps), d), runs),
            "component": np.tile(np.arange(1, d + 1), runs * steps),
            "weight": hist.ravel(),
            **columns,
        }
    )


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    cfg = baird.make_baird_config(alpha=ALPHA, steps=STEPS)
    w0 = baird.INITIAL_WEIGHTS.copy()
    td = run_many(baird.run_semi_gradient_td, runs, seed, baird.FEATURES, w0, cfg)
    dp = baird.run_semi_gradient_dp(baird.FEATURES, w0, cfg)[None]
    return pd.concat(
        [
            weights_frame("semi_gradient_td", td, alpha=ALPHA),
            weights_frame("semi_gradient_dp", dp, alpha=ALPHA),
        ],
        ignore_index=True,
    )


def final_norms(df: pd.DataFrame) -> pd.DataFrame:
    """Per method and run: the weight vector's norm at the last step."""
    last = df[df["step"] == df["step"].max()]
    norms = last.groupby(["method", "run"])["weight"].apply(lambda w: float(np.linalg.norm(w)))
    return norms.rename("norm").reset_index()


def plot_weights(df: pd.DataFrame, methods, titles, xlabel, suptitle, extra=None):
    """One panel per method: the 8 components of run 0 against steps (or sweeps)."""
    fig, axes = common.new_figure(ncols=len(methods), size=(5.0, 4.0))
    axes = np.atleast_1d(axes)
    for ax, method in zip(axes, methods, strict=True):
        sub = df[(df["method"] == method) & (df["run"] == 0)]
        for comp, g in sub.groupby("component"):
            ax.plot(g["step"], g["weight"], label=f"w{comp}")
        if extra is not None:
            extra(ax, method)
        common.finish_axes(ax, xlabel(method), "weight", titles[method])
    fig.suptitle(suptitle)
    return fig


def plot(df: pd.DataFrame):
    return plot_weights(
        df,
        METHODS,
        TITLES,
        lambda m: "Steps" if m == "semi_gradient_td" else "Sweeps",
        "Figure 11.2: Baird's counterexample (run 0)",
    )


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    norms = final_norms(df).groupby("method")["norm"].mean()
    last = df[(df["step"] == STEPS) & (df["run"] == 0)]
    w8 = last[last["component"] == 8].set_index("method")["weight"]
    return job.report(
        f"|w| after {STEPS} steps / sweeps (from 10.4): TD / DP",
        f"{norms['semi_gradient_td']:.0f} / {norms['semi_gradient_dp']:.0f}",
        BOOK,
        **{f"{m}_norm": float(norms[m]) for m in METHODS},
        **{f"{m}_w8": float(w8[m]) for m in METHODS},
    )


if __name__ == "__main__":
    main()
