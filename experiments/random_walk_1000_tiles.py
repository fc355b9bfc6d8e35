"""Figure 9.10: tile coding against state aggregation on the 1,000-state random walk.

Gradient MC with one tiling (state aggregation into 5 groups of 200 states, alpha = 0.0001)
and with 50 tilings of tiles 200 states wide, each offset 4 states from the last (alpha =
0.0001 / 50, so both start learning at the same rate, as in the book's caption); weights 0,
5,000 episodes, 30 runs; sqrt(VE) weighted by the on-policy distribution mu, recorded every
`EVERY` episodes. Both settings see the same spawned seeds.

CSV ``random_walk_1000_tiles.csv``: ``method, tilings, alpha, run, episode, rms_error``.
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import pandas as pd
from random_walk_1000_bases import error_curves, final_errors, finish_error_axes
from random_walk_1000_mc import N_STATES

from numbarl.approx import features

NAME = "random_walk_1000_tiles"
FIGURE = "Figure 9.10"
RUNS = 30
TILINGS = 50
TILE_WIDTH = 200
OFFSET = 4
ALPHA = 1e-4
BOOK = "tile coding below aggregation"
LABELS = {
    "tile_coding": f"Tile coding ({TILINGS} tilings)",
    "aggregation": "State aggregation (one tiling)",
}


def run(runs: int = RUNS, seed: int = 0) -> pd.DataFrame:
    tiles = features.tile_table_1d(N_STATES, TILINGS, TILE_WIDTH, OFFSET)
    groups = N_STATES // TILE_WIDTH
    idx, val = features.aggregation_table(N_STATES, groups)
    frames = [
        error_curves({"method": "tile_coding", "tilings": TILINGS}, tiles, ALPHA / TILINGS,
                     runs, seed),
        error_curves({"method": "aggregation", "tilings": 1}, (idx, val, groups), ALPHA,
                     runs, seed),
    ]  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def plot(df: pd.DataFrame):
    fig, ax = common.new_figure(size=(6.5, 4.8))
    common.plot_mean_curves(ax, df, "episode", "rms_error", "method", label=LABELS.get)
    title = "Figure 9.10: tile coding vs state aggregation (gradient MC)"
    finish_error_axes(ax, df, title, 0.45)
    return fig


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    df = job.result
    fin = final_errors(df).groupby("method")["rms_error"].mean()
    tc, agg = float(fin["tile_coding"]), float(fin["aggregation"])
    return job.report(
        "sqrt(VE) over the last 500 of 5,000 episodes, tile coding / aggregation",
        f"{tc:.3f} / {agg:.3f}",
        BOOK,
        final_tile_coding=tc,
        final_aggregation=agg,
    )


if __name__ == "__main__":
    main()
