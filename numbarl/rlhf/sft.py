"""Supervised fine-tuning: maximum likelihood on demonstrations."""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.nn import (
    TANH,
    AdamState,
    adam_step,
    categorical_log_prob,
    categorical_log_prob_grad,
    clip_by_global_norm,
    mlp_backward,
    mlp_forward,
    mlp_workspace,
)

# ---------------------------------------------------------------------------------------------
# Supervised fine-tuning (maximum likelihood)
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def train_sft(
    params: np.ndarray,
    layout: np.ndarray,
    adam: AdamState,
    x: np.ndarray,
    targets: np.ndarray,
    epochs: int,
    batch: int,
    lr: float,
    max_grad_norm: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Minimise the mean next-token negative log-likelihood -log pi(target | x) over shuffled
    minibatches; x float64[N, F], targets int64[N]. Returns the mean loss per epoch float64[E]."""
    n, f = x.shape
    mb = min(batch, n)
    n_batches = n // mb
    xb = np.empty((mb, f))
    yb = np.empty(mb, dtype=np.int64)
    w = np.full(mb, -1.0 / mb)  # dL/dlogp_b of L = -mean logp
    grad = np.zeros_like(params)
    n_out = layout[layout.shape[0] - 1, 1]
    grad_logits = np.empty((mb, n_out))
    ws = mlp_workspace(layout, mb, params.dtype)
    losses = np.zeros(epochs)
    for e in range(epochs):
        perm = rng.permutation(n)
        for k in range(n_batches):
            for j in range(mb):
                xb[j] = x[perm[k * mb + j]]
                yb[j] = targets[perm[k * mb + j]]
            logits = mlp_forward(params, layout, TANH, xb, ws)
            losses[e] -= categorical_log_prob(logits, yb).mean() / n_batches
            grad[:] = 0.0
            grad_logits[:] = 0.0
            categorical_log_prob_grad(logits, yb, w, grad_logits)
            mlp_backward(params, layout, TANH, ws, grad_logits, grad)
            clip_by_global_norm(grad, max_grad_norm)
            adam_step(params, grad, adam, lr, 0.9, 0.999, 1e-8)
    return losses
