"""Shared by the Chapter 2 scripts (bandit_*.py): play a set of bandit methods on one testbed
and turn the runs into the tidy per-step table and the book's two-panel figure
(`TestbedFigure` holds one figure's methods, testbed and title, and does all of it). The
chapter's defaults live here once: `RUNS` (the book's 2,000), the 10-armed testbed
`TEN_ARMED` and the window `LATE` (steps 501-1,000) the key numbers average over.

Not an experiment script itself (it defines no ``NAME``). Per-step CSVs hold the mean over runs
and its standard error rather than one row per run and step (2,000 runs x 1,000 steps x 3
methods would be 6 million rows): columns ``algorithm, label, env, testbed_<field>, <config
fields>, step,
average_reward, reward_se, optimal_action, optimal_se, runs, seed``, with ``optimal_action`` in
percent. Every method's runs use the same spawned seeds, so curves compare on the same tasks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import common
import numpy as np
import pandas as pd

from numbarl.bandits import (
    BanditConfig,
    BanditRuns,
    EpsilonGreedyConfig,
    GradientBanditConfig,
    Testbed,
    UCBConfig,
    run_bandit,
)

ALGORITHM = {
    EpsilonGreedyConfig: "epsilon_greedy",
    UCBConfig: "ucb",
    GradientBanditConfig: "gradient_bandit",
}
CONFIG_COLUMNS = ("epsilon", "step_size", "initial", "c", "alpha", "baseline")
RUNS = 2000  # the book's runs for every Chapter 2 figure
TEN_ARMED = Testbed(k=10, steps=1000)  # Figures 2.2-2.4 and 2.6: q*(a) ~ N(0, 1), 1,000 steps
LATE = (501, 1000)  # the steps (1-based, inclusive) the key numbers average over


def simulate(
    settings: Mapping[str, BanditConfig], testbed: Testbed, runs: int, seed: int
) -> dict[str, BanditRuns]:
    """``{label: BanditRuns}``: every setting over the same ``runs`` spawned seeds."""
    return {label: run_bandit(cfg, testbed, runs, seed) for label, cfg in settings.items()}


def config_columns(cfg: BanditConfig) -> dict:
    """Every column of `CONFIG_COLUMNS`: the config's value, NaN where it has no such field."""
    fields = cfg._asdict()
    return {c: fields.get(c, np.nan) for c in CONFIG_COLUMNS}


def mean_se(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over axis 0 and its standard error (ddof 1; 0 for a single run)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    se = x.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(x.shape[1:])
    return x.mean(axis=0), se


def testbed_columns(testbed: Testbed) -> dict:
    """``env`` and the testbed's fields as ``testbed_<field>`` columns."""
    return {"env": "k-armed testbed", **{f"testbed_{k}": v for k, v in testbed._asdict().items()}}


def per_step_table(
    settings: Mapping[str, BanditConfig],
    results: Mapping[str, BanditRuns],
    seed: int,
    testbed: Testbed,
    every: int = 1,
) -> pd.DataFrame:
    """Tidy per-step means over runs (every ``every``-th step, from step 1)."""
    frames = []
    for label, cfg in settings.items():
        res = results[label]
        runs, steps = res.rewards.shape
        idx = np.arange(0, steps, every)
        reward, reward_se = mean_se(res.rewards[:, ::every])
        optimal, optimal_se = mean_se(res.optimal[:, ::every])
        frame = pd.DataFrame(
            {
                "algorithm": ALGORITHM[type(cfg)],
                "label": label,
                **testbed_columns(testbed),
                **config_columns(cfg),
                "step": idx + 1,
                "average_reward": reward,
                "reward_se": reward_se,
                "optimal_action": 100.0 * optimal,
                "optimal_se": 100.0 * optimal_se,
                "runs": runs,
                "seed": seed,
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def window_means(res: BanditRuns, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Per run: (average reward, fraction of optimal actions) over steps ``first..last``
    (1-based, inclusive), float64[runs] each."""
    sl = slice(first - 1, last)
    return res.rewards[:, sl].mean(axis=1), res.optimal[:, sl].mean(axis=1)


def plot_two_panels(df: pd.DataFrame, title: str, panels: tuple[str, ...] = ("reward", "optimal")):
    """The book's layout: average reward (top) and % optimal action (bottom) against steps,
    one line per label in the table's order."""
    fig, axes = common.new_figure(ncols=1, nrows=len(panels), size=(7.0, 3.6))
    axes = np.atleast_1d(axes)
    order = list(dict.fromkeys(df["label"]))
    for ax, panel in zip(axes, panels, strict=True):
        column, ylabel = (
            ("average_reward", "Average reward")
            if panel == "reward"
            else ("optimal_action", "% Optimal action")
        )
        for label in order:
            sub = df[df["label"] == label]
            ax.plot(sub["step"], sub[column], label=label, linewidth=1.0)
        common.finish_axes(ax, "Steps", ylabel, title if ax is axes[0] else None)
        if panel == "optimal":
            ax.set_ylim(0, 100)
    return fig


def label_means(df: pd.DataFrame, window: tuple[int, int]) -> pd.DataFrame:
    """Per label (rows in the table's order): the mean of ``average_reward`` and
    ``optimal_action`` over steps ``window`` (1-based, inclusive) of a per-step table."""
    late = df[df["step"].between(*window)].groupby("label", sort=False)
    return late[["average_reward", "optimal_action"]].mean()


class TestbedFigure(NamedTuple):
    """One Chapter 2 figure: labelled methods (``settings``) played on ``testbed`` over the same
    spawned seeds (``runs`` of them by default), tabulated every ``every``-th step and drawn in
    ``panels`` under ``title``; its key numbers are means over the steps ``window``."""

    name: str
    figure: str
    settings: Mapping[str, BanditConfig]
    title: str
    testbed: Testbed = TEN_ARMED
    panels: tuple[str, ...] = ("reward", "optimal")
    every: int = 1
    window: tuple[int, int] = LATE
    runs: int = RUNS

    def simulate(self, runs: int | None = None, seed: int = 0) -> dict[str, BanditRuns]:
        """``{label: BanditRuns}``, every setting on the same spawned seeds (``runs`` defaults to
        the book's)."""
        return simulate(self.settings, self.testbed, self.runs if runs is None else runs, seed)

    def run(self, runs: int | None = None, seed: int = 0) -> pd.DataFrame:
        """The figure's per-step table (`per_step_table`)."""
        results = self.simulate(runs, seed)
        return per_step_table(self.settings, results, seed, self.testbed, every=self.every)

    def start(
        self, argv: Sequence[str] | None, description: str | None
    ) -> tuple[common.Job, pd.DataFrame]:
        """`common.start` with `run`, then the table and the figure written to ``--out``.
        Returns the job and, per label, the means over `window` (`label_means`)."""
        job = common.start(argv, self.name, self.figure, self.runs, self.run, description)
        job.write(job.result, plot_two_panels(job.result, self.title, self.panels))
        return job, label_means(job.result, self.window)
