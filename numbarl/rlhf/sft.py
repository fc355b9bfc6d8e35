"""Supervised fine-tuning: maximum likelihood on demonstrations."""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.nn import (
    TANH,
    AdamState,
    adam_init,
    categorical_log_prob,
    categorical_log_prob_grad,
    mlp_forward,
    mlp_workspace,
)
from numbarl.rlhf.config import RLHFConfig
from numbarl.rlhf.task import demonstrations, state_features
from numbarl.rlhf.update import backward_adam_step, gather_rows


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
            gather_rows(xb, x, perm, k * mb)
            gather_rows(yb, targets, perm, k * mb)
            logits = mlp_forward(params, layout, TANH, xb, ws)
            losses[e] -= categorical_log_prob(logits, yb).mean() / n_batches
            grad_logits[:] = 0.0
            categorical_log_prob_grad(logits, yb, w, grad_logits)
            backward_adam_step(params, layout, ws, grad_logits, grad, adam, lr, max_grad_norm, 1e-8)
    return losses


def run_sft(
    actor: np.ndarray, layout: np.ndarray, cfg: RLHFConfig, rng: np.random.Generator
) -> np.ndarray:
    """Stage 1 of the pipeline: draw ``cfg.sft_demos`` demonstrations and fit the actor to them
    in place (``train_sft``, a fresh Adam state in the actor's dtype); returns the loss per
    epoch."""
    prompts, completions = demonstrations(
        cfg.sft_demos, cfg.vocab, cfg.seq_len, cfg.n_prompts, cfg.demo_noise, rng
    )
    x = state_features(prompts, completions, cfg.vocab, cfg.window)
    return train_sft(
        actor, layout, adam_init(actor.shape[0], actor.dtype), x, completions.reshape(-1).copy(),
        cfg.sft_epochs, cfg.sft_batch, cfg.sft_lr, cfg.max_grad_norm, rng,
    )  # fmt: skip
