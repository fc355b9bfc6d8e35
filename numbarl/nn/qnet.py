"""The Q network of DQN and its Rainbow switches, as data: a ReLU (or tanh) torso (a
``numbarl.nn`` MLP) followed by a plain or noisy (``numbarl.nn.noisy``) linear head, optionally
a second value head combined with the advantage head as in dueling networks (Wang et al. 2016,
eq. 9: Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a')), and for C51 K logits per action
(``numbarl.nn.distributional``).

Parameters are one flat array: ``params = [torso MLP | advantage (or only) head | value
head]``. A plain head h -> m is W [h*m] (C-ordered [h, m]) then b [m]; a noisy head is mu_W,
mu_b, sigma_W, sigma_b in that order (so its first h*m + m numbers are laid out as a plain head).

Precision: the parameters' dtype (float32, DQN's default, or float64) is the network's; the
workspace (``qnet_work(net, batch, params.dtype)``), the noise arrays and the gradients are in
it too, and every matrix product runs in it. Inputs x may be float32 or float64 (copied into the
workspace); ``support`` and ``q_values``' output stay float64.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, typeof, types
from numpy.typing import DTypeLike

from numbarl.envs.control.core import FunctionPointer
from numbarl.nn.kernel import PointerDispatcher, pointer_kernel, pointer_variant
from numbarl.nn.mlp import (
    ACTIVATIONS,
    RELU,
    mlp_backward,
    mlp_backward_relu,
    mlp_forward,
    mlp_forward_relu,
    mlp_init,
    mlp_layout,
    net_dtype,
)
from numbarl.nn.mlp import mlp_workspace as _mlp_workspace
from numbarl.nn.noisy import (
    linear_backward,
    noisy_linear_backward,
    noisy_linear_forward,
    scaled_noise,
)
from numbarl.nn.pointers import Pointer, cache_numba_type


@pointer_kernel(cache=True)
def dueling_aggregate(v: np.ndarray, adv: np.ndarray, n_atoms: int, out: np.ndarray) -> None:
    """Q = V + A - mean_a A (Wang et al. 2016, eq. 9), per atom.

    v [B, K]; adv, out [B, A*K] (action a's K outputs at columns a*K .. a*K+K-1; K = 1 for
    scalar Q), all in the net's dtype; the mean over actions is taken in float64."""
    k_atoms = n_atoms
    n_act = adv.shape[1] // k_atoms
    real = out.dtype.type
    for b in range(adv.shape[0]):
        for i in range(k_atoms):
            mean = 0.0
            for a in range(n_act):
                mean += adv[b, a * k_atoms + i]
            mean = real(mean / n_act)
            for a in range(n_act):
                out[b, a * k_atoms + i] = v[b, i] + adv[b, a * k_atoms + i] - mean


@pointer_kernel(cache=True)
def dueling_backward(g_out: np.ndarray, n_atoms: int, g_v: np.ndarray, g_adv: np.ndarray) -> None:
    """Gradients of ``dueling_aggregate``: g_v[b, i] = sum_a g_out[b, a*K+i] and
    g_adv[b, a*K+i] = g_out[b, a*K+i] - (1/A) sum_a' g_out[b, a'*K+i] (overwritten)."""
    k_atoms = n_atoms
    n_act = g_out.shape[1] // k_atoms
    for b in range(g_out.shape[0]):
        for i in range(k_atoms):
            total = 0.0
            for a in range(n_act):
                total += g_out[b, a * k_atoms + i]
            g_v[b, i] = total
            mean = g_adv.dtype.type(total / n_act)
            for a in range(n_act):
                g_adv[b, a * k_atoms + i] = g_out[b, a * k_atoms + i] - mean


@cache_numba_type  # typed once per net, not at every call from Python
class QNet(NamedTuple):
    """Shape of a Q network; its parameters are a separate float32 or float64 [n_params].

    ``torso`` int64[L, 4] is an ``mlp_layout((obs_dim, hidden, ..., hidden))`` whose output
    layer is also passed through the activation (so every torso layer is a hidden layer);
    ``n_atoms`` K = 1 for scalar Q; ``support`` float64[K] the C51 atoms (``[0.0]`` if K = 1).
    The output is [B, n_actions * K] in the parameters' dtype: Q values (K = 1) or per-action
    logits over atoms. Noise arrays for noisy heads are [n_noise] (the parameters' dtype) =
    (f_in adv [H], f_out adv [A*K], f_in value [H], f_out value [K])."""

    torso: np.ndarray
    act: int
    obs_dim: int
    hidden: int
    n_actions: int
    n_atoms: int
    dueling: bool
    noisy: bool
    n_torso: int
    adv_off: int
    val_off: int
    n_params: int
    n_noise: int
    support: np.ndarray


