"""A tiny MLP policy and a batch for the policy-gradient kernels' finite-difference tests (in
float64, as every gradient check runs)."""

from __future__ import annotations

import numpy as np

from numbarl import nn


def tiny_policy(
    sizes: tuple[int, ...], continuous: bool, log_std: tuple[float, float], batch: int, seed: int
):
    """(layout, theta, obs, actions, rng): an MLP ``sizes + (n_out,)`` (2 Gaussian means or 3
    logits), orthogonal init with gains 1.2 / 0.8 plus N(0, 0.1^2) noise, ``log_std`` appended if
    ``continuous``; ``batch`` standard-normal observations and actions (indices as floats if
    categorical); ``rng`` after those draws."""
    rng = np.random.default_rng(seed)
    n_out = 2 if continuous else 3
    layout = nn.mlp_layout((*sizes, n_out))
    theta = nn.mlp_init(layout, rng, hidden_gain=1.2, output_gain=0.8)
    theta += 0.1 * rng.standard_normal(theta.size)
    if continuous:
        theta = np.concatenate([theta, np.array(log_std)])
    obs = rng.standard_normal((batch, sizes[0]))
    if continuous:
        actions = rng.standard_normal((batch, 2))
    else:
        actions = rng.integers(0, n_out, size=(batch, 1)).astype(np.float64)
    return layout, theta, obs, actions, rng
