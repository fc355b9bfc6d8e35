"""numbarl.approx.baird (Chapter 11): the counterexample's data, one-transition kernels against
hand-computed updates, expected updates against NumPy, and the figures' facts as statistical
claims (Figure 11.2 diverges, 11.5 TDC lowers the errors, 11.6 emphatic TD converges)."""

from __future__ import annotations

import numpy as np
import pytest

from numbarl.approx import baird as B
from numbarl.runs import run_many

Z = 3.0
X = B.FEATURES
W0 = B.INITIAL_WEIGHTS


def test_features_and_initial_values_are_the_books() -> None:
    v = X @ W0
    np.testing.assert_array_equal(v, [3, 3, 3, 3, 3, 3, 12, 3][:6] + [12])
    assert X.shape == (7, 8) and np.linalg.matrix_rank(X) == 7
    assert B.value_error(W0[None])[0] == pytest.approx(np.sqrt((6 * 9 + 144) / 7))
    with pytest.raises(ValueError, match="beta"):
        B.make_baird_config(beta=0.0)


def test_semi_gradient_td_step_hand_computed() -> None:
    """From upper state 0 to the lower state (solid, rho = 7): delta = 0.99 * 12 - 3 = 8.88,
    w += 0.01 * 7 * 8.88 * x_0 = 0.6216 * (2 e_1 + e_8)."""
    w = W0.copy()
    delta = B.semi_gradient_td_step(w, X[0], 0.0, X[6], 0.99, 7.0, 0.01)
    assert delta == pytest.approx(8.88)
    expected = W0.copy()
    expected[0] += 2 * 0.6216
    expected[7] += 0.6216
    np.testing.assert_allclose(w, expected)
    w2 = W0.copy()
    B.semi_gradient_td_step(w2, X[0], 0.0, X[3], 0.99, 0.0, 0.01)  # dashed: rho = 0
    np.testing.assert_array_equal(w2, W0)


def test_tdc_step_hand_computed() -> None:
    """TDC from state 0 to 6 with rho = 7, v = 0.1 * ones: x_0 . v = 0.3, delta = 8.88;
    w += alpha rho (delta x_0 - gamma x_6 0.3), v += beta rho (delta - 0.3) x_0."""
    w, v = W0.copy(), np.full(8, 0.1)
    delta = B.tdc_step(w, v, X[0], 0.0, X[6], 0.99, 7.0, 0.005, 0.05)
    assert delta == pytest.approx(8.88)
    np.testing.assert_allclose(w, W0 + 0.005 * 7 * (8.88 * X[0] - 0.99 * X[6] * 0.3))
    np.testing.assert_allclose(v, 0.1 + 0.05 * 7 * (8.88 - 0.3) * X[0])


def test_emphatic_td_step_hand_computed() -> None:
    """M_t = gamma rho_tm1 M_tm1 + I = 0.99 * 7 * 2 + 1 = 14.86; w += alpha M rho delta x."""
    w = W0.copy()
    m = B.emphatic_td_step(w, 2.0, 7.0, X[6], 0.0, X[6], 0.99, 7.0, 0.03, 1.0)
    assert m == pytest.approx(14.86)
    delta = 0.99 * 12 - 12
    np.testing.assert_allclose(w, W0 + 0.03 * 14.86 * 7.0 * delta * X[6])


def test_expected_updates_match_numpy() -> None:
    """One sweep of each expected update against the formula written with NumPy."""
    cfg = B.make_baird_config(alpha=0.01, beta=0.05, steps=1)
    v_hat = X @ W0
    delta = 0.99 * v_hat[6] - v_hat
    dp = B.run_semi_gradient_dp(X, W0.copy(), cfg)
    np.testing.assert_allclose(dp[1], W0 + 0.01 / 7 * X.T @ delta)
    w_hist, v_hist = B.run_expected_tdc(X, W0.copy(), cfg)
    np.testing.assert_allclose(w_hist[1], W0 + 0.01 / 7 * X.T @ delta)  # v = 0: no correction
    np.testing.assert_allclose(v_hist[1], 0.05 / 7 * X.T @ delta)
    cfg2 = B.make_baird_config(alpha=0.03, steps=2)
    w_hist, m_hist = B.run_expected_emphatic_td(X, W0.copy(), cfg2)
    np.testing.assert_allclose(w_hist[1], W0 + 0.03 / 7 * X.T @ delta)  # first emphasis: 1
    emphasis = np.ones(7)
    emphasis[6] = 1 + 0.99 * 1.0 * 7
    v1 = X @ w_hist[1]
    d1 = 0.99 * v1[6] - v1
    np.testing.assert_allclose(w_hist[2], w_hist[1] + 0.03 / 7 * X.T @ (emphasis * d1))
    np.testing.assert_allclose(m_hist[:3], [0.0, 1.0, 1.99])


