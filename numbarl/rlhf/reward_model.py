"""The reward model: preference pairs and the Bradley-Terry loss."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from numbarl.nn import (
    TANH,
    AdamState,
    adam_step,
    mlp_backward,
    mlp_forward,
    mlp_workspace,
)
from numbarl.rlhf.config import RLHFConfig
from numbarl.rlhf.task import (
    generate,
    true_scores,
)

# ---------------------------------------------------------------------------------------------
# Reward model (Bradley-Terry)
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def preference_pairs(
    params: np.ndarray, layout: np.ndarray, n: int, cfg: RLHFConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n labelled pairs from the policy (params, layout): for each prompt two sampled
    completions, ordered by the hidden preference; pairs with equal scores are dropped and more
    are drawn (ValueError after 1000 rounds of n draws). Returns (prompts int64[n],
    chosen int64[n, L], rejected int64[n, L])."""
    prompts = np.empty(n, dtype=np.int64)
    chosen = np.empty((n, cfg.seq_len), dtype=np.int64)
    rejected = np.empty((n, cfg.seq_len), dtype=np.int64)
    filled = 0
    rounds = 0
    while filled < n:
        rounds += 1
        if rounds > 1000:
            raise ValueError(
                "preference_pairs: the policy's samples almost always tie on the hidden score"
            )
        p = rng.integers(0, cfg.n_prompts, n)
        pp = np.concatenate((p, p))
        comp = generate(params, layout, pp, cfg.vocab, cfg.window, cfg.seq_len, rng)
        s = true_scores(pp, comp)
        for b in range(n):
            if filled == n:
                break
            if s[b] == s[n + b]:
                continue
            hi, lo = (b, n + b) if s[b] > s[n + b] else (n + b, b)
            prompts[filled] = p[b]
            chosen[filled] = comp[hi]
            rejected[filled] = comp[lo]
            filled += 1
    return prompts, chosen, rejected


@njit(cache=True)
def bradley_terry_loss_grad(
    r_chosen: np.ndarray,
    r_rejected: np.ndarray,
    grad_chosen: np.ndarray,
    grad_rejected: np.ndarray,
) -> tuple[float, float]:
    """Bradley-Terry loss L = mean_b -log sigmoid(r_chosen_b - r_rejected_b), all float64[M].

    Writes grad_chosen = dL/dr_chosen = -sigmoid(-d_b) / M and grad_rejected = +sigmoid(-d_b) / M
    (d_b = r_chosen_b - r_rejected_b). Returns (L, accuracy mean(d_b > 0)). Stable for any d."""
    m = r_chosen.shape[0]
    loss = 0.0
    correct = 0.0
    for b in range(m):
        d = float(r_chosen[b]) - float(r_rejected[b])  # float64 from a float32 network too
        # -log sigmoid(d) = softplus(-d); sigmoid(-d) = 1 / (1 + e^d)
        if d >= 0.0:
            e = math.exp(-d)
            loss += math.log1p(e)
            s = e / (1.0 + e)
            correct += 1.0 if d > 0.0 else 0.0
        else:
            e = math.exp(d)
            loss += -d + math.log1p(e)
            s = 1.0 / (1.0 + e)
        grad_chosen[b] = -s / m
        grad_rejected[b] = s / m
    return loss / m, correct / m


@njit(cache=True)
def reward_model_loss_grad(
    params: np.ndarray,
    layout: np.ndarray,
    x_chosen: np.ndarray,
    x_rejected: np.ndarray,
    ws_chosen: np.ndarray,
    ws_rejected: np.ndarray,
    grad: np.ndarray,
) -> tuple[float, float]:
    """Bradley-Terry loss of the reward model on feature batches float64[M, D] of the chosen
    and rejected completions; accumulates dL/dparams into grad float64[P]. Returns (L, acc)."""
    m = x_chosen.shape[0]
    rc = mlp_forward(params, layout, TANH, x_chosen, ws_chosen)
    rr = mlp_forward(params, layout, TANH, x_rejected, ws_rejected)
    gc = np.empty((m, 1))
    gr = np.empty((m, 1))
    loss, acc = bradley_terry_loss_grad(rc[:, 0], rr[:, 0], gc[:, 0], gr[:, 0])
    mlp_backward(params, layout, TANH, ws_chosen, gc, grad)
    mlp_backward(params, layout, TANH, ws_rejected, gr, grad)
    return loss, acc


@njit(cache=True)
def train_reward_model(
    params: np.ndarray,
    layout: np.ndarray,
    adam: AdamState,
    x_chosen: np.ndarray,
    x_rejected: np.ndarray,
    epochs: int,
    batch: int,
    lr: float,
    weight_decay: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fit the reward model on pairs (x_chosen[i] preferred to x_rejected[i], float64[N, D])
    with the Bradley-Terry loss over shuffled minibatches. Returns mean loss per epoch."""
    n, d = x_chosen.shape
    mb = min(batch, n)
    n_batches = n // mb
    xc = np.empty((mb, d))
    xr = np.empty((mb, d))
    ws_c = mlp_workspace(layout, mb, params.dtype)
    ws_r = mlp_workspace(layout, mb, params.dtype)
    grad = np.zeros_like(params)
    losses = np.zeros(epochs)
    for e in range(epochs):
        perm = rng.permutation(n)
        for k in range(n_batches):
            for j in range(mb):
                xc[j] = x_chosen[perm[k * mb + j]]
                xr[j] = x_rejected[perm[k * mb + j]]
            grad[:] = 0.0
            loss, _ = reward_model_loss_grad(params, layout, xc, xr, ws_c, ws_r, grad)
            losses[e] += loss / n_batches
            adam_step(params, grad, adam, lr, 0.9, 0.999, 1e-8, weight_decay)
    return losses
