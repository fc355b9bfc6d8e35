"""RLHF at toy scale: supervised start, a Bradley-Terry reward model, then PPO against it with a
KL penalty to the frozen start policy (Ziegler et al. 2019, "Fine-Tuning Language Models from
Human Preferences"; Ouyang et al. 2022, step 3), all compiled, on the CPU, in seconds.

The toy language task
---------------------
A prompt is one token p drawn uniformly from {0, ..., n_prompts - 1}; a completion is ``seq_len``
tokens x_0..x_{L-1} from a vocabulary of ``vocab`` tokens, generated one token at a time. The
hidden "human preference" likes completions that climb from the prompt:

    true_score(p, x) = (1 / L) * sum_t 1[x_t > x_{t-1}],   x_{-1} = p,

so 1.0 is a strictly ascending completion above the prompt (one exists: validation asks for
n_prompts - 1 + seq_len <= vocab - 1). It is used only to label preference pairs and to report.

The four models (flat-parameter MLPs from ``numbarl.nn``, tanh hidden layers):

- actor pi (trained) and reference pi_ref (a frozen copy of the actor after SFT) read the state
  features of ``state_features``: one-hot prompt, one-hot of the last ``window`` tokens of
  (prompt, completion so far) with a padding symbol, one-hot position; they output next-token
  logits float64[vocab];
- critic V (trained) reads the same features and outputs one value;
- reward model r (frozen after its training) reads ``reward_features``: one-hot prompt and a
  one-hot per completion position, and outputs one score, normalised to mean 0 and standard
  deviation 1 over reference samples (Ziegler et al. section 2.2).

Pipeline (``run_rlhf``):

1. SFT: maximum likelihood on demonstrations that are good completions (sorted distinct tokens
   above the prompt) with each token resampled at random with probability q ~ U(0, demo_noise)
   per demonstration: a mix of good and mediocre text, so the start policy leaves room to improve.
2. Reward model: pairs of completions sampled from the SFT policy for the same prompt, labelled by
   the hidden preference (ties dropped), fitted with the Bradley-Terry loss
   -log sigmoid(r(chosen) - r(rejected)); accuracy reported on held-out pairs.
3. PPO on the token-level MDP: state (prompt, tokens so far), action the next token, reward

       r_t = -beta * (log pi(x_t|s_t) - log pi_ref(x_t|s_t)) + [t = L - 1] * r(p, x),

   GAE(gamma, lambda) advantages and returns per sequence, the clipped surrogate (PPO eq. 7) with
   an entropy bonus on the actor, a squared-error value loss on the critic, global-norm gradient
   clipping and Adam for each. With ``adaptive_kl`` beta follows Ziegler et al.'s proportional
   controller: e = clip(KL / KL_target - 1, -0.2, 0.2), beta <- beta * (1 + k_beta * e), KL the
   batch's mean sequence KL estimate sum_t (log pi - log pi_ref).

The PPO loss kernels are ``numbarl.deep.ppo``'s (``clip_surrogate_grad``, ``value_loss_grad``):
they take flat per-sample arrays, and here a sample is one token.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numba import njit

from numbarl.config import make_config
from numbarl.deep.ppo import clip_surrogate_grad, value_loss_grad
from numbarl.errors import TrainingDiverged
from numbarl.nn import (
    TANH,
    AdamState,
    adam_init,
    adam_step,
    categorical_entropy,
    categorical_entropy_grad,
    categorical_kl,
    categorical_log_prob,
    categorical_log_prob_grad,
    categorical_sample_one,
    clip_by_global_norm,
    mlp_backward,
    mlp_forward,
    mlp_init,
    mlp_layout,
    mlp_workspace,
)
from numbarl.nn.threads import single_threaded_blas
from numbarl.results import write_csv
from numbarl.returns import gae_kernel

__all__ = [
    "METRICS",
    "RLHFConfig",
    "RLHFModels",
    "RLHFResult",
    "adaptive_kl_update",
    "bradley_terry_loss_grad",
    "demonstrations",
    "generate",
    "kl_penalised_rewards",
    "make_rlhf_config",
    "n_state_features",
    "numbarl_rlhf_main",
    "ppo_step",
    "preference_pairs",
    "reward_features",
    "reward_model_loss_grad",
    "reward_scores",
    "run_ppo_steps",
    "run_rlhf",
    "sample_scores",
    "sequence_gae",
    "sequence_kl",
    "single_threaded_blas",
    "state_features",
    "summary_text",
    "train_reward_model",
    "train_sft",
    "token_policy_loss_grad",
    "true_scores",
]

_POS = (0.0, None, False, True)
_NONNEG = (0.0, None, True, True)
_ONE = (1.0, None, True, True)
_TWO = (2.0, None, True, True)
_UNIT = (0.0, 1.0, True, True)


class RLHFConfig(NamedTuple):
    """Toy RLHF hyperparameters; every field is a CSV column.

    Task: ``vocab`` tokens, completions of ``seq_len``, prompts uniform on {0..n_prompts-1};
    the policy sees the last ``window`` tokens. Networks: ``hidden`` units x 2 tanh layers
    (actor, critic), ``rm_hidden`` x 1 (reward model).
    SFT: ``sft_demos`` demonstrations, ``sft_epochs`` passes in minibatches of ``sft_batch``;
    ``demo_noise``: the largest per-demonstration probability of a random token.
    Reward model: ``rm_pairs`` training and ``rm_eval_pairs`` held-out pairs, ``rm_epochs``
    passes in minibatches of ``rm_batch``, L2 ``rm_weight_decay``.
    PPO: ``ppo_steps`` updates, each on ``batch_prompts`` sampled completions (batch_prompts *
    seq_len tokens) with ``n_epochs`` x ``n_minibatches`` Adam steps; ``kl_coef`` is beta (its
    start value if ``adaptive_kl``), ``kl_target`` the controller's target sequence KL in nats,
    ``k_beta`` its gain. ``eval_samples`` completions from each of pi_ref and pi for the final
    comparison."""

    vocab: int = 12
    seq_len: int = 8
    n_prompts: int = 4
    window: int = 2
    hidden: int = 64
    rm_hidden: int = 64
    sft_demos: int = 4096
    sft_epochs: int = 10
    sft_batch: int = 256
    sft_lr: float = 3e-3
    demo_noise: float = 1.0
    rm_pairs: int = 4096
    rm_eval_pairs: int = 512
    rm_epochs: int = 40
    rm_batch: int = 128
    rm_lr: float = 3e-3
    rm_weight_decay: float = 0.0
    ppo_steps: int = 150
    batch_prompts: int = 64
    n_epochs: int = 4
    n_minibatches: int = 4
    lr: float = 1e-3
    critic_lr: float = 1e-3
    gamma: float = 1.0
    gae_lambda: float = 0.95
    clip_coef: float = 0.2
    ent_coef: float = 0.0
    max_grad_norm: float = 1.0
    kl_coef: float = 0.5
    adaptive_kl: bool = True
    kl_target: float = 2.0
    k_beta: float = 0.1
    eval_samples: int = 512

    _ranges = {
        "vocab": _TWO,
        "seq_len": _ONE,
        "n_prompts": _ONE,
        "window": _ONE,
        "hidden": _ONE,
        "rm_hidden": _ONE,
        "sft_demos": _ONE,
        "sft_epochs": _NONNEG,
        "sft_batch": _ONE,
        "sft_lr": _POS,
        "demo_noise": _UNIT,
        "rm_pairs": _ONE,
        "rm_eval_pairs": _ONE,
        "rm_epochs": _ONE,
        "rm_batch": _ONE,
        "rm_lr": _POS,
        "rm_weight_decay": _NONNEG,
        "ppo_steps": _NONNEG,
        "batch_prompts": _ONE,
        "n_epochs": _ONE,
        "n_minibatches": _ONE,
        "critic_lr": _POS,
        "clip_coef": _POS,
        "ent_coef": _NONNEG,
        "max_grad_norm": _POS,
        "kl_coef": _NONNEG,
        "kl_target": _POS,
        "k_beta": _UNIT,
        "eval_samples": _TWO,
    }


class RLHFModels(NamedTuple):
    """Everything PPO reads and writes: parameters float64[P_*], layouts int64[L, 4] (actor and
    reference share ``policy_layout``), the reward model's normalisation (mean, std) float64[2],
    beta float64[1] and the two Adam states."""

    actor: np.ndarray
    ref: np.ndarray
    critic: np.ndarray
    reward: np.ndarray
    policy_layout: np.ndarray
    critic_layout: np.ndarray
    reward_layout: np.ndarray
    reward_norm: np.ndarray
    beta: np.ndarray
    actor_adam: AdamState
    critic_adam: AdamState


# Columns of the per-step metrics array, in order.
METRICS = (
    "rm_score",
    "true_score",
    "kl",
    "kl_exact",
    "entropy",
    "beta",
    "policy_loss",
    "value_loss",
    "clip_fraction",
    "approx_kl",
)


# ---------------------------------------------------------------------------------------------
# The toy task: hidden preference, features, demonstrations
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def true_scores(prompts: np.ndarray, completions: np.ndarray) -> np.ndarray:
    """Hidden preference float64[B] in [0, 1]: fraction of steps t with x_t > x_{t-1}
    (x_{-1} = prompt). prompts int64[B], completions int64[B, L]."""
    batch, seq_len = completions.shape
    out = np.zeros(batch)
    for b in range(batch):
        prev = prompts[b]
        for t in range(seq_len):
            if completions[b, t] > prev:
                out[b] += 1.0
            prev = completions[b, t]
        out[b] /= seq_len
    return out


@njit(cache=True)
def n_state_features(vocab: int, window: int, seq_len: int) -> int:
    """Length of one ``state_features`` row: vocab + window * (vocab + 1) + seq_len."""
    return vocab + window * (vocab + 1) + seq_len


@njit(cache=True)
def _write_state(
    out: np.ndarray, prompt: int, tokens: np.ndarray, t: int, vocab: int, window: int
) -> None:
    """Row float64[F] for the state before token t: [one-hot prompt | window slots | position].

    Slot k (k = 0 the most recent) is one-hot over vocab + 1 symbols (the last one = padding) of
    token t - 1 - k of the completion, the prompt at t - 1 - k = -1, padding before it."""
    out[:] = 0.0
    out[prompt] = 1.0
    for k in range(window):
        i = t - 1 - k
        if i >= 0:
            sym = tokens[i]
        elif i == -1:
            sym = prompt
        else:
            sym = vocab
        out[vocab + k * (vocab + 1) + sym] = 1.0
    out[vocab + window * (vocab + 1) + t] = 1.0


@njit(cache=True)
def state_features(
    prompts: np.ndarray, completions: np.ndarray, vocab: int, window: int
) -> np.ndarray:
    """Features float64[B * L, F] of every state, row b * L + t = the state before token t of
    sequence b (sequence-major, so each sequence's tokens are contiguous)."""
    batch, seq_len = completions.shape
    out = np.zeros((batch * seq_len, n_state_features(vocab, window, seq_len)))
    for b in range(batch):
        for t in range(seq_len):
            _write_state(out[b * seq_len + t], prompts[b], completions[b], t, vocab, window)
    return out


@njit(cache=True)
def reward_features(prompts: np.ndarray, completions: np.ndarray, vocab: int) -> np.ndarray:
    """Reward-model input float64[B, vocab * (L + 1)]: one-hot prompt, then one one-hot block
    per completion position."""
    batch, seq_len = completions.shape
    out = np.zeros((batch, vocab * (seq_len + 1)))
    for b in range(batch):
        out[b, prompts[b]] = 1.0
        for t in range(seq_len):
            out[b, vocab * (t + 1) + completions[b, t]] = 1.0
    return out


@njit(cache=True)
def demonstrations(
    n: int, vocab: int, seq_len: int, n_prompts: int, demo_noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(prompts int64[n], completions int64[n, L]) for SFT. Each demonstration is L distinct
    tokens above the prompt in ascending order (true score 1), then each token is replaced by a
    uniform random token with probability q ~ U(0, demo_noise) (q drawn per demonstration)."""
    prompts = rng.integers(0, n_prompts, n)
    completions = np.empty((n, seq_len), dtype=np.int64)
    pool = np.empty(vocab, dtype=np.int64)
    for b in range(n):
        p = prompts[b]
        m = vocab - 1 - p  # tokens above the prompt
        for i in range(m):
            pool[i] = p + 1 + i
        for i in range(seq_len):  # partial Fisher-Yates: a uniform L-subset
            j = i + rng.integers(0, m - i)
            pool[i], pool[j] = pool[j], pool[i]
        completions[b] = np.sort(pool[:seq_len])
        q = rng.random() * demo_noise
        for t in range(seq_len):
            if rng.random() < q:
                completions[b, t] = rng.integers(0, vocab)
    return prompts, completions


# ---------------------------------------------------------------------------------------------
# Sampling from a policy
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def generate(
    params: np.ndarray,
    layout: np.ndarray,
    prompts: np.ndarray,
    vocab: int,
    window: int,
    seq_len: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Completions int64[B, L] sampled token by token (temperature 1) from the policy
    (params, layout) for prompts int64[B]; one uniform draw per token, in order t, then b."""
    batch = prompts.shape[0]
    completions = np.zeros((batch, seq_len), dtype=np.int64)
    x = np.zeros((batch, n_state_features(vocab, window, seq_len)))
    ws = mlp_workspace(layout, batch)
    for t in range(seq_len):
        for b in range(batch):
            _write_state(x[b], prompts[b], completions[b], t, vocab, window)
        logits = mlp_forward(params, layout, TANH, x, ws)
        for b in range(batch):
            completions[b, t] = categorical_sample_one(logits[b], rng)
    return completions


@njit(cache=True)
def reward_scores(
    params: np.ndarray,
    layout: np.ndarray,
    norm: np.ndarray,
    prompts: np.ndarray,
    completions: np.ndarray,
    vocab: int,
) -> np.ndarray:
    """Normalised reward-model scores float64[B] = (r(p, x) - norm[0]) / norm[1]."""
    x = reward_features(prompts, completions, vocab)
    raw = mlp_forward(params, layout, TANH, x, mlp_workspace(layout, x.shape[0]))
    out = np.empty(x.shape[0])
    for b in range(x.shape[0]):
        out[b] = (raw[b, 0] - norm[0]) / norm[1]
    return out


@njit(cache=True)
def sample_scores(
    m: RLHFModels, use_ref: bool, n: int, cfg: RLHFConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample n completions from pi_ref (``use_ref``) or pi for uniform prompts; returns per
    sequence (true score, normalised reward-model score, exact KL(pi || pi_ref) summed over the
    sequence's states), each float64[n]."""
    prompts = rng.integers(0, cfg.n_prompts, n)
    params = m.ref if use_ref else m.actor
    comp = generate(params, m.policy_layout, prompts, cfg.vocab, cfg.window, cfg.seq_len, rng)
    x = state_features(prompts, comp, cfg.vocab, cfg.window)
    ws = mlp_workspace(m.policy_layout, n * cfg.seq_len)
    logits = mlp_forward(m.actor, m.policy_layout, TANH, x, ws).copy()
    ref_logits = mlp_forward(m.ref, m.policy_layout, TANH, x, ws)
    kl_tok = categorical_kl(logits, ref_logits)
    kl = np.zeros(n)
    for i in range(n * cfg.seq_len):
        kl[i // cfg.seq_len] += kl_tok[i]
    rm = reward_scores(m.reward, m.reward_layout, m.reward_norm, prompts, comp, cfg.vocab)
    return true_scores(prompts, comp), rm, kl


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
    grad = np.zeros(params.shape[0])
    n_out = layout[layout.shape[0] - 1, 1]
    grad_logits = np.empty((mb, n_out))
    ws = mlp_workspace(layout, mb)
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
        d = r_chosen[b] - r_rejected[b]
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
    ws_c = mlp_workspace(layout, mb)
    ws_r = mlp_workspace(layout, mb)
    grad = np.zeros(params.shape[0])
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


# ---------------------------------------------------------------------------------------------
# PPO kernels on tokens
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def sequence_kl(logp: np.ndarray, ref_logp: np.ndarray, seq_len: int) -> np.ndarray:
    """Per-sequence KL(pi || pi_ref) estimate float64[B] = sum_t (log pi(x_t) - log pi_ref(x_t))
    over the sampled tokens; logp, ref_logp float64[B * L], sequence-major."""
    n = logp.shape[0] // seq_len
    out = np.zeros(n)
    for i in range(logp.shape[0]):
        out[i // seq_len] += logp[i] - ref_logp[i]
    return out


@njit(cache=True)
def kl_penalised_rewards(
    logp: np.ndarray, ref_logp: np.ndarray, scores: np.ndarray, beta: float, seq_len: int
) -> np.ndarray:
    """Token rewards float64[B * L]: r_t = -beta (log pi(x_t) - log pi_ref(x_t)), plus the
    sequence's reward-model score scores float64[B] at its last token (Ziegler et al. eq. 2)."""
    out = np.empty(logp.shape[0])
    for i in range(logp.shape[0]):
        out[i] = -beta * (logp[i] - ref_logp[i])
        if i % seq_len == seq_len - 1:
            out[i] += scores[i // seq_len]
    return out


@njit(cache=True)
def sequence_gae(
    rewards: np.ndarray, values: np.ndarray, seq_len: int, gamma: float, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    """GAE advantages and returns float64[B * L] for sequence-major token arrays: each sequence
    is an episode that terminates after its last token (``returns.gae_kernel``)."""
    n = rewards.shape[0]
    next_values = np.zeros(n)
    terminated = np.zeros(n, dtype=np.bool_)
    truncated = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if i % seq_len == seq_len - 1:
            terminated[i] = True
        else:
            next_values[i] = values[i + 1]
    return gae_kernel(rewards, values, next_values, terminated, truncated, gamma, lam)


@njit(cache=True)
def adaptive_kl_update(beta: float, kl: float, kl_target: float, k_beta: float) -> float:
    """Ziegler et al. (2019) section 2.2 proportional controller:
    e = clip(kl / kl_target - 1, -0.2, 0.2), new beta = beta * (1 + k_beta * e)."""
    e = min(max(kl / kl_target - 1.0, -0.2), 0.2)
    return beta * (1.0 + k_beta * e)


@njit(cache=True)
def token_policy_loss_grad(
    logits: np.ndarray,
    actions: np.ndarray,
    old_logp: np.ndarray,
    adv: np.ndarray,
    clip_coef: float,
    ent_coef: float,
    grad_logits: np.ndarray,
) -> tuple[float, float, float, float]:
    """Actor loss on M tokens: clipped surrogate (``ppo.clip_surrogate_grad``) - ent_coef *
    mean entropy. logits float64[M, V], actions int64[M], old_logp/adv float64[M]; accumulates
    dL/dlogits into grad_logits float64[M, V]. Returns (surrogate loss, mean entropy, clip
    fraction, approx KL to the rollout policy)."""
    m = logits.shape[0]
    new_logp = categorical_log_prob(logits, actions)
    grad_logp = np.zeros(m)
    loss, clip_frac, approx_kl = clip_surrogate_grad(new_logp, old_logp, adv, clip_coef, grad_logp)
    categorical_log_prob_grad(logits, actions, grad_logp, grad_logits)
    entropy = categorical_entropy(logits).mean()
    if ent_coef != 0.0:
        categorical_entropy_grad(logits, np.full(m, -ent_coef / m), grad_logits)
    return loss, entropy, clip_frac, approx_kl


@njit(cache=True)
def ppo_step(m: RLHFModels, cfg: RLHFConfig, rng: np.random.Generator, row: np.ndarray) -> None:
    """One PPO iteration: sample ``batch_prompts`` completions from pi, score them (reward
    model, KL penalty with the current beta), GAE, then ``n_epochs`` x ``n_minibatches`` Adam
    steps on actor and critic; finally adapt beta if ``adaptive_kl``. Writes ``METRICS`` of the
    sampled batch (and the beta it used, the mean losses of the update) into row float64[10]."""
    seq_len = cfg.seq_len
    batch = cfg.batch_prompts
    n = batch * seq_len
    layout = m.policy_layout
    prompts = rng.integers(0, cfg.n_prompts, batch)
    comp = generate(m.actor, layout, prompts, cfg.vocab, cfg.window, seq_len, rng)
    x = state_features(prompts, comp, cfg.vocab, cfg.window)
    actions = comp.reshape(n).copy()
    ws_full = mlp_workspace(layout, n)
    logits = mlp_forward(m.actor, layout, TANH, x, ws_full).copy()
    ref_logits = mlp_forward(m.ref, layout, TANH, x, ws_full)
    logp = categorical_log_prob(logits, actions)
    ref_logp = categorical_log_prob(ref_logits, actions)
    kl_exact = categorical_kl(logits, ref_logits).sum() / batch
    values = mlp_forward(m.critic, m.critic_layout, TANH, x, mlp_workspace(m.critic_layout, n))
    values = values[:, 0].copy()
    scores = reward_scores(m.reward, m.reward_layout, m.reward_norm, prompts, comp, cfg.vocab)
    beta = m.beta[0]
    rewards = kl_penalised_rewards(logp, ref_logp, scores, beta, seq_len)
    adv, ret = sequence_gae(rewards, values, seq_len, cfg.gamma, cfg.gae_lambda)
    kl = sequence_kl(logp, ref_logp, seq_len).mean()
    row[0] = scores.mean()
    row[1] = true_scores(prompts, comp).mean()
    row[2] = kl
    row[3] = kl_exact
    row[4] = categorical_entropy(logits).mean()
    row[5] = beta

    # Update: minibatches of tokens, as PPO's minibatches of time steps.
    mb = n // cfg.n_minibatches
    f = x.shape[1]
    xb = np.empty((mb, f))
    ab = np.empty(mb, dtype=np.int64)
    lpb = np.empty(mb)
    advb = np.empty(mb)
    retb = np.empty(mb)
    vb = np.empty(mb)
    ws_a = mlp_workspace(layout, mb)
    ws_c = mlp_workspace(m.critic_layout, mb)
    g_actor = np.zeros(m.actor.shape[0])
    g_critic = np.zeros(m.critic.shape[0])
    grad_logits = np.empty((mb, cfg.vocab))
    grad_v = np.empty((mb, 1))
    sums = np.zeros(4)
    for _ in range(cfg.n_epochs):
        perm = rng.permutation(n)
        for k in range(cfg.n_minibatches):
            for j in range(mb):
                s = perm[k * mb + j]
                xb[j] = x[s]
                ab[j] = actions[s]
                lpb[j] = logp[s]
                advb[j] = adv[s]
                retb[j] = ret[s]
                vb[j] = values[s]
            if mb > 1:  # advantage whitening per minibatch (torch's unbiased std)
                mean = advb.mean()
                std = np.sqrt(((advb - mean) ** 2).sum() / (mb - 1))
                for j in range(mb):
                    advb[j] = (advb[j] - mean) / (std + 1e-8)
            g_actor[:] = 0.0
            grad_logits[:] = 0.0
            out = mlp_forward(m.actor, layout, TANH, xb, ws_a)
            pl, _, cf, akl = token_policy_loss_grad(
                out, ab, lpb, advb, cfg.clip_coef, cfg.ent_coef, grad_logits
            )
            mlp_backward(m.actor, layout, TANH, ws_a, grad_logits, g_actor)
            clip_by_global_norm(g_actor, cfg.max_grad_norm)
            adam_step(m.actor, g_actor, m.actor_adam, cfg.lr, 0.9, 0.999, 1e-5)
            g_critic[:] = 0.0
            v = mlp_forward(m.critic, m.critic_layout, TANH, xb, ws_c)
            vl = value_loss_grad(v[:, 0], vb, retb, cfg.clip_coef, False, grad_v[:, 0])
            mlp_backward(m.critic, m.critic_layout, TANH, ws_c, grad_v, g_critic)
            clip_by_global_norm(g_critic, cfg.max_grad_norm)
            adam_step(m.critic, g_critic, m.critic_adam, cfg.critic_lr, 0.9, 0.999, 1e-5)
            sums[0] += pl
            sums[1] += vl
            sums[2] += cf
            sums[3] += akl
    count = cfg.n_epochs * cfg.n_minibatches
    for c in range(4):
        row[6 + c] = sums[c] / count
    if cfg.adaptive_kl:
        m.beta[0] = adaptive_kl_update(beta, kl, cfg.kl_target, cfg.k_beta)


@njit(cache=True)
def _finite(a: np.ndarray) -> bool:
    for k in range(a.shape[0]):
        if not np.isfinite(a[k]):
            return False
    return True


@njit(cache=True)
def run_ppo_steps(
    m: RLHFModels, cfg: RLHFConfig, n_steps: int, rng: np.random.Generator, metrics: np.ndarray
) -> int:
    """Run ``n_steps`` ``ppo_step`` iterations, row k of metrics float64[n_steps, 10] for step k.
    Returns the steps completed; fewer than n_steps (the last counted) if a parameter or beta
    became non-finite."""
    for k in range(n_steps):
        ppo_step(m, cfg, rng, metrics[k])
        if not (_finite(m.actor) and _finite(m.critic) and _finite(m.beta)):
            return k + 1
    return n_steps


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------


def make_rlhf_config(cfg: RLHFConfig | dict | None = None, **overrides: Any) -> RLHFConfig:
    """A checked ``RLHFConfig`` (defaults, then ``cfg``, then ``overrides``). Raises ValueError
    or TypeError naming the field and the allowed values."""
    if isinstance(cfg, RLHFConfig):
        values = cfg._asdict()
    elif cfg is None or isinstance(cfg, dict):
        values = dict(cfg or {})
    else:
        raise TypeError(f"cfg must be an RLHFConfig, a dict or None, got {type(cfg).__name__}")
    values.update(overrides)
    out = make_config(RLHFConfig, values)
    if out.n_prompts - 1 + out.seq_len > out.vocab - 1:
        raise ValueError(
            "RLHFConfig: a strictly ascending completion must exist for every prompt: need "
            f"n_prompts - 1 + seq_len <= vocab - 1, got n_prompts={out.n_prompts}, "
            f"seq_len={out.seq_len}, vocab={out.vocab}"
        )
    if out.window > out.seq_len:
        raise ValueError(f"RLHFConfig.window must be <= seq_len ({out.seq_len}), got {out.window}")
    tokens = out.batch_prompts * out.seq_len
    if tokens % out.n_minibatches != 0 or tokens // out.n_minibatches < 2:
        raise ValueError(
            "RLHFConfig.n_minibatches must divide batch_prompts * seq_len = "
            f"{tokens} into minibatches of at least 2 tokens, got {out.n_minibatches}"
        )
    return out


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


@dataclass(frozen=True)
class RLHFResult:
    """What ``run_rlhf`` returns.

    - ``history``: tidy DataFrame, one row per PPO step (``algorithm``, ``env``, ``seed``,
      ``step`` = updates done before the row's batch was sampled, ``METRICS``, config columns);
    - ``arrays``: ``actor``, ``ref``, ``critic``, ``reward`` (float64 parameters), their layouts
      ``policy_layout``, ``critic_layout``, ``reward_layout`` and ``reward_norm`` (mean, std);
    - ``rm_accuracy``: the reward model's accuracy on held-out preference pairs;
    - ``sft_loss``, ``rm_loss``: mean training loss per epoch;
    - ``evaluation``: ``eval_samples`` fresh completions from each of pi_ref and the trained pi:
      ``ref_true_score``/``ref_true_sem``, ``true_score``/``true_sem``, ``ref_rm_score``,
      ``rm_score``, ``kl`` (mean exact sequence KL(pi || pi_ref)) and ``kl_sem``;
    - ``seconds``: wall time of the pipeline (SFT, reward model, PPO, evaluation)."""

    config: RLHFConfig
    seed: int
    history: pd.DataFrame
    arrays: dict[str, np.ndarray]
    rm_accuracy: float
    sft_loss: np.ndarray
    rm_loss: np.ndarray
    evaluation: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def to_csv(self, path: str | Path) -> Path:
        """Write ``history`` atomically (``numbarl.results.write_csv``)."""
        return write_csv(self.history, path)

    def save(self, path: str | Path) -> Path:
        """Save ``arrays`` as an .npz file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **self.arrays)
        return path


def _history(metrics: np.ndarray) -> dict[str, np.ndarray]:
    """Columns step (int64) and METRICS from a metrics array float64[steps, 10]."""
    cols: dict[str, np.ndarray] = {"step": np.arange(metrics.shape[0], dtype=np.int64)}
    for c, name in enumerate(METRICS):
        cols[name] = metrics[:, c].copy()
    return cols


def _frame(cfg: RLHFConfig, seed: int, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    n = len(cols["step"])
    df = pd.DataFrame(
        {
            "algorithm": ["rlhf_ppo"] * n,
            "env": ["toy_ascending"] * n,
            "seed": np.full(n, seed, dtype=np.int64),
            **cols,
        }
    )
    for name, value in cfg._asdict().items():
        df[name] = [value] * n
    return df


def run_rlhf(
    cfg: RLHFConfig | dict | None = None,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> RLHFResult:
    """SFT, reward model, then PPO with a KL penalty, as the module docstring describes.

    ``cfg``: an RLHFConfig or a dict of overrides (checked by ``make_rlhf_config``). Seeds for
    the stages come from ``np.random.SeedSequence(seed).spawn``: the same seed gives the same
    bytes. ``progress(fraction)`` is called as PPO advances. Raises TrainingDiverged (with the
    arrays and history so far) if the PPO parameters become non-finite."""
    cfg = make_rlhf_config(cfg)
    seed = _check_seed(seed)
    with single_threaded_blas():
        return _run_rlhf(cfg, seed, progress)


def _run_rlhf(cfg: RLHFConfig, seed: int, progress: Callable[[float], None] | None) -> RLHFResult:
    t0 = time.perf_counter()
    init_seq, sft_seq, rm_seq, ppo_seq, eval_seq = np.random.SeedSequence(seed).spawn(5)
    init_rng = np.random.default_rng(init_seq)
    n_feat = int(n_state_features(cfg.vocab, cfg.window, cfg.seq_len))
    policy_layout = mlp_layout([n_feat, cfg.hidden, cfg.hidden, cfg.vocab])
    critic_layout = mlp_layout([n_feat, cfg.hidden, cfg.hidden, 1])
    reward_layout = mlp_layout([cfg.vocab * (cfg.seq_len + 1), cfg.rm_hidden, 1])
    actor = mlp_init(policy_layout, init_rng, output_gain=0.01)
    critic = mlp_init(critic_layout, init_rng, output_gain=1.0)
    reward = mlp_init(reward_layout, init_rng, output_gain=1.0)

    # 1. Supervised fine-tuning on demonstrations.
    sft_rng = np.random.default_rng(sft_seq)
    d_prompts, d_comp = demonstrations(
        cfg.sft_demos, cfg.vocab, cfg.seq_len, cfg.n_prompts, cfg.demo_noise, sft_rng
    )
    x_demo = state_features(d_prompts, d_comp, cfg.vocab, cfg.window)
    sft_loss = train_sft(
        actor, policy_layout, adam_init(actor.shape[0]), x_demo, d_comp.reshape(-1).copy(),
        cfg.sft_epochs, cfg.sft_batch, cfg.sft_lr, cfg.max_grad_norm, sft_rng,
    )  # fmt: skip
    ref = actor.copy()

    # 2. Reward model on preference pairs sampled from the SFT policy.
    rm_rng = np.random.default_rng(rm_seq)
    n_pairs = cfg.rm_pairs + cfg.rm_eval_pairs
    p_prompts, chosen, rejected = preference_pairs(ref, policy_layout, n_pairs, cfg, rm_rng)
    xc = reward_features(p_prompts, chosen, cfg.vocab)
    xr = reward_features(p_prompts, rejected, cfg.vocab)
    tr = slice(0, cfg.rm_pairs)
    rm_loss = train_reward_model(
        reward, reward_layout, adam_init(reward.shape[0]), xc[tr].copy(), xr[tr].copy(),
        cfg.rm_epochs, cfg.rm_batch, cfg.rm_lr, cfg.rm_weight_decay, rm_rng,
    )  # fmt: skip
    held = slice(cfg.rm_pairs, n_pairs)
    ws = mlp_workspace(reward_layout, cfg.rm_eval_pairs)
    r_c = mlp_forward(reward, reward_layout, TANH, xc[held].copy(), ws)[:, 0].copy()
    r_r = mlp_forward(reward, reward_layout, TANH, xr[held].copy(), ws)[:, 0].copy()
    rm_accuracy = float(np.mean(r_c > r_r))
    # Normalise the reward model over reference samples (mean 0, std 1).
    norm_prompts = rm_rng.integers(0, cfg.n_prompts, 1024)
    norm_comp = generate(
        ref, policy_layout, norm_prompts, cfg.vocab, cfg.window, cfg.seq_len, rm_rng
    )
    unit = np.array([0.0, 1.0])
    raw = reward_scores(reward, reward_layout, unit, norm_prompts, norm_comp, cfg.vocab)
    reward_norm = np.array([raw.mean(), max(raw.std(), 1e-8)])

    # 3. PPO against the reward model with the KL penalty.
    models = RLHFModels(
        actor, ref, critic, reward, policy_layout, critic_layout, reward_layout, reward_norm,
        np.array([cfg.kl_coef]), adam_init(actor.shape[0]), adam_init(critic.shape[0]),
    )  # fmt: skip
    ppo_rng = np.random.default_rng(ppo_seq)
    metrics = np.full((cfg.ppo_steps, len(METRICS)), np.nan)
    chunk = max(1, cfg.ppo_steps // 20)
    done = 0

    def arrays() -> dict[str, np.ndarray]:
        return {
            "actor": models.actor.copy(),
            "ref": models.ref.copy(),
            "critic": models.critic.copy(),
            "reward": models.reward.copy(),
            "policy_layout": policy_layout,
            "critic_layout": critic_layout,
            "reward_layout": reward_layout,
            "reward_norm": reward_norm,
        }

    while done < cfg.ppo_steps:
        n = min(chunk, cfg.ppo_steps - done)
        completed = run_ppo_steps(models, cfg, n, ppo_rng, metrics[done : done + n])
        done += completed
        if completed < n or not (
            np.all(np.isfinite(models.actor)) and np.all(np.isfinite(models.critic))
        ):
            raise TrainingDiverged(
                f"RLHF PPO diverged: non-finite parameters or beta after step {done} of "
                f"{cfg.ppo_steps}; arrays hold those parameters, history the rows before",
                arrays=arrays(),
                history=_history(metrics[: done - 1]),
            )
        if progress is not None:
            progress(done / cfg.ppo_steps)

    # Final comparison on fresh samples (same prompts/draw stream for both policies).
    n_eval = cfg.eval_samples
    ref_true, ref_rm, _ = sample_scores(models, True, n_eval, cfg, np.random.default_rng(eval_seq))
    pi_true, pi_rm, pi_kl = sample_scores(
        models, False, n_eval, cfg, np.random.default_rng(eval_seq)
    )
    sq = math.sqrt(cfg.eval_samples)
    evaluation = {
        "ref_true_score": float(ref_true.mean()),
        "ref_true_sem": float(ref_true.std(ddof=1) / sq),
        "true_score": float(pi_true.mean()),
        "true_sem": float(pi_true.std(ddof=1) / sq),
        "ref_rm_score": float(ref_rm.mean()),
        "rm_score": float(pi_rm.mean()),
        "kl": float(pi_kl.mean()),
        "kl_sem": float(pi_kl.std(ddof=1) / sq),
    }
    history = _frame(cfg, seed, _history(metrics))
    return RLHFResult(
        config=cfg,
        seed=seed,
        history=history,
        arrays=arrays(),
        rm_accuracy=rm_accuracy,
        sft_loss=sft_loss,
        rm_loss=rm_loss,
        evaluation=evaluation,
        seconds=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _parse_sets(pairs: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def numbarl_rlhf_main(
    argv: Sequence[str] | None = None, progress: Callable[[float], None] | None = None
) -> int:
    """``numbarl rlhf [--seed N] [--steps N] [--set key=value ...] [--out FILE.csv]
    [--save FILE.npz]``: run the toy RLHF pipeline and print its summary. ``--steps`` sets
    ``ppo_steps``; ``--set`` any RLHFConfig field (strings are cast by the config's types).
    Returns the exit status (0)."""
    ap = argparse.ArgumentParser(prog="numbarl rlhf", description="Toy RLHF: SFT, RM, PPO.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=None, help="PPO steps (RLHFConfig.ppo_steps)")
    ap.add_argument("--set", action="append", metavar="KEY=VALUE", help="RLHFConfig field")
    ap.add_argument("--out", type=Path, default=None, help="history CSV")
    ap.add_argument("--save", type=Path, default=None, help="trained arrays (.npz)")
    args = ap.parse_args(None if argv is None else list(argv))
    overrides: dict[str, Any] = _parse_sets(args.set)
    if args.steps is not None:
        overrides["ppo_steps"] = args.steps
    result = run_rlhf(make_rlhf_config(overrides), seed=args.seed, progress=progress)
    if args.out is not None:
        result.to_csv(args.out)
        print(f"wrote {args.out} ({len(result.history)} rows)")
    if args.save is not None:
        result.save(args.save)
        print(f"saved {args.save}")
    print(summary_text(result))
    return 0


def summary_text(result: RLHFResult) -> str:
    """A few lines: reward-model accuracy, true and reward-model scores before/after, KL."""
    e = result.evaluation
    cfg = result.config
    beta = "adaptive" if cfg.adaptive_kl else "fixed"
    last = result.history["beta"].iloc[-1] if len(result.history) else cfg.kl_coef
    return "\n".join(
        [
            f"rlhf seed {result.seed}: reward model held-out accuracy {result.rm_accuracy:.3f}",
            f"  true score  ref {e['ref_true_score']:.3f} +- {e['ref_true_sem']:.3f} -> "
            f"ppo {e['true_score']:.3f} +- {e['true_sem']:.3f} (s.e., "
            f"{cfg.eval_samples} samples each)",
            f"  rm score    ref {e['ref_rm_score']:.3f} -> ppo {e['rm_score']:.3f}",
            f"  KL(pi||ref) {e['kl']:.3f} +- {e['kl_sem']:.3f} nats/sequence "
            f"(target {cfg.kl_target:g}); beta {beta}, final {last:.4g}",
            f"  {result.seconds:.2f} s",
        ]
    )
