"""Experience replay as preallocated arrays: a ring buffer, n-step targets, prioritised sampling.

**Ring buffer** (``ReplayBuffer``, capacity C). Row i holds one transition
``(obs[i], action[i], reward[i], next_obs[i], terminated[i], truncated[i])``; rows are written in
time order at ``info[0]`` (wrapping around, overwriting the oldest) and ``info[1]`` counts the
rows filled (at most C). Dtypes and shapes:

- ``obs``, ``next_obs``: float64[C, obs_dim];
- ``action``: float64[C, action_dim], for every algorithm: a discrete action is stored as its index
  written as a float (``action[i, 0] == 2.0``, ``action_dim == 1``), exactly as ``numbarl.envs``
  takes actions; continuous actions (DDPG/TD3) are the action vector. One layout serves both;
  read a discrete index with ``int(action[i, 0])``;
- ``reward``: float64[C]; ``terminated``, ``truncated``: bool[C].

Episode ends. ``terminated`` means the MDP reached a terminal state: targets do not bootstrap.
``truncated`` means the episode was cut (Gymnasium's time limit, or collection stopped): targets
*do* bootstrap from ``next_obs``, which holds the final observation of the cut episode (with
same-step autoreset, ``vec_step``'s ``final_obs``), never the next episode's first observation.
Both flags mark an episode boundary, so multi-step targets stop there. Consecutive rows are
consecutive time steps of one stream (one env), except across an episode boundary.

**n-step targets** (Sutton & Barto eq. 7.1; Rainbow's multi-step learning), computed from the
buffer at sampling time: for row i,
``G = sum_{k<m} gamma^k r_{i+k}`` and ``discount = 0`` if row i+m-1 terminated, else
``gamma^m``, bootstrapping from ``next_obs[i+m-1]``, where m <= n stops early at an episode end
(terminated or truncated) or at the newest row (whose successor is not stored yet).

**Prioritised replay** (Schaul et al. 2016, proportional variant). A ``SumTree`` over C leaves
holds priorities p_i = (|delta_i| + eps)^alpha; ``sumtree_sample`` draws i with probability
P(i) = p_i / sum_k p_k (stratified: one draw in each of ``batch`` equal slices of the total), and
``per_weights`` gives importance weights w_i = (N P(i))^-beta / max_j w_j, the maximum over the
whole buffer (so w <= 1), beta annealed to 1 by the caller. New rows get the largest priority
seen so far (``max_priority``), so each is replayed at least once soon.

The kernels but ``replay_add`` (which the Gymnasium path calls from Python at every step, where
a call through a pointer costs ~18 us against ~4 us) are ``pointer_kernel``s
(``numbarl.nn.kernel``): compiled code calls them directly,
and they carry no CPython wrapper (a training run on a numbarl env calls them from compiled
code only); a call from Python (the tests, the Gymnasium path) goes through the compiled
kernel's pointer, with the same results.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from numbarl.nn.kernel import pointer_kernel

# ---------------------------------------------------------------------------------------------
# Ring buffer
# ---------------------------------------------------------------------------------------------


class ReplayBuffer(NamedTuple):
    """Transitions in preallocated arrays (see the module docstring for the row layout).

    ``info`` int64[2] = (next write position, number of rows filled)."""

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    info: np.ndarray


def replay_init(
    capacity: int,
    obs_dim: int,
    action_dim: int,
    dtype=np.float64,  # noqa: ANN001
) -> ReplayBuffer:
    """An empty buffer of ``capacity`` rows (arrays zeroed).

    Observations and actions are stored in ``dtype``, the networks' dtype (float32 halves the
    buffer's memory; environments compute in float64 and their observations are rounded once,
    where they enter the buffer); rewards stay float64. Plain Python (NumPy): nothing is
    compiled for it."""
    if capacity < 1 or obs_dim < 1 or action_dim < 1:
        raise ValueError("replay_init: capacity, obs_dim and action_dim must be >= 1")
    return ReplayBuffer(
        np.zeros((capacity, obs_dim), dtype),
        np.zeros((capacity, action_dim), dtype),
        np.zeros(capacity),
        np.zeros((capacity, obs_dim), dtype),
        np.zeros(capacity, dtype=np.bool_),
        np.zeros(capacity, dtype=np.bool_),
        np.zeros(2, dtype=np.int64),
    )


@pointer_kernel(cache=True)
def replay_size(buf: ReplayBuffer) -> int:
    """Number of rows filled."""
    return buf.info[1]


@pointer_kernel(cache=True)
def replay_newest(buf: ReplayBuffer) -> int:
    """Row index of the most recently written transition (-1 if empty)."""
    if buf.info[1] == 0:
        return -1
    cap = buf.reward.shape[0]
    return (buf.info[0] - 1 + cap) % cap


@njit(cache=True)  # called per step from Python on the Gymnasium path: direct dispatch
def replay_add(
    buf: ReplayBuffer,
    obs: np.ndarray,
    action: np.ndarray,
    reward: float,
    next_obs: np.ndarray,
    terminated: bool,
    truncated: bool,
) -> int:
    """Write one transition at the write position (overwriting the oldest row when full).

    obs, next_obs float64[obs_dim]; action float64[action_dim]. Returns the row written."""
    cap = buf.reward.shape[0]
    i = buf.info[0]
    for k in range(obs.shape[0]):
        buf.obs[i, k] = obs[k]
        buf.next_obs[i, k] = next_obs[k]
    for k in range(action.shape[0]):
        buf.action[i, k] = action[k]
    buf.reward[i] = reward
    buf.terminated[i] = terminated
    buf.truncated[i] = truncated
    buf.info[0] = (i + 1) % cap
    if buf.info[1] < cap:
        buf.info[1] += 1
    return i


@pointer_kernel(cache=True)
def replay_sample_uniform(buf: ReplayBuffer, rng: np.random.Generator, idx: np.ndarray) -> None:
    """Fill idx int64[B] with rows drawn uniformly with replacement from the filled rows."""
    size = buf.info[1]
    for k in range(idx.shape[0]):
        idx[k] = rng.integers(0, size)


@pointer_kernel(cache=True)
def nstep_return(
    reward: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    i: int,
    newest: int,
    n: int,
    gamma: float,
) -> tuple[float, float, int]:
    """n-step return from row i of a ring of rows (reward float64[C], flags bool[C]).

    Walks rows i, i+1, ... (mod C) for at most n rows, stopping after a row that terminated or
    truncated or after row ``newest``. Returns ``(G_t, discount_t, j)``: G_t = sum_k gamma^k
    r_{i+k} over the m rows walked, discount_t = 0.0 if row j terminated else gamma^m, and j the
    last row walked, whose ``next_obs`` is the bootstrap observation."""
    cap = reward.shape[0]
    g = 0.0
    scale = 1.0
    j = i
    for k in range(n):
        j = (i + k) % cap
        g += scale * reward[j]
        scale *= gamma
        if terminated[j]:
            return g, 0.0, j
        if truncated[j] or j == newest:
            break
    return g, scale, j


@pointer_kernel(cache=True)
def replay_gather(
    buf: ReplayBuffer,
    idx: np.ndarray,
    n: int,
    gamma: float,
    obs: np.ndarray,
    action: np.ndarray,
    ret: np.ndarray,
    discount: np.ndarray,
    next_obs: np.ndarray,
) -> None:
    """Gather rows idx int64[B] as n-step transitions into preallocated outputs.

    obs, next_obs float64[B, obs_dim] (next_obs: the bootstrap observation n steps on, or fewer
    at an episode end), action float64[B, action_dim], ret float64[B] (the n-step return G),
    discount float64[B] (gamma^m, or 0 after termination). With n = 1: ret = r,
    discount = gamma * (1 - terminated)."""
    newest = replay_newest(buf)
    for b in range(idx.shape[0]):
        i = idx[b]
        g, d, j = nstep_return(buf.reward, buf.terminated, buf.truncated, i, newest, n, gamma)
        ret[b] = g
        discount[b] = d
        for k in range(obs.shape[1]):
            obs[b, k] = buf.obs[i, k]
            next_obs[b, k] = buf.next_obs[j, k]
        for k in range(action.shape[1]):
            action[b, k] = buf.action[i, k]


# ---------------------------------------------------------------------------------------------
# Sum tree for proportional prioritised replay
# ---------------------------------------------------------------------------------------------


class SumTree(NamedTuple):
    """Binary trees over K leaves (K: the capacity rounded up to a power of two).

    ``sum`` float64[2K] and ``min`` float64[2K]: node 1 is the root, node v has children 2v and
    2v+1, leaf i is node K + i (unused leaves: sum 0, min inf). ``max_priority`` float64[1] is
    the largest leaf value ever written (1.0 at the start)."""

    sum: np.ndarray
    min: np.ndarray
    max_priority: np.ndarray


@njit(cache=True)
def sumtree_init(capacity: int) -> SumTree:
    """An all-zero tree with room for ``capacity`` leaves."""
    if capacity < 1:
        raise ValueError("sumtree_init: capacity must be >= 1")
    k = 1
    while k < capacity:
        k *= 2
    return SumTree(np.zeros(2 * k), np.full(2 * k, np.inf), np.ones(1))


@pointer_kernel(cache=True)
def sumtree_update(tree: SumTree, i: int, priority: float) -> None:
    """Set leaf i to ``priority`` (>= 0) and refresh its ancestors' sums and minima."""
    k = tree.sum.shape[0] // 2
    node = k + i
    tree.sum[node] = priority
    tree.min[node] = priority
    if priority > tree.max_priority[0]:
        tree.max_priority[0] = priority
    node //= 2
    while node >= 1:
        left, right = 2 * node, 2 * node + 1
        tree.sum[node] = tree.sum[left] + tree.sum[right]
        tree.min[node] = min(tree.min[left], tree.min[right])
        node //= 2


