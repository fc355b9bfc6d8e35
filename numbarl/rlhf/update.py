"""The minibatch pieces SFT, the reward model and PPO share: gathering a shuffled minibatch and
one clipped Adam step through a network's last forward pass."""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.nn import TANH, AdamState, adam_step, clip_by_global_norm, mlp_backward


@njit(cache=True)
def gather_rows(dst: np.ndarray, src: np.ndarray, perm: np.ndarray, start: int) -> None:
    """dst[j] = src[perm[start + j]] for every row j of dst (rows of a 2-D array, entries of a
    1-D one): minibatch ``start // len(dst)`` of the permutation ``perm``."""
    for j in range(dst.shape[0]):
        dst[j] = src[perm[start + j]]


@njit(cache=True)
def backward_adam_step(
    params: np.ndarray,
    layout: np.ndarray,
    ws: np.ndarray,
    grad_out: np.ndarray,
    grad: np.ndarray,
    adam: AdamState,
    lr: float,
    max_grad_norm: float,
    eps: float,
) -> None:
    """Backpropagate grad_out = dL/d(output) through the last ``mlp_forward`` on ``ws`` (tanh
    hidden layers) into grad (overwritten, the parameters' dtype), clip it to global norm
    ``max_grad_norm`` and take one Adam step (betas 0.9, 0.999; ``eps``) on params."""
    grad[:] = 0.0
    mlp_backward(params, layout, TANH, ws, grad_out, grad)
    clip_by_global_norm(grad, max_grad_norm)
    adam_step(params, grad, adam, lr, 0.9, 0.999, eps)
