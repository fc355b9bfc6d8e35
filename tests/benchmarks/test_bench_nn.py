"""A 4-64-64-2 MLP Adam update (forward + backward + Adam step) on a batch of 64.

Design target: at most 40 us per update in float32, the learners' default (float64 is kept for
comparison; PyTorch on one thread: about 250 us).
Run: .venv/bin/pytest tests/benchmarks/test_bench_nn.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from numbarl import nn

SIZES = (4, 64, 64, 2)
BATCH = 64


@njit(cache=True)
def mse_adam_update(params, layout, act, x, y, cache, grad, state, lr):
    """One regression update: MSE loss on float64[B, 2] targets, gradient, Adam step (the net in
    float32 or float64; x, y float64 as an environment gives them)."""
    out = nn.mlp_forward(params, layout, act, x, cache)
    grad[:] = 0.0
    g_out = (out - y) * (2.0 / out.size)
    nn.mlp_backward(params, layout, act, cache, g_out, grad)
    nn.adam_step(params, grad, state, lr)


def _problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    layout = nn.mlp_layout(SIZES)
    params = nn.mlp_init(layout, rng)
    x = rng.standard_normal((BATCH, SIZES[0]))
    y = rng.standard_normal((BATCH, SIZES[-1]))
    return params, layout, x, y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_bench_mlp_adam_update_numba(benchmark, activation, dtype):
    params, layout, x, y = _problem()
    params = params.astype(dtype)
    act = nn.activation_code(activation)
    cache = nn.mlp_workspace(layout, BATCH, params.dtype)
    grad = np.zeros_like(params)
    state = nn.adam_init(params.size, params.dtype)
    mse_adam_update(params, layout, act, x, y, cache, grad, state, 1e-3)  # compile / load
    benchmark(mse_adam_update, params, layout, act, x, y, cache, grad, state, 1e-3)
    benchmark.extra_info["updates_per_second"] = 1.0 / benchmark.stats.stats.median
    assert np.isfinite(params).all()


@pytest.mark.extras
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_bench_mlp_adam_update_torch(benchmark, activation):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    act = torch.nn.Tanh if activation == "tanh" else torch.nn.ReLU
    net = torch.nn.Sequential(
        torch.nn.Linear(SIZES[0], SIZES[1]),
        act(),
        torch.nn.Linear(SIZES[1], SIZES[2]),
        act(),
        torch.nn.Linear(SIZES[2], SIZES[3]),
    ).double()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    _, _, x_np, y_np = _problem()
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)

    def update():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()

    update()
    benchmark(update)
    benchmark.extra_info["updates_per_second"] = 1.0 / benchmark.stats.stats.median
