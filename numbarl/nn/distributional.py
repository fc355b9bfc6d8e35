"""Distributional (C51) pieces (Bellemare et al. 2017, "A Distributional Perspective on
Reinforcement Learning"): the categorical projection of a shifted, scaled distribution onto a
fixed support (Algorithm 1), the cross-entropy loss against a projected target with its
gradient w.r.t. the logits, and a row softmax.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def categorical_projection(
    z: np.ndarray, r_t: float, discount_t: float, p_t: np.ndarray, out: np.ndarray
) -> None:
    """Project the distribution of r_t + discount_t Z on the support z (Bellemare et al. 2017,
    Algorithm 1).

    z float64[K] evenly spaced from v_min to v_max; p_t [K] the next state's probabilities
    (under the greedy next action); out [K] receives m (p_t and out float32 or float64; the
    atoms' positions are computed in float64, the masses added in out's dtype). Shifted atoms are
    clipped to [v_min, v_max]; atom j's mass goes to its neighbours l = floor(b_j), u = ceil(b_j)
    in proportion to closeness (all of it to l when b_j is an atom). Termination: discount_t = 0
    puts all mass at r_t."""
    k_atoms = z.shape[0]
    v_min, v_max = z[0], z[k_atoms - 1]
    dz = (v_max - v_min) / (k_atoms - 1)
    out[:] = 0.0
    for j in range(k_atoms):
        tz = min(max(r_t + discount_t * z[j], v_min), v_max)
        bj = min((tz - v_min) / dz, k_atoms - 1.0)
        lo = int(math.floor(bj))
        up = int(math.ceil(bj))
        if lo == up:
            out[lo] += p_t[j]
        else:
            out[lo] += p_t[j] * (up - bj)
            out[up] += p_t[j] * (bj - lo)


@njit(cache=True)
def categorical_cross_entropy(logits: np.ndarray, m: np.ndarray, g_logits: np.ndarray) -> float:
    """-sum_i m_i log softmax(logits)_i for logits [K] (float32 or float64) and m [K] (sums to
    1); writes its gradient softmax(logits) - m into g_logits [K] (logits' dtype). The loss and
    the log-normaliser are summed in float64."""
    mx = logits.max()
    total = 0.0
    for i in range(logits.shape[0]):
        total += math.exp(logits[i] - mx)
    log_z = mx + math.log(total)
    loss = 0.0
    for i in range(logits.shape[0]):
        logp = logits[i] - log_z
        loss -= m[i] * logp
        g_logits[i] = math.exp(logp) - m[i]
    return loss


@njit(cache=True)
def softmax(logits: np.ndarray, out: np.ndarray) -> None:
    """out = softmax(logits), logits and out [K] (float32 or float64; the normaliser is summed
    in float64)."""
    mx = logits.max()
    total = 0.0
    for i in range(logits.shape[0]):
        out[i] = math.exp(logits[i] - mx)
        total += out[i]
    for i in range(logits.shape[0]):
        out[i] /= total