@cache_numba_type
class QWork(NamedTuple):
    """Scratch for forward/backward of a QNet on batches of up to B rows (``qnet_work``).

    ``torso`` is the MLP workspace; ``buf`` (both in the net's dtype) holds the other buffers back
    to back, buffer
    k starting at ``off[k]`` (k = _H, _ADV, ...), each viewed as [b, width] for b rows. Few
    arrays on purpose: Numba passes every array of a NamedTuple as separate arguments, and
    compile time grows with their number."""

    torso: np.ndarray
    buf: np.ndarray
    off: np.ndarray


# Buffers in QWork.buf: torso output h [B, H], advantage (or only) head [B, A*K], value head
# [B, K], dueling output [B, A*K], noisy/backward scratch ([B, H], [B, A*K], [B, H], [H, A*K]),
# gradients w.r.t. h [B, H], the advantage head [B, A*K] and the value head [B, K].
_H, _ADV, _VAL, _OUT, _S_IN, _S_OUT, _S_X, _S_W, _G_H, _G_ADV, _G_VAL = range(11)


def _head_size(n_in: int, n_out: int, noisy: bool) -> int:
    return (2 if noisy else 1) * (n_in * n_out + n_out)


def make_qnet(
    obs_dim: int,
    n_actions: int,
    hidden: int = 64,
    depth: int = 2,
    activation: str = "relu",
    dueling: bool = False,
    noisy: bool = False,
    n_atoms: int = 1,
    v_min: float = 0.0,
    v_max: float = 1.0,
) -> QNet:
    """The shape of a Q network obs_dim -> hidden x depth -> heads -> n_actions * n_atoms."""
    torso = mlp_layout([obs_dim] + [hidden] * depth)
    n_torso = int(torso[-1, 3] + torso[-1, 1])
    m = n_actions * n_atoms
    adv_off = n_torso
    val_off = adv_off + _head_size(hidden, m, noisy)
    n_params = val_off + (_head_size(hidden, n_atoms, noisy) if dueling else 0)
    support = np.linspace(v_min, v_max, n_atoms) if n_atoms > 1 else np.zeros(1)
    return QNet(
        torso,
        ACTIVATIONS[activation],
        int(obs_dim),
        int(hidden),
        int(n_actions),
        int(n_atoms),
        bool(dueling),
        bool(noisy),
        n_torso,
        int(adv_off),
        int(val_off),
        int(n_params),
        2 * hidden + m + n_atoms,
        support,
    )


def qnet_init(
    net: QNet, rng: np.random.Generator, sigma0: float = 0.5, dtype: DTypeLike = np.float64
) -> np.ndarray:
    """Parameters [n_params] in ``dtype`` (float32 or float64): PyTorch's nn.Linear default for
    the torso and plain heads (U(-1/sqrt(n_in), 1/sqrt(n_in))), Fortunato et al.'s factorised
    init for noisy heads (mu as before, sigma = sigma0 / sqrt(n_in)). Drawn in float64, then
    cast: the generator advances the same way in either dtype."""
    dtype = net_dtype(dtype)
    params = np.zeros(net.n_params)
    params[: net.n_torso] = mlp_init(net.torso, rng, init="uniform")
    heads = [(net.adv_off, net.n_actions * net.n_atoms)]
    if net.dueling:
        heads.append((net.val_off, net.n_atoms))
    h = net.hidden
    bound = 1.0 / math.sqrt(h)
    for off, m in heads:
        params[off : off + h * m] = rng.uniform(-bound, bound, size=(m, h)).T.ravel()
        params[off + h * m : off + h * m + m] = rng.uniform(-bound, bound, size=m)
        if net.noisy:
            params[off + h * m + m : off + 2 * (h * m + m)] = sigma0 / math.sqrt(h)
    return params.astype(dtype, copy=False)


