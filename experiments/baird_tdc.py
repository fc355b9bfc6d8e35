"""Figure 11.5: TDC on Baird's counterexample (``numbarl.approx.baird``): TDC along one behaviour
trajectory (left) and expected TDC, synchronous expected updates (right), alpha = 0.005, beta =
0.05, 1,000 steps / sweeps, from w0 = (1, 1, 1, 1, 1, 1, 10, 1) and v = 0. Besides the weights,
sqrt(VE) and sqrt(PBE) under the behaviour's (uniform) state distribution. The book: the
projected Bellman error goes to 0 while the value error stays well above 0 (the weights
approach a solution that is not the true values 0 slowly). The book draws one run; `RUNS` = 1.

CSV ``baird_tdc.csv``: ``method (tdc|expected_tdc), run, step, component, weight, alpha,
beta``; ``baird_tdc_errors.csv``: ``method, run, step, ve, pbe`` (their square roots: RMS).
"""

from __future__ import annotations

from collections.abc import Sequence

import baird_divergence
import common
import numpy as np
import pandas as pd

from numbarl.approx import baird
from numbarl.runs import run_many

NAME = "baird_tdc"
FIGURE = "Figure 11.5"
RUNS = 1
STEPS = 1000
ALPHA = 0.005
BETA = 0.05
METHODS = ("tdc", "expected_tdc")
TITLES = {"tdc": "TDC", "expected_tdc": "Expected TDC"}
BOOK = "PBE -> 0, VE stays > 0 (figure)"


def errors_frame(method: str, hist: np.ndarray) -> pd.DataFrame:
    """sqrt(VE) and sqrt(PBE) of ``hist`` float64[runs, steps + 1, 8]."""
    runs, steps, d = hist.shape
    flat = hist.reshape(-1, d)
    ve = baird.value_error(flat).reshape(runs, steps)
    frame = common.per_run_frame(ve, "ve", "step", first=0, method=method)
    return frame.assign(pbe=baird.projected_bellman_error(flat))


def run(runs: int = RUNS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    cfg = baird.make_baird_config(alpha=ALPHA, beta=BETA, steps=STEPS)
    w0 = baird.INITIAL_WEIGHTS.copy()
    tdc, _ = run_many(baird.run_tdc, runs, seed, baird.FEATURES, w0, cfg)
    expected, _ = baird.run_expected_tdc(baird.FEATURES, w0, cfg)
    expected = expected[None]
    weights = pd.concat(
        [
            baird_divergence.weights_frame(m, h, alpha=ALPHA, beta=BETA)
            for m, h in (("tdc", tdc), ("expected_tdc", expected))
        ],
        ignore_index=True,
    )
    errors = pd.concat(
        [errors_frame("tdc", tdc), errors_frame("expected_tdc", expected)], ignore_index=True
    )
    return weights, errors


def plot(weights: pd.DataFrame, errors: pd.DataFrame):
    def extra(ax, method):
        e = errors[(errors["method"] == method) & (errors["run"] == 0)]
        ax.plot(e["step"], e["ve"], color="k", linewidth=2, label="sqrt(VE)")
        ax.plot(e["step"], e["pbe"], color="k", linestyle="--", linewidth=2, label="sqrt(PBE)")

    return baird_divergence.plot_weights(
        weights,
        METHODS,
        TITLES,
        lambda m: "Steps" if m == "tdc" else "Sweeps",
        "Figure 11.5: TDC on Baird's counterexample (run 0)",
        extra,
    )


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    weights, errors = job.result
    job.write(errors, None, suffix="_errors")
    last = errors[errors["step"] == STEPS].groupby("method")[["ve", "pbe"]].mean()
    first = errors[errors["step"] == 0].groupby("method")[["ve", "pbe"]].mean()
    return job.report(
        "sqrt(VE) / sqrt(PBE) after 1,000 steps, TDC (expected TDC)",
        f"{last.loc['tdc', 've']:.2f} / {last.loc['tdc', 'pbe']:.3f} "
        f"({last.loc['expected_tdc', 've']:.2f} / {last.loc['expected_tdc', 'pbe']:.4f})",
        BOOK,
        initial_ve=float(first.loc["tdc", "ve"]),
        initial_pbe=float(first.loc["tdc", "pbe"]),
        **{f"{m}_{k}": float(last.loc[m, k]) for m in METHODS for k in ("ve", "pbe")},
    )


if __name__ == "__main__":
    main()