def test_projected_bellman_error_is_zero_for_the_true_values_and_bounded_by_the_te() -> None:
    w = np.zeros(8)
    assert B.projected_bellman_error(w[None])[0] == 0.0
    rng = np.random.default_rng(0)
    ws = rng.standard_normal((20, 8))
    v = ws @ X.T
    te = np.sqrt(((0.99 * v[:, [6]] - v) ** 2).mean(1))  # the (unprojected) Bellman error
    assert np.all(B.projected_bellman_error(ws) <= te + 1e-12)


def test_figure_11_2_both_diverge() -> None:
    """Semi-gradient off-policy TD over 100 behaviour trajectories: log10 |w| after 2,000 steps
    is above 3 (|w| > 1e3, from 10.4) by more than Z standard errors, and it grows from step
    1,000 to 2,000 (paired); semi-gradient DP (deterministic) likewise."""
    cfg = B.make_baird_config(alpha=0.01, steps=2000)
    hist = run_many(B.run_semi_gradient_td, 100, 0, X, W0.copy(), cfg)
    log_end = np.log10(np.linalg.norm(hist[:, -1], axis=1))
    growth = log_end - np.log10(np.linalg.norm(hist[:, 1000], axis=1))
    se = log_end.std(ddof=1) / 10
    assert log_end.mean() - Z * se > 3.0, (log_end.mean(), se)
    assert growth.mean() - Z * growth.std(ddof=1) / 10 > 0.5
    dp = B.run_semi_gradient_dp(X, W0.copy(), cfg)
    norms = np.linalg.norm(dp, axis=1)
    assert norms[-1] > 1e3 and norms[-1] > 10 * norms[1000] and np.all(np.diff(norms[100:]) > 0)


def test_figure_11_5_tdc_lowers_ve_and_pbe() -> None:
    """TDC over 50 trajectories of 1,000 steps: sqrt(VE) at the end below its start (5.32) by
    more than Z standard errors, and sqrt(PBE) below a tenth of its start; expected TDC drives
    sqrt(PBE) below 0.01 while sqrt(VE) stays near 2 (the book's picture)."""
    cfg = B.make_baird_config(alpha=0.005, beta=0.05, steps=1000)
    w_hist, _ = run_many(B.run_tdc, 50, 0, X, W0.copy(), cfg)
    ve_end = B.value_error(w_hist[:, -1])
    ve0 = B.value_error(W0[None])[0]
    assert ve_end.mean() + Z * ve_end.std(ddof=1) / np.sqrt(50) < ve0
    pbe_end = B.projected_bellman_error(w_hist[:, -1])
    pbe0 = B.projected_bellman_error(W0[None])[0]
    assert pbe_end.mean() + Z * pbe_end.std(ddof=1) / np.sqrt(50) < pbe0 / 10
    w_exp, _ = B.run_expected_tdc(X, W0.copy(), cfg)
    assert B.projected_bellman_error(w_exp[-1:])[0] < 0.01
    assert 1.5 < B.value_error(w_exp[-1:])[0] < 2.5
    pbe = B.projected_bellman_error(w_exp)
    assert pbe[1000] < pbe[500] < pbe[100] < pbe[0]


def test_figure_11_6_expected_emphatic_td_converges_to_zero_error() -> None:
    cfg = B.make_baird_config(alpha=0.03, steps=1000)
    w_hist, m_hist = B.run_expected_emphatic_td(X, W0.copy(), cfg)
    ve = B.value_error(w_hist)
    assert ve[-1] < 1e-6 < ve[0]
    assert m_hist[-1] == pytest.approx(100.0 * (1 - 0.99**1000))


def test_compiled_equals_python() -> None:
    cfg = B.make_baird_config(alpha=0.005, beta=0.05, steps=30)
    for a, b in zip(
        B.run_tdc(X, W0.copy(), cfg, np.random.default_rng(4)),
        B.run_tdc.py_func(X, W0.copy(), cfg, np.random.default_rng(4)),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        B.run_semi_gradient_td(X, W0.copy(), cfg, np.random.default_rng(4)),
        B.run_semi_gradient_td.py_func(X, W0.copy(), cfg, np.random.default_rng(4)),
    )
