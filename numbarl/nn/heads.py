"""Policy heads: categorical over logits and diagonal Gaussian with state-independent log-std.

Values are returned per sample (float64[B]); gradients are *accumulated* (+=) into caller-owned
arrays and take per-sample upstream weights ``w`` float64[B] = dL/d(quantity_b), so one loss
made of several terms (PPO: ratio term and entropy bonus) sums its gradients into one buffer.
Actions are int64 (categorical) or float64 (Gaussian). Log-probabilities are natural logs.

The kernels are ``pointer_kernel``s (``numbarl.nn.kernel``): compiled code calls them directly,
and they carry no CPython wrapper (a training run on a numbarl env calls them from compiled
code only); a call from Python (the tests, the Gymnasium path) goes through the compiled
kernel's pointer, with the same results.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from numbarl.nn.kernel import pointer_kernel

_LOG_2PI = math.log(2.0 * math.pi)
_LOG_2 = math.log(2.0)

# ---------------------------------------------------------------------------------------------
# Categorical
# ---------------------------------------------------------------------------------------------


@pointer_kernel(cache=True, error_model="numpy")
def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax of each row: float64[B, A] -> float64[B, A] (max-shifted, stable)."""
    batch, n = logits.shape
    out = np.empty((batch, n))
    for b in range(batch):
        mx = logits[b, 0]
        for a in range(1, n):
            mx = max(mx, logits[b, a])
        total = 0.0
        for a in range(n):
            total += np.exp(logits[b, a] - mx)
        lse = mx + np.log(total)
        for a in range(n):
            out[b, a] = logits[b, a] - lse
    return out


@njit(cache=True, error_model="numpy", inline="always")  # per row of a rollout's hot loop
def categorical_sample_log_prob(logits: np.ndarray, rng: np.random.Generator) -> tuple:
    """(action int, its log-probability float) drawn from logits [A] (float32 or float64) by
    inverse CDF on one rng.random() draw; the log-probability is max-shifted (stable)."""
    n = logits.shape[0]
    mx = logits[0]
    for a in range(1, n):
        mx = max(mx, logits[a])
    total = 0.0
    for a in range(n):
        total += np.exp(logits[a] - mx)
    u = rng.random() * total
    acc = 0.0
    chosen = n - 1
    for a in range(n - 1):
        acc += np.exp(logits[a] - mx)
        if u < acc:
            chosen = a
            break
    return chosen, logits[chosen] - mx - np.log(total)


@pointer_kernel(cache=True)
def categorical_sample_one(logits: np.ndarray, rng: np.random.Generator) -> int:
    """One action int from logits float64[A] by inverse CDF on one rng.random() draw."""
    return categorical_sample_log_prob(logits, rng)[0]