@njit(cache=True)
def qnet_work(net: QNet, batch: int, dtype=np.float64) -> QWork:  # noqa: ANN001
    """Scratch for batches of up to ``batch`` rows; ``dtype`` the parameters' (``params.dtype``
    or a NumPy float type, never a string)."""
    h = net.hidden
    k = net.n_atoms
    m = net.n_actions * k
    sizes = np.array([h, m, k, m, h, m, h, 0, h, m, k], dtype=np.int64) * batch
    sizes[_S_W] = h * m
    off = np.zeros(12, dtype=np.int64)
    for i in range(11):
        off[i + 1] = off[i] + sizes[i]
    return QWork(_mlp_workspace(net.torso, batch, dtype), np.zeros(off[11], dtype), off)


@njit(cache=True, inline="always")  # called with 11 literal ``k``: one compile each if not inlined
def _view(work: QWork, k: int, rows: int, width: int) -> np.ndarray:
    """Buffer k of ``work`` as a C-contiguous [rows, width] (the net's dtype)."""
    start = work.off[k]
    return work.buf[start : start + rows * width].reshape((rows, width))


@njit(cache=True, inline="always")
def _linear_views(flat, off, n_in, n_out):
    """The weight [n_in, n_out] and bias [n_out] views of a linear layer stored from ``off`` in
    ``flat`` (its parameters or their gradient). A noisy head stores mu_w, mu_b and then its
    sigma_w, sigma_b the same way (from ``off + n_in * n_out + n_out``)."""
    hm = n_in * n_out
    return flat[off : off + hm].reshape((n_in, n_out)), flat[off + hm : off + hm + n_out]


@njit(cache=True, inline="always")
def _plain_head_forward(params, off, n_in, n_out, x, out):
    """out = x w + b for the plain head (or a noisy head's mean weights) stored from ``off``."""
    w, bias = _linear_views(params, off, n_in, n_out)
    np.dot(x, w, out)
    for r in range(x.shape[0]):
        for j in range(n_out):
            out[r, j] += bias[j]


@njit(cache=True, inline="always")
def _noisy_head_forward(params, off, n_in, n_out, x, f_in, f_out, out, work):
    """out = x (mu_w + sigma_w * f_in f_out^T) + mu_b + sigma_b * f_out for the noisy head
    stored from ``off``."""
    b = x.shape[0]
    w, bias = _linear_views(params, off, n_in, n_out)
    sigma_w, sigma_b = _linear_views(params, off + n_in * n_out + n_out, n_in, n_out)
    noisy_linear_forward(
        w,
        sigma_w,
        bias,
        sigma_b,
        f_in,
        f_out,
        x,
        out,
        _view(work, _S_IN, b, n_in),
        _view(work, _S_OUT, b, n_out),
    )


@njit(cache=True)
def _head_forward(params, off, n_in, n_out, noisy, x, f_in, f_out, out, work):
    if noisy:
        _noisy_head_forward(params, off, n_in, n_out, x, f_in, f_out, out, work)
    else:
        _plain_head_forward(params, off, n_in, n_out, x, out)


@pointer_kernel(cache=True)
def _noisy_heads_forward(params, off, n_in, n_out, noisy, x, f_in, f_out, out, work):
    """``_head_forward`` of a net whose heads are noisy (``noisy`` is True): no plain code
    (the forward pass of ``QNetFns`` for noisy nets, ``qnet_forward_noisy``)."""
    _noisy_head_forward(params, off, n_in, n_out, x, f_in, f_out, out, work)


@njit(cache=True, inline="always")
def _plain_head_backward(params, off, n_in, n_out, x, g, grad, g_x, work):
    """Backward of ``_plain_head_forward`` (accumulates into grad and g_x)."""
    b = x.shape[0]
    w, _ = _linear_views(params, off, n_in, n_out)
    g_w, g_b = _linear_views(grad, off, n_in, n_out)
    linear_backward(
        w, x, g, g_w, g_b, g_x, _view(work, _S_W, n_in, n_out), _view(work, _S_X, b, n_in)
    )


