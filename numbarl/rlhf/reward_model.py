"""The reward model: preference pairs and the Bradley-Terry loss."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from numbarl.nn import (
    TANH,
    AdamState,
    adam_init,
    adam_step,
    mlp_backward,
    mlp_forward,
    mlp_workspace,
)
from numbarl.rlhf.config import RLHFConfig
from numbarl.rlhf.task import generate, reward_features, reward_scores, true_scores
from numbarl.rlhf.update import gather_rows

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
    """Bradley-Terry loss L = mean_b -log sigmoid(r_chosen_b - r_rejected_b); scores [M] in
    either dtype, gradients float64[M], the arithmetic in float64.

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
    and rejected completions; accumulates dL/dparams into grad [P] (the parameters' dtype).
    Returns (L, acc)."""
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
            gather_rows(xc, x_chosen, perm, k * mb)
            gather_rows(xr, x_rejected, perm, k * mb)
            grad[:] = 0.0
            loss, _ = reward_model_loss_grad(params, layout, xc, xr, ws_c, ws_r, grad)
            losses[e] += loss / n_batches
            adam_step(params, grad, adam, lr, 0.9, 0.999, 1e-8, weight_decay)
    return losses


def run_reward_model(
    reward: np.ndarray,
    reward_layout: np.ndarray,
    ref: np.ndarray,
    policy_layout: np.ndarray,
    cfg: RLHFConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Stage 2 of the pipeline: ``rm_pairs + rm_eval_pairs`` preference pairs sampled from the
    reference policy, the reward model fitted in place on the first ``rm_pairs`` (a fresh Adam
    state in its dtype), its accuracy on the rest, then its normalisation (mean, std) over 1024
    reference samples (Ziegler et al. section 2.2). Returns (loss per epoch, held-out accuracy,
    reward_norm float64[2])."""
    n_pairs = cfg.rm_pairs + cfg.rm_eval_pairs
    prompts, chosen, rejected = preference_pairs(ref, policy_layout, n_pairs, cfg, rng)
    xc = reward_features(prompts, chosen, cfg.vocab)
    xr = reward_features(prompts, rejected, cfg.vocab)
    tr = slice(0, cfg.rm_pairs)
    rm_loss = train_reward_model(
        reward, reward_layout, adam_init(reward.shape[0], reward.dtype), xc[tr].copy(),
        xr[tr].copy(), cfg.rm_epochs, cfg.rm_batch, cfg.rm_lr, cfg.rm_weight_decay, rng,
    )  # fmt: skip
    held = slice(cfg.rm_pairs, n_pairs)
    ws = mlp_workspace(reward_layout, cfg.rm_eval_pairs, reward.dtype)
    r_c = mlp_forward(reward, reward_layout, TANH, xc[held].copy(), ws)[:, 0].copy()
    r_r = mlp_forward(reward, reward_layout, TANH, xr[held].copy(), ws)[:, 0].copy()
    accuracy = float(np.mean(r_c > r_r))
    norm_prompts = rng.integers(0, cfg.n_prompts, 1024)
    norm_comp = generate(ref, policy_layout, norm_prompts, cfg.vocab, cfg.window, cfg.seq_len, rng)
    unit = np.array([0.0, 1.0])
    raw = reward_scores(reward, reward_layout, unit, norm_prompts, norm_comp, cfg.vocab)
    return rm_loss, accuracy, np.array([raw.mean(), max(raw.std(), 1e-8)])
