"""numbarl.nn: MLP forward/backward, optimisers and policy heads against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from numbarl import nn
from numbarl.nn.mlp import tanh_inplace
from tests.gradcheck import central_diff, rel_err

RTOL = 1e-6  # allowed relative error of analytic gradients vs central differences


# --------------------------------------------------------------------------------------------
# MLP
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("act", [nn.TANH, nn.RELU], ids=["tanh", "relu"])
@pytest.mark.parametrize(
    "sizes", [(3, 5, 2), (4, 7, 6, 3), (2, 4, 5, 3, 2)], ids=["h1", "h2", "h3"]
)
def test_backward_matches_finite_differences(act, sizes):
    rng = np.random.default_rng(1)
    layout = nn.mlp_layout(sizes)
    params = nn.mlp_init(layout, rng, hidden_gain=1.3, output_gain=0.7)
    params += 0.1 * rng.standard_normal(params.size)  # nonzero biases
    batch = 5
    x = rng.standard_normal((batch, sizes[0]))
    upstream = rng.standard_normal((batch, sizes[-1]))
    ws = nn.mlp_workspace(layout, 8)  # larger than the batch: a prefix is used

    def loss(p, xx):
        return float((nn.mlp_forward(p, layout, act, xx, ws) * upstream).sum())

    nn.mlp_forward(params, layout, act, x, ws)
    grad = np.full(params.size, 0.5)  # accumulates on top of what is there
    grad_x = np.full_like(x, 7.0)  # overwritten
    nn.mlp_backward(params, layout, act, ws, upstream, grad, grad_x)
    assert rel_err(grad - 0.5, central_diff(lambda p: loss(p, x), params)) < RTOL
    assert rel_err(grad_x, central_diff(lambda xx: loss(params, xx), x)) < RTOL

    nn.mlp_forward(params, layout, act, x, ws)
    grad2 = np.zeros(params.size)
    nn.mlp_backward(params, layout, act, ws, upstream, grad2)  # grad_x skipped
    np.testing.assert_allclose(grad2, grad - 0.5, rtol=1e-12, atol=1e-15)


def test_relu_backward_with_dead_units_matches_finite_differences():
    # Large negative biases kill some units: their gradient must be exactly zero.
    rng = np.random.default_rng(2)
    layout = nn.mlp_layout((3, 6, 2))
    params = nn.mlp_init(layout, rng)
    params[layout[0, 3] : layout[0, 3] + 3] = -50.0
    x = rng.standard_normal((4, 3))
    up = rng.standard_normal((4, 2))
    ws = nn.mlp_workspace(layout, 4)
    nn.mlp_forward(params, layout, nn.RELU, x, ws)
    grad = np.zeros(params.size)
    nn.mlp_backward(params, layout, nn.RELU, ws, up, grad)

    def loss(p):
        return float((nn.mlp_forward(p, layout, nn.RELU, x, ws) * up).sum())

    assert rel_err(grad, central_diff(loss, params)) < RTOL
    w0 = grad[: 3 * 6].reshape(3, 6)
    assert np.all(w0[:, :3] == 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_variants_compute_the_generic_passes(dtype):
    # The ReLU variants (no tanh code compiled: the Q network's ReLU torso, DDPG/TD3/SAC's ReLU
    # networks) are the generic passes of a ReLU net to the bit, dead units, dL/dx and NaN
    # included, called directly and through their pointers.
    from numbarl.deep import actor_critic as ac
    from numbarl.nn import mlp

    rng = np.random.default_rng(4)
    layout = nn.mlp_layout((3, 8, 8, 2))
    params = nn.mlp_init(layout, rng, dtype=dtype)
    params[layout[0, 3] : layout[0, 3] + 3] = -50.0
    x = rng.standard_normal((5, 3)).astype(dtype)
    x[4, 0] = np.nan
    up = rng.standard_normal((5, 2)).astype(dtype)
    results = []
    for relu in (False, True):
        forward, backward = (
            (mlp.mlp_forward_relu, mlp.mlp_backward_relu)
            if relu
            else (nn.mlp_forward, nn.mlp_backward)
        )
        into = (
            (mlp.mlp_forward_into_relu, mlp.mlp_backward_into_relu, ac.mlp_input_grad_into_relu)
            if relu
            else (mlp.mlp_forward_into, mlp.mlp_backward_into, ac.mlp_input_grad_into)
        )
        ws = nn.mlp_workspace(layout, 5, dtype)
        out = forward(params, layout, nn.RELU, x, ws).copy()
        grad, g_x = np.zeros(params.size, dtype), np.zeros((5, 3), dtype)
        backward(params, layout, nn.RELU, ws, up, grad, g_x)
        ws2 = nn.mlp_workspace(layout, 5, dtype)
        into[0](params, layout, nn.RELU, x, ws2)
        grad2, g_x2 = np.zeros(params.size, dtype), np.zeros((5, 3), dtype)
        into[1](params, layout, nn.RELU, ws2, up, grad2)
        into[2](params, layout, nn.RELU, ws2, up, g_x2)
        assert mlp.mlp_output(layout, 5, ws2).tobytes() == out.tobytes()
        assert (grad2.tobytes(), g_x2.tobytes()) == (grad.tobytes(), g_x.tobytes())
        results.append((out.tobytes(), grad.tobytes(), g_x.tobytes()))
    assert results[0] == results[1]
    fns = ac.ac_fns(dtype, nn.RELU)
    assert fns.forward.dispatcher is mlp.mlp_forward_into_relu
    assert fns.input_grad.dispatcher is ac.mlp_input_grad_into_relu
    assert ac.ac_fns(dtype, nn.TANH).forward.dispatcher is mlp.mlp_forward_into
    assert ac.ac_fns(dtype).backward.dispatcher is mlp.mlp_backward_into


def test_forward_matches_numpy_reference_and_py_func():
    rng = np.random.default_rng(3)
    layout = nn.mlp_layout((4, 8, 8, 3))
    params = nn.mlp_init(layout, rng, init="uniform")
    x = rng.standard_normal((6, 4))
    ws = nn.mlp_workspace(layout, 6)
    for act, f in ((nn.TANH, np.tanh), (nn.RELU, lambda v: np.maximum(v, 0.0))):
        h = x
        for layer, (n_in, n_out, w_off, b_off) in enumerate(layout):
            h = h @ params[w_off : w_off + n_in * n_out].reshape(n_in, n_out)
            h = h + params[b_off : b_off + n_out]
            if layer < len(layout) - 1:
                h = f(h)
        out = nn.mlp_forward(params, layout, act, x, ws).copy()
        np.testing.assert_allclose(out, h, rtol=1e-13, atol=1e-14)
        slow = nn.mlp_forward.py_func(params, layout, act, x, np.zeros_like(ws))
        np.testing.assert_allclose(out, slow, rtol=1e-13, atol=1e-14)


def test_fast_tanh_within_two_ulp_of_numpy_and_propagates_nan():
    x = np.concatenate(
        [
            np.linspace(-25.0, 25.0, 400_001),
            np.geomspace(1e-300, 1.0, 2001),
            -np.geomspace(1e-300, 1.0, 2001),
            [0.0, -0.0, np.inf, -np.inf, 0.625, -0.625],
        ]
    )
    y = x.copy()
    tanh_inplace(y)  # the vectorised loop the forward pass uses
    ref = np.tanh(x)
    ulp = np.spacing(np.maximum(np.abs(ref), np.finfo(float).tiny))
    assert np.max(np.abs(y - ref) / ulp) <= 2.0
    nan = np.array([np.nan, 1.0])
    tanh_inplace(nan)
    assert np.isnan(nan[0])
    assert abs(nan[1] - np.tanh(1.0)) <= 2 * np.spacing(np.tanh(1.0))


def test_nan_parameters_propagate_through_relu_and_tanh():
    layout = nn.mlp_layout((2, 4, 1))
    params = nn.mlp_init(layout, np.random.default_rng(0))
    params[0] = np.nan
    ws = nn.mlp_workspace(layout, 1)
    for act in (nn.TANH, nn.RELU):
        assert np.isnan(nn.mlp_forward(params, layout, act, np.ones((1, 2)), ws)).all()


@pytest.mark.parametrize("sizes", [(3, 8, 2), (8, 4, 4, 1)])
def test_orthogonal_init_is_orthogonal_times_gain(sizes):
    layout = nn.mlp_layout(sizes)
    params = nn.mlp_init(
        layout, np.random.default_rng(4), hidden_gain=math.sqrt(2), output_gain=0.01
    )
    for layer, (n_in, n_out, w_off, b_off) in enumerate(layout):
        w = params[w_off : w_off + n_in * n_out].reshape(n_in, n_out)
        gain = 0.01 if layer == len(layout) - 1 else math.sqrt(2)
        gram = w.T @ w if n_out <= n_in else w @ w.T
        np.testing.assert_allclose(gram, gain**2 * np.eye(min(n_in, n_out)), atol=1e-12)
        assert np.all(params[b_off : b_off + n_out] == 0.0)


def test_uniform_init_matches_pytorch_bounds():
    layout = nn.mlp_layout((16, 32, 2))
    params = nn.mlp_init(layout, np.random.default_rng(5), init="uniform")
    for n_in, n_out, w_off, b_off in layout:
        block = params[w_off : b_off + n_out]
        bound = 1.0 / math.sqrt(n_in)
        assert np.all(np.abs(block) <= bound) and np.abs(block).max() > 0.8 * bound


def test_same_seed_same_bytes():
    layout = nn.mlp_layout((4, 16, 16, 2))

    def run(seed):
        rng = np.random.default_rng(seed)
        params = nn.mlp_init(layout, rng)
        state = nn.adam_init(params.size)
        ws = nn.mlp_workspace(layout, 32)
        x = rng.standard_normal((32, 4))
        for _ in range(5):
            out = nn.mlp_forward(params, layout, nn.TANH, x, ws)
            grad = np.zeros(params.size)
            nn.mlp_backward(params, layout, nn.TANH, ws, out - 1.0, grad)
            nn.adam_step(params, grad, state, 1e-3)
        return params.tobytes() + nn.categorical_sample(out, rng).tobytes()

    assert run(11) == run(11)
    assert run(11) != run(12)


@pytest.mark.parametrize(
    "sizes", [(), (4,), (4, 0, 2), (4, -1, 2), (4, 2.5, 2), (4, True, 2), (4, "8", 2)]
)
def test_invalid_layer_sizes_raise(sizes):
    with pytest.raises(ValueError, match="sizes"):
        nn.mlp_layout(sizes)


def test_invalid_init_and_activation_raise():
    layout = nn.mlp_layout((2, 3, 1))
    with pytest.raises(ValueError, match="init must be one of"):
        nn.mlp_init(layout, np.random.default_rng(0), init="xavier")
    with pytest.raises(ValueError, match="output_gain"):
        nn.mlp_init(layout, np.random.default_rng(0), output_gain=0.0)
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.activation_code("gelu")
    assert nn.activation_code("relu") == nn.RELU
    with pytest.raises(ValueError, match="layout"):
        nn.check_layout(layout[:, :3].copy())


def test_fit_sine_reaches_low_mse():
    """64-64 tanh MLP, Adam, full batch of 256 points: MSE < 1e-3 after 2000 steps."""
    rng = np.random.default_rng(0)
    x = np.linspace(-math.pi, math.pi, 256).reshape(256, 1)
    y = np.sin(x)
    layout = nn.mlp_layout((1, 64, 64, 1))
    params = nn.mlp_init(layout, rng)
    state = nn.adam_init(params.size)
    ws = nn.mlp_workspace(layout, 256)
    grad = np.zeros(params.size)
    for _ in range(2000):
        out = nn.mlp_forward(params, layout, nn.TANH, x, ws)
        grad[:] = 0.0
        nn.mlp_backward(params, layout, nn.TANH, ws, 2.0 * (out - y) / 256, grad)
        nn.adam_step(params, grad, state, 3e-3)
    mse = float(np.mean((nn.mlp_forward(params, layout, nn.TANH, x, ws) - y) ** 2))
    assert mse < 1e-3


# --------------------------------------------------------------------------------------------
# Optimisers
# --------------------------------------------------------------------------------------------


def test_adam_two_steps_by_hand():
    params = np.array([1.0, -2.0])
    state = nn.adam_init(2)
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    g1, g2 = np.array([0.5, -1.0]), np.array([0.1, 3.0])
    nn.adam_step(params, g1, state, lr, b1, b2, eps)
    # Step 1: m_hat = g, v_hat = g^2, so each parameter moves by lr * sign(g) (up to eps).
    np.testing.assert_allclose(
        params, [1.0 - 0.1 * 0.5 / (0.5 + eps), -2.0 + 0.1 * 1.0 / (1.0 + eps)], rtol=1e-15
    )
    p1 = params.copy()
    nn.adam_step(params, g2, state, lr, b1, b2, eps)
    m = 0.9 * 0.1 * g1 + 0.1 * g2
    v = 0.999 * 0.001 * g1**2 + 0.001 * g2**2
    expected = p1 - lr / (1 - b1**2) * m / (np.sqrt(v) / np.sqrt(1 - b2**2) + eps)
    np.testing.assert_allclose(params, expected, rtol=1e-14)
    assert state.t[0] == 2
    np.testing.assert_allclose(state.m, m, rtol=1e-15)
    np.testing.assert_allclose(state.v, v, rtol=1e-15)


def test_adam_weight_decay_is_l2_on_the_gradient():
    a, b = np.array([2.0]), np.array([2.0])
    sa, sb = nn.adam_init(1), nn.adam_init(1)
    nn.adam_step(a, np.array([0.3]), sa, 0.01, 0.9, 0.999, 1e-8, 0.1)
    nn.adam_step(b, np.array([0.3 + 0.1 * 2.0]), sb, 0.01, 0.9, 0.999, 1e-8, 0.0)
    assert a[0] == b[0]


def test_sgd_with_and_without_momentum():
    p = np.array([1.0, 2.0])
    nn.sgd_step(p, np.array([1.0, -1.0]), 0.5)
    np.testing.assert_array_equal(p, [0.5, 2.5])
    buf = np.zeros(2)
    nn.sgd_step(p, np.array([1.0, 1.0]), 0.1, 0.9, buf)
    nn.sgd_step(p, np.array([1.0, 1.0]), 0.1, 0.9, buf)
    np.testing.assert_allclose(buf, [1.9, 1.9])
    np.testing.assert_allclose(p, [0.5 - 0.1 - 0.19, 2.5 - 0.1 - 0.19])


def test_clip_by_global_norm():
    g = np.array([3.0, 4.0])
    assert nn.clip_by_global_norm(g, 1.0) == 5.0
    np.testing.assert_allclose(g, np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-15)
    g2 = np.array([0.3, 0.4])
    assert nn.clip_by_global_norm(g2, 1.0) == pytest.approx(0.5, rel=1e-15)
    np.testing.assert_array_equal(g2, [0.3, 0.4])  # under the limit: untouched


def test_polyak_and_copy():
    target, source = np.array([1.0, 2.0]), np.array([3.0, -2.0])
    nn.polyak_update(target, source, 0.25)
    np.testing.assert_allclose(target, [1.5, 1.0])
    nn.copy_params(target, source)
    np.testing.assert_array_equal(target, source)


# --------------------------------------------------------------------------------------------
# Heads
# --------------------------------------------------------------------------------------------


@pytest.fixture
def cat_batch():
    rng = np.random.default_rng(6)
    return rng.standard_normal((5, 4)) * 2, rng.standard_normal((5, 4)), rng.standard_normal(5)


def test_categorical_values(cat_batch):
    logits, other, _ = cat_batch
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    q = np.exp(other) / np.exp(other).sum(1, keepdims=True)
    np.testing.assert_allclose(np.exp(nn.log_softmax(logits)), p, rtol=1e-14)
    np.testing.assert_allclose(nn.log_softmax(np.array([[1000.0, 0.0]]))[0, 1], -1000.0)
    acts = np.array([0, 3, 1, 2, 2])
    np.testing.assert_allclose(nn.categorical_log_prob(logits, acts), np.log(p[range(5), acts]))
    np.testing.assert_allclose(nn.categorical_entropy(logits), -(p * np.log(p)).sum(1))
    np.testing.assert_allclose(nn.categorical_kl(logits, other), (p * np.log(p / q)).sum(1))


def test_categorical_sampling_frequencies():
    logits = np.log(np.array([[0.1, 0.6, 0.3]])).repeat(20000, axis=0)
    acts = nn.categorical_sample(logits, np.random.default_rng(0))
    freq = np.bincount(acts, minlength=3) / acts.size
    np.testing.assert_allclose(freq, [0.1, 0.6, 0.3], atol=0.012)  # > 3.5 standard errors
    assert nn.categorical_sample_one(logits[0], np.random.default_rng(0)) == acts[0]


def test_categorical_gradients(cat_batch):
    logits, other, w = cat_batch
    acts = np.array([0, 3, 1, 2, 2])
    g = np.zeros_like(logits)
    nn.categorical_log_prob_grad(logits, acts, w, g)
    assert rel_err(g, central_diff(lambda z: w @ nn.categorical_log_prob(z, acts), logits)) < RTOL
    g = np.zeros_like(logits)
    nn.categorical_entropy_grad(logits, w, g)
    assert rel_err(g, central_diff(lambda z: w @ nn.categorical_entropy(z), logits)) < RTOL
    gp, gq = np.zeros_like(logits), np.zeros_like(logits)
    nn.categorical_kl_grad(logits, other, w, gp, gq)
    assert rel_err(gp, central_diff(lambda z: w @ nn.categorical_kl(z, other), logits)) < RTOL
    assert rel_err(gq, central_diff(lambda z: w @ nn.categorical_kl(logits, z), other)) < RTOL


@pytest.fixture
def gauss_batch():
    rng = np.random.default_rng(7)
    mean, mean_q = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    log_std, log_std_q = 0.3 * rng.standard_normal(3), 0.3 * rng.standard_normal(3)
    return mean, log_std, mean_q, log_std_q, rng.standard_normal((6, 3)), rng.standard_normal(6)


def test_gaussian_values(gauss_batch):
    mean, log_std, mean_q, log_std_q, x, _ = gauss_batch
    s, sq = np.exp(log_std), np.exp(log_std_q)
    ref = (-0.5 * ((x - mean) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)).sum(1)
    np.testing.assert_allclose(nn.gaussian_log_prob(mean, log_std, x), ref, rtol=1e-14)
    np.testing.assert_allclose(
        nn.gaussian_entropy(log_std), (0.5 * np.log(2 * np.pi * np.e * s**2)).sum(), rtol=1e-14
    )
    kl = (np.log(sq / s) + (s**2 + (mean - mean_q) ** 2) / (2 * sq**2) - 0.5).sum(1)
    np.testing.assert_allclose(nn.gaussian_kl(mean, log_std, mean_q, log_std_q), kl, rtol=1e-13)
    draws = nn.gaussian_sample(np.zeros((40000, 3)) + mean[0], log_std, np.random.default_rng(0))
    np.testing.assert_allclose(draws.mean(0), mean[0], atol=4 * s.max() / 200)
    np.testing.assert_allclose(draws.std(0), s, rtol=0.02)


def test_gaussian_gradients(gauss_batch):
    mean, log_std, mean_q, log_std_q, x, w = gauss_batch
    gm, gs = np.zeros_like(mean), np.zeros_like(log_std)
    nn.gaussian_log_prob_grad(mean, log_std, x, w, gm, gs)
    assert rel_err(gm, central_diff(lambda m: w @ nn.gaussian_log_prob(m, log_std, x), mean)) < RTOL
    assert rel_err(gs, central_diff(lambda s: w @ nn.gaussian_log_prob(mean, s, x), log_std)) < RTOL
    ge = np.zeros_like(log_std)
    nn.gaussian_entropy_grad(log_std, 0.7, ge)
    assert rel_err(ge, central_diff(lambda s: 0.7 * nn.gaussian_entropy(s), log_std)) < RTOL
    grads = [np.zeros_like(a) for a in (mean, log_std, mean_q, log_std_q)]
    nn.gaussian_kl_grad(mean, log_std, mean_q, log_std_q, w, *grads)
    args = [mean, log_std, mean_q, log_std_q]
    for k, g in enumerate(grads):

        def f(v, k=k):
            a = list(args)
            a[k] = v
            return w @ nn.gaussian_kl(*a)

        assert rel_err(g, central_diff(f, args[k].copy())) < RTOL


def test_tanh_squashing(gauss_batch):
    mean, log_std, _, _, u, w = gauss_batch
    u = 3.0 * u
    u[0, 0] = 40.0  # the naive log(1 - tanh^2) would be log(0)
    ldj = nn.tanh_log_det_jacobian(u)
    naive = np.log(1.0 - np.tanh(u[1:]) ** 2).sum(1)
    np.testing.assert_allclose(ldj[1:], naive, rtol=1e-9)
    assert np.isfinite(ldj[0]) and ldj[0] < -70
    np.testing.assert_allclose(
        nn.squashed_gaussian_log_prob(mean, log_std, u),
        nn.gaussian_log_prob(mean, log_std, u) - ldj,
        rtol=1e-14,
    )
    g = np.zeros_like(u)
    nn.tanh_log_det_jacobian_grad(u, w, g)
    assert rel_err(g, central_diff(lambda v: w @ nn.tanh_log_det_jacobian(v), u)) < RTOL
    pre, act = nn.squashed_gaussian_sample(mean, log_std, np.random.default_rng(1))
    np.testing.assert_array_max_ulp(act, np.tanh(pre), maxulp=2)  # numba's libm vs numpy's
    np.testing.assert_array_equal(pre, nn.gaussian_sample(mean, log_std, np.random.default_rng(1)))


# --------------------------------------------------------------------------------------------
# float32 networks (the learners' default) against float64
# --------------------------------------------------------------------------------------------


def test_fast_tanh32_within_one_ulp_of_rounded_tanh_and_propagates_nan():
    x = np.concatenate(
        [
            np.linspace(-25.0, 25.0, 400_001),
            np.geomspace(1e-30, 1.0, 2001),
            -np.geomspace(1e-30, 1.0, 2001),
            [0.0, np.inf, -np.inf, 0.625, -0.625, 9.0, 10.0],
        ]
    ).astype(np.float32)
    y = x.copy()
    tanh_inplace(y)  # float32 arithmetic (fast_tanh32), as a float32 forward pass uses
    assert y.dtype == np.float32
    ref = np.tanh(x.astype(np.float64)).astype(np.float32)
    ulp = np.spacing(np.maximum(np.abs(ref), np.finfo(np.float32).tiny)).astype(np.float64)
    assert np.max(np.abs(y.astype(np.float64) - ref) / ulp) <= 1.0
    assert y[-6] == 1.0 and y[-5] == -1.0 and y[-2] == np.float32(np.tanh(9.0))
    nan = np.array([np.nan, 1.0], np.float32)
    tanh_inplace(nan)
    assert np.isnan(nan[0]) and nan[1] == np.float32(np.tanh(1.0))


def test_net_dtype_names_the_allowed_values():
    assert nn.net_dtype("float32") == np.float32 and nn.net_dtype(np.float64) == np.float64
    for bad in ("float16", "int64", "complex128", None, "tanh"):
        with pytest.raises(ValueError, match="float32"):
            nn.net_dtype(bad)


@pytest.mark.parametrize("init", ["orthogonal", "uniform"])
def test_float32_init_is_the_rounded_float64_init_from_the_same_draws(init):
    layout = nn.mlp_layout((3, 16, 2))
    rng64, rng32 = np.random.default_rng(5), np.random.default_rng(5)
    p64 = nn.mlp_init(layout, rng64, init=init)
    p32 = nn.mlp_init(layout, rng32, init=init, dtype="float32")
    assert p32.dtype == np.float32 and p64.dtype == np.float64
    np.testing.assert_array_equal(p32, p64.astype(np.float32))
    assert rng64.random() == rng32.random()  # the generator advanced the same way


@pytest.mark.parametrize("act", [nn.TANH, nn.RELU])
def test_float32_forward_backward_agree_with_float64(act):
    rng = np.random.default_rng(1)
    layout = nn.mlp_layout((4, 64, 64, 3))
    p64 = nn.mlp_init(layout, rng)
    p32 = p64.astype(np.float32)
    x = rng.standard_normal((32, 4))  # float64 observations enter a float32 net unchanged
    g_out = rng.standard_normal((32, 3))  # a float64 loss gradient, cast on the way in
    out, grads = {}, {}
    for p in (p64, p32):
        ws = nn.mlp_workspace(layout, 32, p.dtype)
        out[p.dtype] = nn.mlp_forward(p, layout, act, x, ws).copy()
        grads[p.dtype] = np.zeros_like(p)
        g_copy = g_out.copy()
        nn.mlp_backward(p, layout, act, ws, g_copy, grads[p.dtype])
        np.testing.assert_array_equal(g_copy, g_out)  # grad_out is read, never written
    assert out[np.dtype(np.float32)].dtype == np.float32
    np.testing.assert_allclose(out[np.dtype(np.float32)], out[np.dtype(np.float64)], atol=2e-5)
    g32, g64 = grads[np.dtype(np.float32)], grads[np.dtype(np.float64)]
    assert rel_err(g32.astype(np.float64), g64) < 1e-5


def test_float32_adam_tracks_float64_adam_and_keeps_its_dtype():
    rng = np.random.default_rng(2)
    p64 = rng.standard_normal(1000)
    p32 = p64.astype(np.float32)
    s64, s32 = nn.adam_init(p64.size), nn.adam_init(p32.size, np.float32)
    assert s32.m.dtype == np.float32 and s32.v.dtype == np.float32
    for _ in range(50):
        g = rng.standard_normal(1000)
        nn.adam_step(p64, g, s64, 1e-3)
        nn.adam_step(p32, g.astype(np.float32), s32, 1e-3)
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32, p64, atol=1e-5)


def test_float32_workspace_rejects_a_float64_net_at_compile_time():
    """The matrix products take one dtype: mixing a float64 net with a float32 workspace fails
    loudly instead of silently computing in the wrong precision."""
    layout = nn.mlp_layout((2, 4, 1))
    params = nn.mlp_init(layout, np.random.default_rng(0))
    with pytest.raises(Exception, match="same dtype"):
        nn.mlp_forward(
            params, layout, nn.TANH, np.ones((1, 2)), nn.mlp_workspace(layout, 1, np.float32)
        )


def test_float32_clip_and_polyak_keep_the_dtype_and_agree_with_float64():
    g64 = np.random.default_rng(3).standard_normal(5000)
    g32 = g64.astype(np.float32)
    assert abs(nn.global_norm(g32) - np.linalg.norm(g64)) < 1e-5 * np.linalg.norm(g64)
    n64, n32 = nn.clip_by_global_norm(g64, 1.0), nn.clip_by_global_norm(g32, 1.0)
    assert abs(n32 - n64) < 1e-5 * n64 and g32.dtype == np.float32
    np.testing.assert_allclose(g32, g64, atol=1e-7)
    assert abs(np.linalg.norm(g32.astype(np.float64)) - 1.0) < 1e-5
    t32, t64 = g32.copy(), g64.copy()
    nn.polyak_update(t32, np.zeros_like(t32), 0.005)
    nn.polyak_update(t64, np.zeros_like(t64), 0.005)
    assert t32.dtype == np.float32
    np.testing.assert_allclose(t32, t64, atol=1e-7)