@pointer_kernel(cache=True)
def categorical_sample(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Actions int64[B] drawn from each row of logits float64[B, A] (one uniform per row)."""
    batch = logits.shape[0]
    out = np.empty(batch, dtype=np.int64)
    for b in range(batch):
        out[b] = categorical_sample_one(logits[b], rng)
    return out


@pointer_kernel(cache=True)
def categorical_log_prob(logits: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """log pi(a_b | logits_b): float64[B] for logits float64[B, A], actions int64[B]."""
    logp = log_softmax(logits)
    out = np.empty(logits.shape[0])
    for b in range(logits.shape[0]):
        out[b] = logp[b, actions[b]]
    return out


@pointer_kernel(cache=True)
def categorical_entropy(logits: np.ndarray) -> np.ndarray:
    """Entropy -sum_a p log p of each row: float64[B]."""
    logp = log_softmax(logits)
    batch, n = logits.shape
    out = np.zeros(batch)
    for b in range(batch):
        for a in range(n):
            out[b] -= np.exp(logp[b, a]) * logp[b, a]
    return out


@pointer_kernel(cache=True)
def categorical_kl(logits_p: np.ndarray, logits_q: np.ndarray) -> np.ndarray:
    """KL(p || q) = sum_a p (log p - log q) per row: float64[B] for two float64[B, A] batches."""
    lp = log_softmax(logits_p)
    lq = log_softmax(logits_q)
    batch, n = lp.shape
    out = np.zeros(batch)
    for b in range(batch):
        for a in range(n):
            out[b] += np.exp(lp[b, a]) * (lp[b, a] - lq[b, a])
    return out


@pointer_kernel(cache=True)
def categorical_log_prob_grad(
    logits: np.ndarray, actions: np.ndarray, w: np.ndarray, grad_logits: np.ndarray
) -> None:
    """grad_logits[b] += w_b * d log pi(a_b)/d logits_b = w_b * (onehot(a_b) - softmax_b)."""
    logp = log_softmax(logits)
    batch, n = logits.shape
    for b in range(batch):
        for a in range(n):
            grad_logits[b, a] -= w[b] * np.exp(logp[b, a])
        grad_logits[b, actions[b]] += w[b]


@pointer_kernel(cache=True)
def categorical_entropy_grad(logits: np.ndarray, w: np.ndarray, grad_logits: np.ndarray) -> None:
    """grad_logits[b] += w_b * dH_b/d logits_b, where dH/dz_a = -p_a (log p_a + H)."""
    logp = log_softmax(logits)
    batch, n = logits.shape
    for b in range(batch):
        h = 0.0
        for a in range(n):
            h -= np.exp(logp[b, a]) * logp[b, a]
        for a in range(n):
            grad_logits[b, a] -= w[b] * np.exp(logp[b, a]) * (logp[b, a] + h)


@pointer_kernel(cache=True)
def categorical_kl_grad(
    logits_p: np.ndarray,
    logits_q: np.ndarray,
    w: np.ndarray,
    grad_p: np.ndarray,
    grad_q: np.ndarray,
) -> None:
    """Accumulate w_b * dKL_b(p||q) into grad_p and grad_q (float64[B, A] each).

    dKL/dz_p,a = p_a (log p_a - log q_a - KL); dKL/dz_q,a = q_a - p_a."""
    lp = log_softmax(logits_p)
    lq = log_softmax(logits_q)
    batch, n = lp.shape
    for b in range(batch):
        kl = 0.0
        for a in range(n):
            kl += np.exp(lp[b, a]) * (lp[b, a] - lq[b, a])
        for a in range(n):
            p = np.exp(lp[b, a])
            grad_p[b, a] += w[b] * p * (lp[b, a] - lq[b, a] - kl)
            grad_q[b, a] += w[b] * (np.exp(lq[b, a]) - p)


# ---------------------------------------------------------------------------------------------
# Diagonal Gaussian, state-independent log-std
# ---------------------------------------------------------------------------------------------


@pointer_kernel(cache=True)
def gaussian_sample(mean: np.ndarray, log_std: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Actions float64[B, A] = mean + exp(log_std) * N(0, 1); mean float64[B, A], log_std [A].

    Draws B * A standard normals in row order."""
    batch, n = mean.shape
    eps = rng.standard_normal((batch, n))
    out = np.empty((batch, n))
    for b in range(batch):
        for a in range(n):
            out[b, a] = mean[b, a] + np.exp(log_std[a]) * eps[b, a]
    return out


@pointer_kernel(cache=True)
def gaussian_log_prob(mean: np.ndarray, log_std: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """log N(actions_b; mean_b, diag(exp(2 log_std))): float64[B] (summed over action dims)."""
    batch, n = mean.shape
    out = np.zeros(batch)
    for b in range(batch):
        for a in range(n):
            z = (actions[b, a] - mean[b, a]) * np.exp(-log_std[a])
            out[b] += -0.5 * z * z - log_std[a] - 0.5 * _LOG_2PI
    return out


@pointer_kernel(cache=True)
def gaussian_entropy(log_std: np.ndarray) -> float:
    """Entropy sum_a (log_std_a + 0.5 log(2 pi e)), the same for every state."""
    total = 0.0
    for a in range(log_std.shape[0]):
        total += log_std[a] + 0.5 * (_LOG_2PI + 1.0)
    return total


@pointer_kernel(cache=True)
def gaussian_kl(
    mean_p: np.ndarray, log_std_p: np.ndarray, mean_q: np.ndarray, log_std_q: np.ndarray
) -> np.ndarray:
    """KL(p || q) per row, float64[B].

    sum_a log(s_q/s_p) + (s_p^2 + (m_p - m_q)^2) / (2 s_q^2) - 1/2."""
    batch, n = mean_p.shape
    out = np.zeros(batch)
    for b in range(batch):
        for a in range(n):
            var_ratio = np.exp(2.0 * (log_std_p[a] - log_std_q[a]))
            d = (mean_p[b, a] - mean_q[b, a]) * np.exp(-log_std_q[a])
            out[b] += log_std_q[a] - log_std_p[a] + 0.5 * (var_ratio + d * d) - 0.5
    return out


@pointer_kernel(cache=True)
def gaussian_log_prob_grad(
    mean: np.ndarray,
    log_std: np.ndarray,
    actions: np.ndarray,
    w: np.ndarray,
    grad_mean: np.ndarray,
    grad_log_std: np.ndarray,
) -> None:
    """Accumulate w_b * d log pi_b: grad_mean[b, a] += w_b (x - m)/s^2 (float64[B, A]) and
    grad_log_std[a] += sum_b w_b (((x - m)/s)^2 - 1) (float64[A])."""
    batch, n = mean.shape
    for b in range(batch):
        for a in range(n):
            inv_std = np.exp(-log_std[a])
            z = (actions[b, a] - mean[b, a]) * inv_std
            grad_mean[b, a] += w[b] * z * inv_std
            grad_log_std[a] += w[b] * (z * z - 1.0)


@pointer_kernel(cache=True)
def gaussian_entropy_grad(log_std: np.ndarray, w: float, grad_log_std: np.ndarray) -> None:
    """grad_log_std[a] += w * dH/dlog_std_a = w (entropy is sum of log_std + const)."""
    for a in range(log_std.shape[0]):
        grad_log_std[a] += w


@pointer_kernel(cache=True)
def gaussian_kl_grad(
    mean_p: np.ndarray,
    log_std_p: np.ndarray,
    mean_q: np.ndarray,
    log_std_q: np.ndarray,
    w: np.ndarray,
    grad_mean_p: np.ndarray,
    grad_log_std_p: np.ndarray,
    grad_mean_q: np.ndarray,
    grad_log_std_q: np.ndarray,
) -> None:
    """Accumulate w_b * dKL_b(p||q) wrt both sides; means float64[B, A], log-stds float64[A]."""
    batch, n = mean_p.shape
    for b in range(batch):
        for a in range(n):
            var_ratio = np.exp(2.0 * (log_std_p[a] - log_std_q[a]))
            inv_var_q = np.exp(-2.0 * log_std_q[a])
            diff = mean_p[b, a] - mean_q[b, a]
            grad_mean_p[b, a] += w[b] * diff * inv_var_q
            grad_mean_q[b, a] -= w[b] * diff * inv_var_q
            grad_log_std_p[a] += w[b] * (var_ratio - 1.0)
            grad_log_std_q[a] += w[b] * (1.0 - var_ratio - diff * diff * inv_var_q)


# ---------------------------------------------------------------------------------------------
# Tanh squashing (SAC-style): a = tanh(u), u ~ N(mean, std)
# ---------------------------------------------------------------------------------------------


@pointer_kernel(cache=True)
def _log1m_tanh2(u: float) -> float:
    """log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|."""
    x = -2.0 * u
    softplus = max(x, 0.0) + np.log1p(np.exp(-abs(x)))
    return 2.0 * (_LOG_2 - u - softplus)


@pointer_kernel(cache=True)
def tanh_log_det_jacobian(u: np.ndarray) -> np.ndarray:
    """sum_a log(1 - tanh(u_a)^2) per row, float64[B] for pre-squash u float64[B, A]."""
    batch, n = u.shape
    out = np.zeros(batch)
    for b in range(batch):
        for a in range(n):
            out[b] += _log1m_tanh2(u[b, a])
    return out


@pointer_kernel(cache=True)
def tanh_log_det_jacobian_grad(u: np.ndarray, w: np.ndarray, grad_u: np.ndarray) -> None:
    """grad_u[b, a] += w_b * d/du log(1 - tanh(u)^2) = -2 w_b tanh(u_ba)."""
    batch, n = u.shape
    for b in range(batch):
        for a in range(n):
            grad_u[b, a] -= 2.0 * w[b] * np.tanh(u[b, a])


@pointer_kernel(cache=True)
def squashed_gaussian_sample(
    mean: np.ndarray, log_std: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(u, a): pre-squash sample u float64[B, A] ~ N(mean, std) and action a = tanh(u) in (-1, 1).

    Keep u: log-probabilities are computed from u, never from atanh(a)."""
    u = gaussian_sample(mean, log_std, rng)
    return u, np.tanh(u)


@pointer_kernel(cache=True)
def squashed_gaussian_log_prob(mean: np.ndarray, log_std: np.ndarray, u: np.ndarray) -> np.ndarray:
    """log pi(tanh(u)) = log N(u; mean, std) - sum_a log(1 - tanh(u_a)^2): float64[B].

    Its gradient wrt mean/log_std for fixed u is gaussian_log_prob_grad's."""
    return gaussian_log_prob(mean, log_std, u) - tanh_log_det_jacobian(u)
