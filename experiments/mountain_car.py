"""Shared by the Mountain Car scripts (``mountain_car_*.py``, Chapters 10 and 12): the book's
setup (8 tilings of the book's ``tiles()``, weights 0, epsilon 0), steps-per-episode tables, the
alpha sweeps of Figures 10.4, 12.10 and 12.11, and the two kinds of plot they draw.

Not an experiment script itself (it defines no ``NAME``). Step sizes are written as the book
writes them, times the number of tilings (``alpha8``); the learners get ``alpha8 / TILINGS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import common
import numpy as np
import pandas as pd

from numbarl.approx import control

TILINGS = 8


def steps_frame(label: dict, steps: np.ndarray) -> pd.DataFrame:
    """Tidy ``**label, run, episode, steps`` from steps int64[runs, episodes] (episode 1-based)."""
    return common.per_run_frame(steps, "steps", **label)


def sarsa_curves(n: int, alpha8: float, runs: int, seed: int, episodes: int) -> pd.DataFrame:
    """n-step semi-gradient Sarsa's steps per episode (`steps_frame`, labelled ``n, alpha``)."""
    steps = control.sarsa_many(runs, seed, alpha=alpha8 / TILINGS, n=n, episodes=episodes)
    return steps_frame({"n": n, "alpha": alpha8}, steps)


def window_means(df: pd.DataFrame, by: Sequence[str], first: int, last: int) -> pd.DataFrame:
    """Per (``by``, run): mean steps per episode over episodes first..last."""
    return common.per_run_means(df, "steps", by, (first, last))


def alpha_sweep(
    grid: Mapping[Any, Sequence[float]],
    column: str,
    learn: Callable[[Any, float], np.ndarray],
    max_steps: int,
    y: str = "steps",
) -> pd.DataFrame:
    """One row per (key of ``grid``, alpha8 of its grid, run): ``<column>, alpha, run, <y>,
    cut``. ``learn(key, alpha)`` returns steps int64[runs, episodes]; ``y`` is ``"steps"``, the
    mean steps per episode, or ``"reward"``, its negative (Mountain Car's reward is -1 a step);
    ``cut`` counts the run's episodes cut at ``max_steps``."""
    frames = []
    for key, alphas in grid.items():
        for a in alphas:
            steps = learn(key, a / TILINGS)
            mean = steps.mean(axis=1)
            frames.append(
                pd.DataFrame(
                    {
                        column: key,
                        "alpha": a,
                        "run": np.arange(steps.shape[0]),
                        y: mean if y == "steps" else -mean,
                        "cut": (steps >= max_steps).sum(axis=1),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def best_alphas(df: pd.DataFrame, by: str | list[str] = "n", y: str = "steps") -> pd.DataFrame:
    """Per group of ``by``: the alpha with the lowest mean ``y``, that mean and its standard
    error over runs."""
    return common.best_alphas(df, by, y)


def plot_episode_curves(df: pd.DataFrame, by: str, label: Callable[[Any], str], title: str):
    """Steps per episode (log scale) against episodes, one mean curve per value of ``by``."""
    fig, ax = common.new_figure(size=(6.5, 4.8))
    common.plot_mean_curves(ax, df, "episode", "steps", by, label=label)
    ax.set_yscale("log")
    ylabel = f"Mountain Car steps per episode (log scale), averaged over {df['run'].nunique()} runs"
    common.finish_axes(ax, "Episode", ylabel, title, ylim=(100, 1000))
    return fig


def plot_alpha_sweep(
    df: pd.DataFrame,
    by: str,
    label: Callable[[Any], str],
    episodes: int,
    title: str,
    ylim: tuple[float, float],
    y: str = "steps",
):
    """An `alpha_sweep`'s ``y`` (mean over the first ``episodes`` episodes) against alpha x 8,
    one curve per value of ``by``."""
    fig, ax = common.new_figure(size=(6.5, 4.8))
    common.plot_mean_curves(ax, df, "alpha", y, by, label=label)
    runs = df["run"].nunique()
    ylabel = f"Mountain Car {y} per episode, first {episodes} episodes and {runs} runs"
    common.finish_axes(ax, f"alpha x number of tilings ({TILINGS})", ylabel, title, ylim=ylim)
    return fig
