"""Figure 6.2 (right): batch TD(0) against batch constant-alpha MC on the 5-state random walk
(Example 6.3 / 6.2's walk, initial estimates 0.5); RMS error over the 5 states after each of 100
episodes, averaged over 100 runs.

After every new episode, all episodes so far are presented again until the values converge
(alpha = 0.001, ``numbarl.tabular.prediction`` methods ``batch_td0`` and ``batch_mc``): batch
TD reaches the certainty-equivalence estimate, batch MC the sample averages. Both methods see
the same spawned seeds, so run i has the same episodes under both (common random numbers).
CSV: ``algorithm (td0|mc), alpha, run, episode, rms_error`` (episode 0 is the initial error).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import pandas as pd
from random_walk_td_mc import EPISODES, curves_frame, random_walk, rms_curves

NAME = "random_walk_batch"
FIGURE = "Figure 6.2 (right)"
RUNS = 100
ALPHA = 0.001
# A batch stops when every visited state's mean error per visit is below TOL. 1e-4 moves the
# curves by less than 1e-4 against 1e-6 (their standard error is ~2e-3) at a quarter of the cost.
TOL = 1e-4
METHODS = {"td0": "batch_td0", "mc": "batch_mc"}
LABELS = {"td0": "Batch TD", "mc": "Batch MC"}
# The book (Example 6.3): batch TD was consistently better than batch MC.
BOOK_FINAL = "batch TD below batch MC throughout"


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    mdp, pi, truth = random_walk(5)
    frames = [
        curves_frame(alg, ALPHA, rms_curves(method, ALPHA, runs, seed, mdp, pi, truth, tol=TOL))
        for alg, method in METHODS.items()
    ]
    return pd.concat(frames, ignore_index=True)


def plot(df: pd.DataFrame):
    fig, ax = common.new_figure(size=(6.0, 4.5))
    common.plot_mean_curves(ax, df, "episode", "rms_error", "algorithm", label=LABELS.get)
    common.finish_axes(
        ax,
        "Walks / Episodes",
        f"RMS error, averaged over states ({df['run'].nunique()} runs)",
        "Figure 6.2 (right): batch training, alpha = 0.001",
        ylim=(0.0, 0.25),
    )
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    final = df[df["episode"] == EPISODES].groupby("algorithm")["rms_error"].mean()
    return job.report(
        "RMS error at episode 100, batch TD / batch MC",
        f"{final['td0']:.3f} / {final['mc']:.3f}",
        BOOK_FINAL,
        batch_td_final=float(final["td0"]),
        batch_mc_final=float(final["mc"]),
    )


if __name__ == "__main__":
    main()
