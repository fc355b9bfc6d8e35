"""Example 6.2 / Figure 6.2 (left and middle): TD(0) against constant-alpha MC on the 5-state
random walk (start C, +1 on leaving right, true values 1/6..5/6, initial estimates 0.5).

Middle: RMS error over the 5 states after each of 100 episodes, averaged over 100 runs, for
TD(0) with alpha in {0.05, 0.1, 0.15} and MC with alpha in {0.01, 0.02, 0.03, 0.04}
(``numbarl.tabular.prediction.evaluate_many``, RMS recorded in compiled code). Every setting
sees the same spawned seeds, so run i walks the same episodes under every method and step size
(common random numbers: the curves differ by the method only). Left: the TD(0) estimates
(alpha = 0.1) after 0, 1, 10 and 100 episodes of run 0.

CSV ``random_walk_td_mc.csv``: ``algorithm (td0|mc), alpha, run, episode, rms_error`` (episode 0
is the initial error); ``random_walk_td_mc_values.csv``: ``episode, state, value`` (left panel).
"""

from __future__ import annotations

from collections.abc import Sequence

import common
import numpy as np
import pandas as pd

from numbarl import dp
from numbarl.envs import TabularMDP, make
from numbarl.tabular import prediction
from numbarl.tabular.policies import uniform_policy

NAME = "random_walk_td_mc"
FIGURE = "Figure 6.2"
RUNS = 100
EPISODES = 100
V0 = 0.5
SETTINGS = (
    ("td0", 0.05),
    ("td0", 0.1),
    ("td0", 0.15),
    ("mc", 0.01),
    ("mc", 0.02),
    ("mc", 0.03),
    ("mc", 0.04),
)
LEFT_ALPHA = 0.1
LEFT_EPISODES = (0, 1, 10, 100)
STATE_NAMES = ("A", "B", "C", "D", "E")
LATE = 20  # "late": the last LATE episodes
# The book (Figure 6.2, middle; Example 6.2): TD was consistently better than MC on this walk.
BOOK_FINAL = "TD below MC"
METHOD_LABEL = {"td0": "TD", "mc": "MC"}


def random_walk(n_states: int = 5) -> tuple[TabularMDP, np.ndarray, np.ndarray]:
    """(mdp, uniform policy float64[S, 2], exact values float64[S]) of the book's random walk
    with ``n_states`` non-terminal states (5: Example 6.2, 19: Figure 7.2 and Chapter 12)."""
    mdp = make("RandomWalk-v0", n_states=n_states)
    pi = uniform_policy(mdp)
    return mdp, pi, dp.state_values(mdp, pi, gamma=1.0)


def rms_curves(
    method: str,
    alpha: float,
    runs: int,
    seed: int,
    mdp: TabularMDP,
    pi: np.ndarray,
    truth: np.ndarray,
    v0: float = V0,
    episodes: int = EPISODES,
    **config: float,
) -> np.ndarray:
    """RMS error float64[runs, episodes + 1] of ``method``, column 0 the initial error;
    ``config``: further `PredictionConfig` fields the method reads."""
    res = prediction.evaluate_many(
        method,
        mdp,
        pi,
        v0,
        runs=runs,
        seed=seed,
        true_values=truth,
        history=False,
        alpha=alpha,
        episodes=episodes,
        **config,
    )
    initial = prediction.rms_error(prediction.initial_values(mdp, v0), truth, mdp.terminal)
    return np.hstack([np.full((runs, 1), initial), res.rms_error])


def curves_frame(algorithm: str, alpha: float, rms: np.ndarray) -> pd.DataFrame:
    """Tidy ``algorithm, alpha, run, episode, rms_error`` from rms float64[runs, E + 1]."""
    return common.per_run_frame(rms, "rms_error", first=0, algorithm=algorithm, alpha=alpha)


def run(runs: int = RUNS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(RMS-error curves, the left panel's estimates)."""
    mdp, pi, truth = random_walk(5)
    frames = [curves_frame(m, a, rms_curves(m, a, runs, seed, mdp, pi, truth)) for m, a in SETTINGS]
    curves = pd.concat(frames, ignore_index=True)
    one = prediction.evaluate(
        "td0", mdp, pi, V0, seed=seed, alpha=LEFT_ALPHA, episodes=max(LEFT_EPISODES)
    )
    history = np.vstack([prediction.initial_values(mdp, V0), one.history])
    rows = []
    for e in LEFT_EPISODES:
        for i, name in enumerate(STATE_NAMES):
            rows.append({"episode": e, "state": name, "value": float(history[e, i + 1])})
    for i, name in enumerate(STATE_NAMES):
        rows.append({"episode": -1, "state": name, "value": float(truth[i + 1])})
    return curves, pd.DataFrame(rows)


def plot(curves: pd.DataFrame, values: pd.DataFrame):
    fig, (left, middle) = common.new_figure(ncols=2, size=(5.5, 4.2))
    for e in sorted(values["episode"].unique()):
        sub = values[values["episode"] == e]
        if e < 0:
            left.plot(sub["state"], sub["value"], "k--", marker="o", label="True values")
        else:
            left.plot(sub["state"], sub["value"], marker="o", label=f"{e}")
    common.finish_axes(
        left, "State", "Estimated value", f"TD(0), alpha = {LEFT_ALPHA}", legend="episodes"
    )
    for algorithm, style in (("td0", "-"), ("mc", "--")):
        common.plot_mean_curves(
            middle,
            curves[curves["algorithm"] == algorithm],
            "episode",
            "rms_error",
            "alpha",
            label=lambda a, m=algorithm: f"{METHOD_LABEL[m]}, alpha = {a}",
            band=False,
            linestyle=style,
        )
    common.finish_axes(
        middle,
        "Walks / Episodes",
        f"Empirical RMS error, averaged over states ({curves['run'].nunique()} runs)",
        "Figure 6.2: TD(0) vs constant-alpha MC",
        ylim=(0.0, 0.25),
    )
    return fig


def late_errors(curves: pd.DataFrame, late: int = LATE) -> pd.DataFrame:
    """Per (algorithm, alpha, run): mean RMS error over the last ``late`` episodes."""
    end = curves["episode"].max()
    return common.per_run_means(curves, "rms_error", ["algorithm", "alpha"], (end - late + 1, end))


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job = common.start(argv, NAME, FIGURE, RUNS, run, __doc__, plot=plot)
    curves, values = job.result
    job.write(values, None, suffix="_values")
    final = curves[curves["episode"] == curves["episode"].max()]
    by = final.groupby(["algorithm", "alpha"])["rms_error"].mean()
    td, mc = float(by["td0"].min()), float(by["mc"].min())
    return job.report(
        "RMS error at episode 100, best TD / best MC",
        f"{td:.3f} / {mc:.3f}",
        BOOK_FINAL,
        best_td_final=td,
        best_mc_final=mc,
    )


if __name__ == "__main__":
    main()
