"""Experiment scripts of Chapters 9, 10 and 12 (linear function approximation): smoke runs with
few runs, byte-identical CSVs whatever the thread count, and the key facts of the book's figures
with the default seed.

Statistical bounds: a claimed ordering must hold by more than `Z` standard errors of the
per-run difference (paired: every setting sees the same spawned seeds), so a chance ordering
fails with probability below ~0.1%. Run counts are the book's where cheap, fewer where the
effect is many standard errors wide at that count; they were not tuned to the seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.experiment_helpers import (
    SEED,
    Z,
    assert_below,
    assert_discovered,
    assert_same_csv_whatever_the_threads,
    mean_se,
    script,
    smoke_run,
)

# name -> (columns the CSV must have, extra CSV suffixes, {constant: smaller value for a smoke})
SCRIPTS = {
    "random_walk_1000_mc": (["run", "state", "true_value", "estimate", "mu"], [], {
        "EPISODES": 200}),
    "random_walk_1000_td": (["n", "alpha", "run", "rms_error"], ["_values"], {
        "LEFT_EPISODES": 200, "NS": (1, 4), "ALPHAS": (0.2, 0.4)}),
    "random_walk_1000_bases": (["basis", "order", "alpha", "run", "episode", "rms_error"], [], {
        "EPISODES": 100}),
    "random_walk_1000_tiles": (["method", "tilings", "alpha", "run", "episode", "rms_error"], [],
        {}),
    "mountain_car_cost_to_go": (["run", "episode", "position", "velocity", "cost_to_go"],
        ["_steps"], {"EPISODES": 12, "SNAPSHOTS": (1, 12)}),
    "mountain_car_sarsa": (["n", "alpha", "run", "episode", "steps"], [], {"EPISODES": 5}),
    "mountain_car_nstep": (["n", "alpha", "run", "episode", "steps"], [], {"EPISODES": 5}),
    "mountain_car_nstep_alpha": (["n", "alpha", "run", "steps"], [], {
        "EPISODES": 3, "ALPHAS": {1: (0.5,), 4: (0.5,)}}),
    "access_control": (["run", "priority", "free_servers", "accept", "value"], [], {}),
    "mountain_car_lambda": (["lambda", "alpha", "run", "steps"], [], {
        "EPISODES": 3, "ALPHAS": {0.0: (0.5,), 0.9: (0.5,)}}),
    "mountain_car_lambda_true_online": (["method", "alpha", "run", "reward"], [], {
        "EPISODES": 3, "ALPHAS": {"true_online": (0.5,), "replacing": (0.5,)}}),
}  # fmt: skip


def test_the_scripts_are_discovered() -> None:
    found = assert_discovered(SCRIPTS)
    assert "mountain_car" not in found  # the shared helper is not an experiment


# ---------------------------------------------------------------------------------------------
# Smoke: every script with few runs writes its CSV (named columns) and a non-empty PNG


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_runs_and_writes_outputs(
    name: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    columns, suffixes, small = SCRIPTS[name]
    module = script(name)
    for constant, value in small.items():
        monkeypatch.setattr(module, constant, value)
    if name == "random_walk_1000_tiles":  # its episodes live in the bases script's helper
        monkeypatch.setattr(script("random_walk_1000_bases"), "EPISODES", 100)
        monkeypatch.setattr(module, "error_curves", _short(module.error_curves))
    if name == "access_control":
        monkeypatch.setattr(module, "STEPS", 20_000)
    smoke_run(name, columns, suffixes, tmp_path, capsys)


def _short(error_curves):
    def short(label, table, alpha, runs, seed, episodes=100):
        return error_curves(label, table, alpha, runs, seed, episodes=100)

    return short


# ---------------------------------------------------------------------------------------------
# Same seed, same bytes, whatever the thread count


@pytest.mark.parametrize("name", ["mountain_car_nstep", "random_walk_1000_bases"])
def test_same_seed_same_csv_bytes_whatever_the_threads(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(script(name), "EPISODES", 20 if name == "mountain_car_nstep" else 200)
    assert_same_csv_whatever_the_threads(name, tmp_path, monkeypatch)


# ---------------------------------------------------------------------------------------------
# The figures' key facts, default seed


def test_figure_9_1_gradient_mc_values_are_the_group_means() -> None:
    """After 100,000 episodes (alpha 2e-5), each group's value is within 0.05 of the mean true
    value of its states, both the mu-weighted mean (gradient MC's fixed point minimises the
    mu-weighted error) and the plain mean, over 4 runs: |mean - target| + Z SE < 0.05; and the
    visit distribution matches the exact mu."""
    module = script("random_walk_1000_mc")
    df = module.run(runs=4, seed=SEED)
    truth, mu = module.walk_truth()
    targets = {
        "mu-weighted": module.group_means(truth, mu, module.GROUPS),
        "plain": module.group_means(truth, np.ones_like(mu), module.GROUPS),
    }
    est = df["estimate"].to_numpy().reshape(4, module.GROUPS, -1)[:, :, 0]  # runs x groups
    for what, target in targets.items():
        for g in range(module.GROUPS):
            m, se = mean_se(est[:, g])
            assert abs(m - target[g]) + Z * se < 0.05, (what, g, m, target[g], se)
    one = df[df["run"] == 0]
    assert np.abs(one["mu"] - one["mu_exact"]).max() < 1e-3


def test_figure_9_2_intermediate_n_beats_one_step_at_its_best_alpha(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """n = 4 or 8 at its best alpha has a lower error (first 10 episodes, 100 runs) than n = 1
    at its best alpha, by more than Z paired standard errors."""
    module = script("random_walk_1000_td")
    monkeypatch.setattr(module, "NS", (1, 4, 8))
    df = module.right_panel(runs=100, seed=SEED)
    best = module.best_alphas(df).set_index("n")
    n = 4 if best.loc[4, "mean"] <= best.loc[8, "mean"] else 8
    pick = lambda k: df[(df["n"] == k) & (df["alpha"] == best.loc[k, "alpha"])]  # noqa: E731
    assert_below(pick(n)["rms_error"], pick(1)["rms_error"], f"n = {n} vs n = 1")


def test_figure_9_2_left_td_values_are_worse_than_mc() -> None:
    """Semi-gradient TD(0)'s asymptotic values are further from v_pi (in sqrt(VE)) than
    gradient MC's, as the book's left panel shows (one run each, 100,000 episodes)."""
    mc = script("random_walk_1000_mc").run(1, SEED)
    td = script("random_walk_1000_td").left_panel(SEED)
    _, mu = script("random_walk_1000_mc").walk_truth()
    ve = lambda d: np.sqrt((mu[1:-1] * (d["estimate"] - d["true_value"]) ** 2).sum())  # noqa: E731
    assert ve(td) > ve(mc) + 0.01


def test_figure_9_5_fourier_beats_polynomial_at_order_20() -> None:
    """Mean sqrt(VE) over the last 500 of 5,000 episodes: Fourier below polynomial at order 20
    by more than Z paired standard errors (10 runs)."""
    module = script("random_walk_1000_bases")
    errors = {}
    for basis, make in module.TABLES.items():
        idx, val = make(module.N_STATES, 20)
        curves = module.error_curves(
            {"basis": basis, "order": 20}, (idx, val, 21), module.ALPHAS[basis], 10, SEED
        )
        errors[basis] = module.final_errors(curves)["rms_error"].to_numpy()
    assert_below(errors["fourier"], errors["polynomial"], "Fourier vs polynomial, order 20")


def test_figure_9_10_tile_coding_beats_aggregation() -> None:
    """sqrt(VE) over the last 500 of 5,000 episodes: tile coding (50 tilings) below state
    aggregation by more than Z paired standard errors (10 runs)."""
    fin = script("random_walk_1000_tiles").final_errors(script("random_walk_1000_tiles").run(10))
    tc = fin[fin["method"] == "tile_coding"]["rms_error"].to_numpy()
    agg = fin[fin["method"] == "aggregation"]["rms_error"].to_numpy()
    assert_below(tc, agg, "tile coding vs aggregation")


def test_figure_10_1_cost_to_go_after_9000_episodes() -> None:
    """One run of 9,000 episodes, as the book: the learned cost-to-go at the start states is
    about the episode length the greedy policy takes (90-150 steps; the optimum from the
    bottom is about 100-120), and the last 100 episodes take under 150 steps on average."""
    module = script("mountain_car_cost_to_go")
    costs, steps = module.run(1, SEED)
    start = module.start_cost(costs, 9000)
    assert 90.0 < start < 150.0, start
    assert steps[steps["episode"] > 8900]["steps"].mean() < 150.0
    first = costs[costs["episode"] == 1]["cost_to_go"]
    assert first.max() < costs[costs["episode"] == 9000]["cost_to_go"].max()


@pytest.mark.parametrize(
    ("faster", "slower", "runs", "episodes"),
    [((1, 0.5), (1, 0.1), 30, 100), ((8, 0.3), (1, 0.5), 100, 50)],
    ids=["figure_10_2_alpha_0.5_beats_0.1", "figure_10_3_8_step_beats_one_step"],
)
def test_figures_10_2_10_3_faster_setting_takes_fewer_steps_early(
    faster: tuple[int, float], slower: tuple[int, float], runs: int, episodes: int
) -> None:
    """Mean steps per episode over the first ``episodes`` episodes of semi-gradient Sarsa (n,
    alpha x 8): Figure 10.2's alpha 0.5/8 below 0.1/8 (30 runs, 100 episodes), Figure 10.3's
    8-step at 0.3/8 below one-step at 0.5/8 (100 runs, 50 episodes), by more than Z paired
    standard errors."""
    from mountain_car import sarsa_curves

    def per_run(n: int, alpha8: float) -> np.ndarray:
        curves = sarsa_curves(n, alpha8, runs, SEED, episodes)
        return curves.groupby("run")["steps"].mean().to_numpy()

    assert_below(per_run(*faster), per_run(*slower), f"(n, alpha x 8) {faster} vs {slower}")


def test_figure_10_4_intermediate_n_beats_one_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """First 50 episodes, 100 runs: n = 4 at alpha 0.8/8 (about its best) below n = 1 at its
    best of 1.2/8, 1.4/8, 1.6/8, by more than Z paired standard errors."""
    module = script("mountain_car_nstep_alpha")
    monkeypatch.setattr(module, "ALPHAS", {1: (1.2, 1.4, 1.6), 4: (0.8,)})
    df = module.run(100, SEED)
    best = module.best_alphas(df).set_index("n")
    pick = lambda n: df[(df["n"] == n) & (df["alpha"] == best.loc[n, "alpha"])]  # noqa: E731
    assert_below(pick(4)["steps"], pick(1)["steps"], "n = 4 vs n = 1")


def test_figure_10_5_policy_accepts_8_and_rejects_1_when_busy() -> None:
    """Over 12 runs of 2 million steps, in the often-visited states (1-6 free servers, each
    seen over 4,000 times per run; the book's drop on the right comes from states seldom
    seen): priority 8 is accepted, and priority 1 rejected with at most 4 free servers, in a
    share of the (run, state) cells whose lower bound at Z SE is above 90% (measured: all);
    the learned average reward is between 2 and 3."""
    module = script("access_control")
    df, r_bar = module.run(12, SEED)
    for priority, free_max, want in ((8, 6, 1), (1, 4, 0)):
        cells = df[(df["priority"] == priority) & df["free_servers"].between(1, free_max)]
        share = float((cells["accept"] == want).mean())
        se = np.sqrt(max(share * (1 - share), 1.0 / len(cells)) / len(cells))
        assert share - Z * se > 0.9, (priority, share, se)
    m, se = mean_se(r_bar)
    assert 2.0 < m - Z * se and m + Z * se < 3.0, (m, se)


def test_figure_12_10_intermediate_lambda_beats_lambda_0(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps per episode over the first 50 episodes: lambda 0.92 at its best of alpha 0.9/8,
    1.1/8 below lambda 0 at its best of 1.2/8, 1.5/8, by more than Z paired standard errors
    (30 runs)."""
    module = script("mountain_car_lambda")
    monkeypatch.setattr(module, "ALPHAS", {0.0: (1.2, 1.5), 0.92: (0.9, 1.1)})
    df = module.run(30, SEED)
    from mountain_car import best_alphas

    best = best_alphas(df, "lambda").set_index("lambda")
    pick = lambda lam: df[(df["lambda"] == lam) & (df["alpha"] == best.loc[lam, "alpha"])]  # noqa: E731
    assert_below(pick(0.92)["steps"], pick(0.0)["steps"], "lambda 0.92 vs 0")


def test_figure_12_11_true_online_at_least_as_good_as_replacing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reward per episode over the first 20 episodes, each method at its best of three step
    sizes around its optimum (50 runs): true online is not worse than replacing traces by more
    than Z paired standard errors, and beats accumulating traces by more than Z SE."""
    module = script("mountain_car_lambda_true_online")
    monkeypatch.setattr(
        module,
        "ALPHAS",
        {
            "true_online": (0.8, 1.0, 1.2),
            "replacing": (1.2, 1.4, 1.6),
            "accumulating": (0.2, 0.3, 0.4),
        },
    )
    df = module.run(50, SEED)
    best = module.best_rewards(df).set_index("method")
    pick = lambda m: df[(df["method"] == m) & (df["alpha"] == best.loc[m, "alpha"])]  # noqa: E731
    true_online = pick("true_online")["reward"].to_numpy()
    gap, se = mean_se(pick("replacing")["reward"].to_numpy() - true_online)
    assert gap < Z * se, f"replacing ahead of true online by {gap:.2f} (SE {se:.2f})"
    assert_below(-true_online, -pick("accumulating")["reward"].to_numpy(), "true online vs acc")