@njit(cache=True, inline="always")
def _noisy_head_backward(params, off, n_in, n_out, x, f_in, f_out, g, grad, g_x, work):
    """Backward of ``_noisy_head_forward`` (accumulates into grad and g_x)."""
    b = x.shape[0]
    w, _ = _linear_views(params, off, n_in, n_out)
    g_w, g_b = _linear_views(grad, off, n_in, n_out)
    s_w = _view(work, _S_W, n_in, n_out)
    s_x = _view(work, _S_X, b, n_in)
    sigma_w, _ = _linear_views(params, off + n_in * n_out + n_out, n_in, n_out)
    g_sigma_w, g_sigma_b = _linear_views(grad, off + n_in * n_out + n_out, n_in, n_out)
    noisy_linear_backward(
        w,
        sigma_w,
        f_in,
        f_out,
        x,
        g,
        g_w,
        g_sigma_w,
        g_b,
        g_sigma_b,
        g_x,
        _view(work, _S_IN, b, n_in),
        _view(work, _S_OUT, b, n_out),
        s_w,
        s_x,
    )


@njit(cache=True)
def _head_backward(params, off, n_in, n_out, noisy, x, f_in, f_out, g, grad, g_x, work):
    if noisy:
        _noisy_head_backward(params, off, n_in, n_out, x, f_in, f_out, g, grad, g_x, work)
    else:
        _plain_head_backward(params, off, n_in, n_out, x, g, grad, g_x, work)


@pointer_kernel(cache=True)
def _noisy_heads_backward(params, off, n_in, n_out, noisy, x, f_in, f_out, g, grad, g_x, work):
    """``_head_backward`` of a net whose heads are noisy: no plain code
    (``qnet_backward_noisy``)."""
    _noisy_head_backward(params, off, n_in, n_out, x, f_in, f_out, g, grad, g_x, work)


@njit(cache=True)
def qnet_forward(
    params: np.ndarray, net: QNet, x: np.ndarray, noise: np.ndarray | None, work: QWork
) -> np.ndarray:
    """Outputs [B, n_actions * n_atoms] (the parameters' dtype) for x [B, obs_dim] (float32 or
    float64; B <= the work's batch): Q values, or C51 logits (action a's atoms at columns
    a*K .. a*K + K - 1).

    ``noise`` [n_noise] (used by noisy heads; zeros = mean network) or None: the plain heads
    (a noisy net's mean weights, the same numbers as zero noise), compiled without any noisy
    code, as DQN runs nets without noisy heads. The result is a view
    into ``work``; ``work`` keeps what ``qnet_backward`` needs."""
    _forward(params, net, x, noise, work)
    return qnet_output(net, x.shape[0], work)


@pointer_kernel(cache=True)
def qnet_forward_into(
    params: np.ndarray, net: QNet, x: np.ndarray, noise: np.ndarray | None, work: QWork
) -> None:
    """``qnet_forward`` as a pointer target (``QNetFns.forward``): read the outputs with
    ``qnet_output(net, x.shape[0], work)``."""
    _forward(params, net, x, noise, work)


@njit(cache=True, inline="always")
def qnet_output(net: QNet, rows: int, work: QWork) -> np.ndarray:
    """The outputs [rows, n_actions * n_atoms] of the last forward on ``work`` (a view)."""
    return _view(work, _OUT if net.dueling else _ADV, rows, net.n_actions * net.n_atoms)


@njit(cache=True, inline="always")
def _forward(
    params: np.ndarray, net: QNet, x: np.ndarray, noise: np.ndarray | None, work: QWork
) -> None:
    """The forward pass into ``work`` (read with ``qnet_output``); the body of ``qnet_forward``,
    ``qnet_forward_into`` and its variants per kind of net (``_VARIANTS``)."""
    b = x.shape[0]
    h_dim = net.hidden
    k_atoms = net.n_atoms
    m = net.n_actions * k_atoms
    t = mlp_forward(params[: net.n_torso], net.torso, net.act, x, work.torso)
    h = _view(work, _H, b, h_dim)
    zero = h.dtype.type(0.0)
    for r in range(b):  # the MLP's last layer is linear: apply the torso's activation here
        for i in range(h_dim):
            v = t[r, i]
            if net.act == RELU:
                h[r, i] = zero if v <= zero else v  # NaN stays NaN
            else:
                h[r, i] = math.tanh(v)
    adv = _view(work, _ADV, b, m)
    if noise is None:  # the plain heads (a noisy net's mean weights): no noisy code compiled
        _plain_head_forward(params, net.adv_off, h_dim, m, h, adv)
    else:
        _head_forward(
            params, net.adv_off, h_dim, m, net.noisy, h, noise[:h_dim], noise[h_dim : h_dim + m],
            adv, work,
        )  # fmt: skip
    if not net.dueling:
        return
    val = _view(work, _VAL, b, k_atoms)
    if noise is None:
        _plain_head_forward(params, net.val_off, h_dim, k_atoms, h, val)
    else:
        _head_forward(
            params, net.val_off, h_dim, k_atoms, net.noisy, h, noise[h_dim + m : 2 * h_dim + m],
            noise[2 * h_dim + m : 2 * h_dim + m + k_atoms], val, work,
        )  # fmt: skip
    dueling_aggregate(val, adv, k_atoms, _view(work, _OUT, b, m))


