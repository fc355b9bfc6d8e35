"""Figure 11.6: the expected behaviour of emphatic TD(0) on Baird's counterexample
(``numbarl.approx.baird.run_expected_emphatic_td``): interest 1 in every state, alpha = 0.03,
1,000 sweeps of the expected update with the expected emphasis (the mean emphasis follows
m <- 1 + gamma m from 0, towards 1 / (1 - gamma) = 100), from w0 = (1, 1, 1, 1, 1, 1, 10, 1).
sqrt(VE) under the behaviour's (uniform) state distribution. The book: in expectation the
weights converge (with oscillations) to a solution with zero error. Deterministic: one run.

CSV ``baird_emphatic.csv``: ``method (expected_emphatic_td), run, step, component, weight,
alpha``; ``baird_emphatic_errors.csv``: ``method, run, step, ve, pbe, emphasis``.
"""

from __future__ import annotations

from collections.abc import Sequence

import baird_divergence
import baird_tdc
import common

from numbarl.approx import baird

NAME = "baird_emphatic"
FIGURE = "Figure 11.6"
RUNS = 1
STEPS = 1000
ALPHA = 0.03
METHOD = "expected_emphatic_td"
BOOK = "0 (converges)"


def run(runs: int = RUNS, seed: int = 0):
    """Deterministic: ``runs`` and ``seed`` are accepted for the common interface only."""
    cfg = baird.make_baird_config(alpha=ALPHA, steps=STEPS)
    hist, emphasis = baird.run_expected_emphatic_td(
        baird.FEATURES, baird.INITIAL_WEIGHTS.copy(), cfg
    )
    weights = baird_divergence.weights_frame(METHOD, hist[None], alpha=ALPHA)
    errors = baird_tdc.errors_frame(METHOD, hist[None])
    errors["emphasis"] = emphasis
    return weights, errors


def plot(weights, errors):
    def extra(ax, method):
        ax.plot(errors["step"], errors["ve"], color="k", linewidth=2, label="sqrt(VE)")

    return baird_divergence.plot_weights(
        weights,
        (METHOD,),
        {METHOD: f"Expected emphatic TD, alpha = {ALPHA}"},
        lambda m: "Sweeps",
        "Figure 11.6: emphatic TD on Baird's counterexample",
        extra,
    )


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    weights, errors = job.result
    job.write(errors, None, suffix="_errors")
    ve = errors.set_index("step")["ve"]
    return job.report(
        f"sqrt(VE) after {STEPS} sweeps (from {ve[0]:.2f})",
        f"{ve[STEPS]:.2g}",
        BOOK,
        runs=1,
        ve_100=float(ve[100]),
        ve_end=float(ve[STEPS]),
        max_ve=float(ve.max()),
    )


if __name__ == "__main__":
    main()