@njit(cache=True)
def sumtree_total(tree: SumTree) -> float:
    """Sum of all leaves."""
    return tree.sum[1]


@njit(cache=True)
def sumtree_find(tree: SumTree, u: float) -> int:
    """The leaf i with prefix sum S_{i-1} <= u < S_i (S_i: sum of leaves 0..i), for u in
    [0, total). Never returns a zero-priority leaf: rounding that would step into an empty
    right subtree goes left instead."""
    k = tree.sum.shape[0] // 2
    node = 1
    while node < k:
        left = 2 * node
        if u < tree.sum[left] or tree.sum[left + 1] <= 0.0:
            node = left
        else:
            u -= tree.sum[left]
            node = left + 1
    return node - k


@pointer_kernel(cache=True)
def sumtree_sample(tree: SumTree, rng: np.random.Generator, idx: np.ndarray) -> None:
    """Fill idx int64[B] with leaves drawn with probability proportional to their priority,
    stratified: draw b is uniform in the b-th of B equal slices of [0, total)."""
    batch = idx.shape[0]
    seg = tree.sum[1] / batch
    for b in range(batch):
        idx[b] = sumtree_find(tree, (b + rng.random()) * seg)


@pointer_kernel(cache=True)
def per_weights(tree: SumTree, idx: np.ndarray, size: int, beta: float, w: np.ndarray) -> None:
    """Importance weights w float64[B] = (N P(i))^-beta / max_j (N P(j))^-beta for rows idx.

    N = ``size`` rows filled, P(i) = p_i / total; the maximum weight belongs to the smallest
    priority in the buffer (Schaul et al. 2016, Algorithm 1 line 10)."""
    total = tree.sum[1]
    w_max = (size * tree.min[1] / total) ** (-beta)
    for b in range(idx.shape[0]):
        w[b] = (size * tree.sum[tree.sum.shape[0] // 2 + idx[b]] / total) ** (-beta) / w_max


@njit(cache=True)
def per_priority(error: float, alpha: float, eps: float) -> float:
    """Leaf value (|error| + eps)^alpha for a TD error (or a distributional loss)."""
    return (abs(error) + eps) ** alpha
