"""Experiment scripts of Chapters 8 and 11 (Dyna mazes, prioritized sweeping, expected vs
sample updates, trajectory sampling, Baird's counterexample): smoke runs with few runs,
byte-identical CSVs whatever the thread count, and the key facts of the book's figures.

Statistical bounds: a claimed ordering must hold by more than `Z` standard errors of the per-run
difference (paired where both sides see the same spawned seeds), so a chance ordering fails with
probability below ~0.1%. Run counts are the book's (or its reference code's) unless stated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.experiment_helpers import (
    SEED,
    Z,
    assert_discovered,
    assert_same_csv_whatever_the_threads,
    mean_se,
    script,
    smoke_run,
)

# name -> (columns the CSV must have, extra CSV suffixes written beside it)
SCRIPTS = {
    "dyna_maze": (["planning_steps", "run", "episode", "steps"], ["_greedy"]),
    "dyna_blocking": (["algorithm", "run", "time_step", "cumulative_reward"], []),
    "dyna_shortcut": (["algorithm", "run", "time_step", "cumulative_reward"], []),
    "prioritized_sweeping": (["algorithm", "states", "run", "updates", "solved"], []),
    "expected_vs_sample": (["method", "branching", "computations", "rms_error"], []),
    "trajectory_sampling": (["method", "n_states", "branching", "run", "updates", "value"], []),
    "baird_divergence": (["method", "run", "step", "component", "weight"], []),
    "baird_tdc": (["method", "run", "step", "component", "weight"], ["_errors"]),
    "baird_emphatic": (["method", "run", "step", "component", "weight"], ["_errors"]),
}
SMALL = {  # module attributes replaced in smoke runs (full scale is not a smoke)
    "prioritized_sweeping": {"FACTORS": ((1, 1), (1, 2))},
    "trajectory_sampling": {"PANELS": ((100, 1, 400, 100), (100, 3, 400, 100))},
}


def _shrink(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = script(name)
    for attr, value in SMALL.get(name, {}).items():
        monkeypatch.setattr(module, attr, value)
    if name == "trajectory_sampling":
        monkeypatch.setattr(module, "KEY", (100, 1, 100))


# ---------------------------------------------------------------------------------------------
# Smoke: every script with few runs writes its CSV (named columns) and a non-empty PNG


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_runs_and_writes_outputs(
    name: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shrink(name, monkeypatch)
    smoke_run(name, *SCRIPTS[name], tmp_path, capsys, check_runs=False)


def test_scripts_are_discovered_for_make_demo() -> None:
    assert_discovered(SCRIPTS)


# ---------------------------------------------------------------------------------------------
# Same seed, same bytes, whatever the threads


@pytest.mark.parametrize("name", ["dyna_blocking", "trajectory_sampling", "baird_tdc"])
def test_same_seed_same_csv_bytes_whatever_the_threads(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shrink(name, monkeypatch)
    assert_same_csv_whatever_the_threads(name, tmp_path, monkeypatch, runs=4)


# ---------------------------------------------------------------------------------------------
# The figures' key facts, default seed, the book's runs


def test_figure_8_2_planning_shortens_the_second_episode_and_all_reach_the_optimum() -> None:
    """30 runs: the second episode with 50 planning steps is shorter than without planning by
    more than Z standard errors (independent runs); the maze's optimum is 14 steps and no greedy
    path is shorter; over episodes 41-50 the mean episode is within 30% of the optimum with
    planning and within 50% without (upper bounds at Z SE; epsilon-greedy exploration keeps it
    above 14); with planning, most greedy paths after 50 episodes are
    the 14-step optimum (the rest take a 16- or 18-step detour whose last pairs epsilon-greedy
    exploration has not yet tried)."""
    module = script("dyna_maze")
    curves, greedy = module.run(runs=30, seed=SEED)
    second = curves[curves["episode"] == 2]
    (m0, s0), (m50, s50) = (
        mean_se(second[second["planning_steps"] == n]["steps"]) for n in (0, 50)
    )
    assert m0 - m50 > Z * np.hypot(s0, s50), (m0, m50)
    assert (greedy["greedy_steps"] >= 14).all()
    late = curves[curves["episode"] > 40].groupby(["planning_steps", "run"])["steps"].mean()
    for n, bound in ((0, 1.5), (5, 1.3), (50, 1.3)):
        m, se = mean_se(late.loc[n])
        assert m + Z * se < bound * 14, (n, m, se)
    planned = greedy[greedy["planning_steps"] > 0]
    assert (planned["greedy_steps"] == 14).mean() > 0.5
    assert (planned["greedy_steps"] <= 18).all()
    reach = module.episodes_to_reach(curves)
    assert reach[50] <= 4 and reach[5] <= 8 and 15 <= reach[0] <= 40  # book: 3, 5, 25


def test_figure_8_4_dyna_q_plus_recovers_faster_from_the_block() -> None:
    """20 runs: reward collected after the wall moves, Dyna-Q+ above Dyna-Q by more than Z
    standard errors of the paired difference (same spawned seeds)."""
    module = script("dyna_blocking")
    df = module.run(runs=20, seed=SEED)
    g = module.gain_after(df, module.SWITCH).set_index(["algorithm", "run"])["after"]
    gap, se = mean_se(g.loc["dyna_q_plus"].to_numpy() - g.loc["dyna_q"].to_numpy())
    assert gap > Z * se, (gap, se)


def test_figure_8_5_only_dyna_q_plus_finds_the_shortcut() -> None:
    """20 runs: reward after the shortcut opens, Dyna-Q+ above Dyna-Q by more than Z paired
    standard errors; every Dyna-Q+ run and no Dyna-Q run takes the shortcut by the end."""
    module = script("dyna_shortcut")
    df = module.run(runs=20, seed=SEED)
    g = module.dyna_blocking.gain_after(df, module.SWITCH).set_index(["algorithm", "run"])
    gap, se = mean_se(
        g.loc["dyna_q_plus", "after"].to_numpy() - g.loc["dyna_q", "after"].to_numpy()
    )
    assert gap > Z * se, (gap, se)
    share = module.shortcut_share(df)
    assert share["dyna_q_plus"] == 1.0 and share["dyna_q"] == 0.0


def test_example_8_4_prioritized_sweeping_needs_fewer_updates_at_every_size() -> None:
    """10 runs per size (same seeds): log10(Dyna-Q updates / prioritized sweeping updates) is
    above 1 (a 10x saving) by more than Z standard errors at every maze size, 47..6,016 states;
    every run reached the (relaxed) optimal solution."""
    module = script("prioritized_sweeping")
    df = module.run(runs=10, seed=SEED)
    assert df["solved"].all()
    wide = df.pivot_table(index=["states", "run"], columns="algorithm", values="updates")
    ratio = np.log10(wide["dyna_q"] / wide["prioritized_sweeping"])
    for states, r in ratio.groupby("states"):
        m, se = mean_se(r.to_numpy())
        assert m - Z * se > 1.0, (states, m, se)
    assert sorted(df["states"].unique()) == [47 * 2**k for k in range(8)]


def test_figure_8_7_sample_updates_cut_the_error_long_before_b_computations() -> None:
    """100 runs: for b >= 100, after b/10 sample updates the RMS error is far below the expected
    update's 1 (still to be completed) and within 25% of the book's sqrt((b - 1) / (b t)) (the
    RMS over 100 runs has a relative standard error of about 7%); after 2b it is about
    1/sqrt(2b)."""
    module = script("expected_vs_sample")
    df = module.run(runs=100, seed=SEED)
    sample = df[df["method"] == "sample"]
    for b in (100, 1000, 10000):
        sub = sample[sample["branching"] == b].set_index("computations")
        t = b // 10
        rms, book = sub.loc[t, "rms_error"], sub.loc[t, "formula"]
        assert rms < 0.5 and abs(rms / book - 1) < 0.25, (b, rms, book)
        assert abs(sub.loc[2 * b, "rms_error"] * np.sqrt(2 * b) - 1) < 0.25
    expected = df[(df["method"] == "expected") & (df["branching"] == 1000)]
    assert (expected[expected["computations"] < 1000]["rms_error"] == 1.0).all()


def test_figure_8_8_on_policy_sampling_is_ahead_early_for_b_1() -> None:
    """200 tasks (the book's), 1,000 states, b = 1: after 1,000 updates the greedy policy's
    start value is higher with on-policy sampling than with uniform sweeps by more than Z paired
    standard errors; after 20,000 uniform is ahead (the book's crossing). 10,000 states, b = 1,
    50 tasks: on-policy ahead after 10,000 updates."""
    module = script("trajectory_sampling")
    df = module.run(runs=200, seed=SEED, panels=((1000, 1, 20_000, 1000),))
    wide = df.pivot_table(index=["run", "updates"], columns="method", values="value")
    diff = (wide["on_policy"] - wide["uniform"]).unstack("updates")
    early, se = mean_se(diff[1000].to_numpy())
    assert early > Z * se, (early, se)
    late, se_late = mean_se(diff[20_000].to_numpy())
    assert late < -Z * se_late, (late, se_late)
    big = module.run(runs=50, seed=SEED, panels=((10_000, 1, 10_000, 10_000),))
    wide = big.pivot_table(index=["run", "updates"], columns="method", values="value")
    d = (wide["on_policy"] - wide["uniform"]).xs(10_000, level="updates").to_numpy()
    m, se = mean_se(d)
    assert m > Z * se, (m, se)


def test_figure_11_2_script_weights_grow_without_bound() -> None:
    """The script's run (book: one run, 1,000 steps): both methods' weight norms grow from 10.4
    to more than 100 and are still growing at the end (the DP norm every sweep after 100)."""
    module = script("baird_divergence")
    df = module.run(runs=1, seed=SEED)
    norms = df.groupby(["method", "step"])["weight"].apply(lambda w: np.linalg.norm(w))
    for method in module.METHODS:
        n = norms.loc[method].to_numpy()
        assert n[0] == pytest.approx(np.sqrt(6 + 100 + 1)) and n[-1] > 100
        assert n[-1] > 2 * n[len(n) // 2]
    assert np.all(np.diff(norms.loc["semi_gradient_dp"].to_numpy()[100:]) > 0)


def test_figure_11_5_and_11_6_scripts_errors() -> None:
    """TDC's sqrt(VE) and sqrt(PBE) fall from their start; emphatic TD's sqrt(VE) reaches 0."""
    weights, errors = script("baird_tdc").run(runs=1, seed=SEED)
    for _, e in errors.groupby("method"):
        e = e.set_index("step")
        assert e.loc[1000, "ve"] < e.loc[0, "ve"] and e.loc[1000, "pbe"] < 0.1 * e.loc[0, "pbe"]
    _, errors = script("baird_emphatic").run()
    assert errors["ve"].iloc[-1] < 1e-6 < errors["ve"].iloc[0]
