"""The toy language task (hidden preference, features, demonstrations) and sampling
from a token policy.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.nn import (
    TANH,
    categorical_kl,
    categorical_sample_one,
    mlp_forward,
    mlp_workspace,
)
from numbarl.rlhf.config import RLHFConfig, RLHFModels

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
    ws = mlp_workspace(layout, batch, params.dtype)
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
    raw = mlp_forward(params, layout, TANH, x, mlp_workspace(layout, x.shape[0], params.dtype))
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
    ws = mlp_workspace(m.policy_layout, n * cfg.seq_len, m.actor.dtype)
    logits = mlp_forward(m.actor, m.policy_layout, TANH, x, ws).copy()
    ref_logits = mlp_forward(m.ref, m.policy_layout, TANH, x, ws)
    kl_tok = categorical_kl(logits, ref_logits)
    kl = np.zeros(n)
    for i in range(n * cfg.seq_len):
        kl[i // cfg.seq_len] += kl_tok[i]
    rm = reward_scores(m.reward, m.reward_layout, m.reward_norm, prompts, comp, cfg.vocab)
    return true_scores(prompts, comp), rm, kl