@njit(cache=True)
def qnet_backward(
    params: np.ndarray,
    net: QNet,
    noise: np.ndarray | None,
    work: QWork,
    g_out: np.ndarray,
    grad: np.ndarray,
) -> None:
    """Backpropagate g_out = dL/d(output) [B, n_actions * n_atoms] through the last
    ``qnet_forward`` on ``work`` (with the same ``noise``, an array or None); accumulates
    dL/dparams into grad [n_params]. g_out, grad and noise in the parameters' dtype."""
    _backward(params, net, noise, work, g_out, grad)


@pointer_kernel(cache=True)
def qnet_backward_into(
    params: np.ndarray,
    net: QNet,
    noise: np.ndarray | None,
    work: QWork,
    g_out: np.ndarray,
    grad: np.ndarray,
) -> None:
    """``qnet_backward`` as a pointer target (``QNetFns.backward``)."""
    _backward(params, net, noise, work, g_out, grad)


@njit(cache=True, inline="always")
def _backward(
    params: np.ndarray,
    net: QNet,
    noise: np.ndarray | None,
    work: QWork,
    g_out: np.ndarray,
    grad: np.ndarray,
) -> None:
    b = g_out.shape[0]
    h_dim = net.hidden
    k_atoms = net.n_atoms
    m = net.n_actions * k_atoms
    h = _view(work, _H, b, h_dim)
    g_h = _view(work, _G_H, b, h_dim)
    g_h[:] = 0.0
    g_adv = g_out
    if net.dueling:
        g_adv = _view(work, _G_ADV, b, m)
        g_val = _view(work, _G_VAL, b, k_atoms)
        dueling_backward(g_out, k_atoms, g_val, g_adv)
        if noise is None:
            _plain_head_backward(params, net.val_off, h_dim, k_atoms, h, g_val, grad, g_h, work)
        else:
            _head_backward(
                params, net.val_off, h_dim, k_atoms, net.noisy, h,
                noise[h_dim + m : 2 * h_dim + m], noise[2 * h_dim + m : 2 * h_dim + m + k_atoms],
                g_val, grad, g_h, work,
            )  # fmt: skip
    if noise is None:
        _plain_head_backward(params, net.adv_off, h_dim, m, h, g_adv, grad, g_h, work)
    else:
        _head_backward(
            params, net.adv_off, h_dim, m, net.noisy, h, noise[:h_dim], noise[h_dim : h_dim + m],
            g_adv, grad, g_h, work,
        )  # fmt: skip
    zero, one = g_h.dtype.type(0.0), g_h.dtype.type(1.0)
    for r in range(b):  # through the torso's output activation
        for i in range(h_dim):
            if net.act == RELU:
                if h[r, i] <= zero:
                    g_h[r, i] = zero
            else:
                g_h[r, i] *= one - h[r, i] * h[r, i]
    mlp_backward(params[: net.n_torso], net.torso, net.act, work.torso, g_h, grad[: net.n_torso])


@pointer_kernel(cache=True)
def sample_noise(net: QNet, rng: np.random.Generator, noise: np.ndarray | None) -> None:
    """Fresh factorised noise f(e) for every noisy head (noise [n_noise], the net's dtype);
    nothing for ``noise=None`` (a net without noisy heads)."""
    if noise is None:
        return
    scaled_noise(rng, noise)


