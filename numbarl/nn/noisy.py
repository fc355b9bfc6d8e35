"""Factorised-Gaussian noisy linear layers (Fortunato et al. 2018, "Noisy Networks for
Exploration", eqs. 9-11): w = mu_w + sigma_w * f(e_in) f(e_out)^T, b = mu_b + sigma_b * f(e_out),
f(x) = sign(x) sqrt(|x|). The forward pass never forms the noisy weight; the backward pass
accumulates the gradients of all four parameter blocks and of the input.

The kernels are ``pointer_kernel``s (``numbarl.nn.kernel``): compiled code calls them directly,
and they carry no CPython wrapper (a training run on a numbarl env calls them from compiled
code only); a call from Python (the tests, the Gymnasium path) goes through the compiled
kernel's pointer, with the same results.
"""

from __future__ import annotations

import math

import numpy as np

from numbarl.nn.kernel import pointer_kernel


@pointer_kernel(cache=True)
def scaled_noise(rng: np.random.Generator, out: np.ndarray) -> None:
    """out[i] = f(e_i), e_i ~ N(0, 1), f(x) = sign(x) sqrt(|x|) (Fortunato et al. 2018, eq. 11),
    computed in float64 and rounded once into ``out`` (float32 or float64)."""
    for i in range(out.shape[0]):
        e = rng.standard_normal()
        out[i] = math.sqrt(e) if e >= 0.0 else -math.sqrt(-e)


@pointer_kernel(cache=True)
def noisy_linear_forward(
    mu_w: np.ndarray,
    sigma_w: np.ndarray,
    mu_b: np.ndarray,
    sigma_b: np.ndarray,
    f_in: np.ndarray,
    f_out: np.ndarray,
    x: np.ndarray,
    out: np.ndarray,
    scratch_in: np.ndarray,
    scratch_out: np.ndarray,
) -> None:
    """Factorised noisy linear layer: out = x (mu_w + sigma_w * f_in f_out^T) + mu_b +
    sigma_b * f_out (Fortunato et al. 2018, eqs. 9-11), without forming the noisy weight:
    x (sigma_w * f_in f_out^T) = ((x * f_in) sigma_w) * f_out.

    mu_w, sigma_w [n_in, n_out]; mu_b, sigma_b, f_out [n_out]; f_in [n_in]; x [B, n_in];
    out [B, n_out]; scratch_in [B, n_in] and scratch_out [B, n_out] (C-contiguous), all in one
    dtype (float32 or float64: the products take one). f_in = f_out = 0 gives the mean network."""
    np.dot(x, mu_w, out)
    for r in range(x.shape[0]):
        for i in range(x.shape[1]):
            scratch_in[r, i] = x[r, i] * f_in[i]
    np.dot(scratch_in, sigma_w, scratch_out)
    for r in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[r, j] += scratch_out[r, j] * f_out[j] + mu_b[j] + sigma_b[j] * f_out[j]


@pointer_kernel(cache=True)
def linear_backward(
    w: np.ndarray,
    x: np.ndarray,
    g: np.ndarray,
    g_w: np.ndarray,
    g_b: np.ndarray,
    g_x: np.ndarray,
    scratch_w: np.ndarray,
    scratch_x: np.ndarray,
) -> None:
    """Backward of a plain linear layer out = x w + b for g = dL/dout [B, n_out] (every array
    in one dtype): accumulates dL/dw = x^T g into g_w [n_in, n_out], dL/db = sum_r g into g_b
    [n_out] and dL/dx = g w^T into g_x [B, n_in]. Scratch: scratch_w [n_in, n_out], scratch_x
    [B, n_in]. A noisy layer's mean weights take exactly this gradient."""
    np.dot(x.T, g, scratch_w)
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            g_w[i, j] += scratch_w[i, j]
    for r in range(g.shape[0]):
        for j in range(g.shape[1]):
            g_b[j] += g[r, j]
    np.dot(g, w.T, scratch_x)
    for r in range(x.shape[0]):
        for i in range(x.shape[1]):
            g_x[r, i] += scratch_x[r, i]


@pointer_kernel(cache=True)
def noisy_linear_backward(
    mu_w: np.ndarray,
    sigma_w: np.ndarray,
    f_in: np.ndarray,
    f_out: np.ndarray,
    x: np.ndarray,
    g: np.ndarray,
    g_mu_w: np.ndarray,
    g_sigma_w: np.ndarray,
    g_mu_b: np.ndarray,
    g_sigma_b: np.ndarray,
    g_x: np.ndarray,
    scratch_in: np.ndarray,
    scratch_out: np.ndarray,
    scratch_w: np.ndarray,
    scratch_x: np.ndarray,
) -> None:
    """Backward of ``noisy_linear_forward`` for g = dL/dout [B, n_out] (every array in the
    layer's dtype).

    Accumulates dL/dmu_w = x^T g, dL/dsigma_w = (x * f_in)^T (g * f_out), dL/dmu_b = sum_r g,
    dL/dsigma_b = sum_r g * f_out into the g_* arrays (shapes of the parameters) and
    dL/dx = g mu_w^T + ((g * f_out) sigma_w^T) * f_in into g_x [B, n_in]. Scratch:
    scratch_in [B, n_in], scratch_out [B, n_out], scratch_w [n_in, n_out], scratch_x [B, n_in]."""
    n_rows, n_in = x.shape
    n_out = g.shape[1]
    # The mean weights' share, g_x's first term included.
    linear_backward(mu_w, x, g, g_mu_w, g_mu_b, g_x, scratch_w, scratch_x)
    for r in range(n_rows):
        for i in range(n_in):
            scratch_in[r, i] = x[r, i] * f_in[i]
        for j in range(n_out):
            scratch_out[r, j] = g[r, j] * f_out[j]
            g_sigma_b[j] += scratch_out[r, j]
    np.dot(scratch_in.T, scratch_out, scratch_w)
    for i in range(n_in):
        for j in range(n_out):
            g_sigma_w[i, j] += scratch_w[i, j]
    np.dot(scratch_out, sigma_w.T, scratch_x)
    for r in range(n_rows):
        for i in range(n_in):
            g_x[r, i] += scratch_x[r, i] * f_in[i]