@njit(cache=True)  # called per step from Python on the Gymnasium path: direct dispatch
def q_values(net: QNet, out: np.ndarray, row: int, q: np.ndarray) -> None:
    """q float64[A] = Q(s_row, .) from a forward's output (either dtype): the output itself
    (K = 1) or the C51 expectation sum_i z_i p_i(s, a), summed in float64."""
    k_atoms = net.n_atoms
    if k_atoms == 1:
        for a in range(net.n_actions):
            q[a] = out[row, a]
        return
    for a in range(net.n_actions):
        logits = out[row, a * k_atoms : (a + 1) * k_atoms]
        mx = logits.max()
        total = 0.0
        acc = 0.0
        for i in range(k_atoms):
            e = math.exp(logits[i] - mx)
            total += e
            acc += e * net.support[i]
        q[a] = acc / total


@cache_numba_type
class QNetFns(NamedTuple):
    """``forward`` (``qnet_forward_into``) and ``backward`` (``qnet_backward_into``) of one Q net
    variant as first-class function pointers (``qnet_fns``): a caller reached through them is
    compiled without the network's code, which is compiled once, on its own (and in parallel
    with the caller on a cold cache: ``numbarl.precompile``)."""

    forward: FunctionPointer
    backward: FunctionPointer


def qnet_fns(params: np.ndarray, net: QNet, noise: np.ndarray | None, work: QWork) -> QNetFns:
    """The ``QNetFns`` for these arguments' types (the parameters' dtype, noise array or None,
    a workspace; batch inputs x [B, obs_dim] in the parameters' dtype), compiled for the net's
    kind: a noisy net given a noise array gets passes without the plain head's code, a ReLU
    torso passes without the tanh code (``_VARIANTS``); other nets ``qnet_forward_into`` and
    ``qnet_backward_into``."""
    p, nt, wt = typeof(params), typeof(net), typeof(work)
    x = types.Array(p.dtype, 2, "C")
    nz = typeof(noise)
    forward, backward = _VARIANTS[noise is not None and bool(net.noisy), int(net.act) == RELU]
    return QNetFns(
        Pointer(forward, types.none(p, nt, x, nz, wt)),
        Pointer(backward, types.none(p, nt, nz, wt, x, p)),
    )


# The passes per kind of net: ``_forward``'s and ``_backward``'s code compiled with what the kind
# never runs left out (``pointer_variant``), handed out by ``qnet_fns`` only. A noisy net given
# noise (Rainbow's training and acting) runs noisy heads, so ``_head_forward``/``_head_backward``
# need not hold the plain head (``_plain_head_forward``, ``linear_backward``) behind the runtime
# ``net.noisy``; a ReLU torso runs ``mlp_forward_relu``/``mlp_backward_relu``, without the
# vectorised tanh loops. The Q network's passes are the largest units of a DQN or Rainbow cold
# start (Rainbow's both run on one worker, which ends last).
def _passes(noisy: bool, relu: bool) -> tuple[PointerDispatcher, PointerDispatcher]:
    if not (noisy or relu):
        return qnet_forward_into, qnet_backward_into
    suffix = ("_noisy" if noisy else "") + ("_relu" if relu else "")
    kind = " and ".join(k for k, on in (("noisy heads", noisy), ("a ReLU torso", relu)) if on)
    forward, backward = {}, {}
    if noisy:
        forward["_head_forward"], backward["_head_backward"] = (
            _noisy_heads_forward, _noisy_heads_backward
        )  # fmt: skip
    if relu:
        forward["mlp_forward"], backward["mlp_backward"] = mlp_forward_relu, mlp_backward_relu
    return tuple(
        pointer_variant(
            body.py_func,
            f"qnet_{name}{suffix}",
            f"``qnet_{name}_into`` of a net with {kind} (``qnet_fns``).",
            **constants,
        )
        for name, body, constants in (
            ("forward", _forward, forward),
            ("backward", _backward, backward),
        )
    )


_VARIANTS = {
    (noisy, relu): _passes(noisy, relu) for noisy in (False, True) for relu in (False, True)
}
qnet_forward_noisy, qnet_backward_noisy = _VARIANTS[True, False]
qnet_forward_relu, qnet_backward_relu = _VARIANTS[False, True]
qnet_forward_noisy_relu, qnet_backward_noisy_relu = _VARIANTS[True, True]
