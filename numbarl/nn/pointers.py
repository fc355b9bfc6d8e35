"""The network functions as first-class function pointers, for compiled learners to call.

Numba compiles every njit function into its own LLVM module, and compiling a caller links in
the modules of all its callees and optimises and emits their machine code again. A learner's
update and rollout collector that call ``mlp_forward``, ``mlp_backward`` and ``adam_step``
directly recompile all three (and the BLAS products and activation loops inside) at every level
above them. Called through ``numba.types.FunctionType`` pointers (``NetFns``, built in Python by
``net_fns``), each is compiled once per dtype and the callers only hold an indirect call: one
per minibatch or batched step, against microseconds of work.

The functions only ever called through pointers (``mlp_forward_into``, ``mlp_backward_into``,
``qnet_forward_into``, the learners' per-head losses) are compiled without a CPython wrapper
(``no_cpython_wrapper=True``: its argument unboxing is code that nothing would run).

A pointer-called function cannot raise (an exception is printed and the caller goes on): the
callers pass shapes that are right by construction (workspaces from ``mlp_workspace`` for the
batch, gradients laid out like the parameters).

Signatures (``dt`` the network dtype, arrays C-contiguous):

- ``forward(params dt[P], layout int64[L, 4], act, x dt[B, n_in], cache dt[W])``: one forward
  (``mlp_forward_into``); read the output with ``mlp_output(layout, B, cache)``;
- ``backward(params, layout, act, cache, grad_out float64[B, n_out], grad_params dt[P])``:
  ``mlp_backward_into`` (accumulates into ``grad_params``);
- ``adam(params dt[P], grad dt[P], state AdamState, lr, beta1, beta2, eps, weight_decay)``:
  ``adam_step`` (all eight arguments given).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import from_dtype, typeof, types
from numba.extending import overload

from numbarl.envs.control.core import FunctionPointer
from numbarl.nn.mlp import (
    mlp_backward,
    mlp_backward_into,
    mlp_forward,
    mlp_forward_into,
    mlp_output,
    net_dtype,
)
from numbarl.nn.optim import AdamState, adam_step
from numbarl.nn.qnet import QNet, qnet_backward, qnet_forward, qnet_forward_into, qnet_output
from numbarl.nn.qnet import qnet_work as _qnet_work


class NetFns(NamedTuple):
    """``forward``, ``backward`` and ``adam`` as pointers for one network dtype (module
    docstring)."""

    forward: FunctionPointer
    backward: FunctionPointer
    adam: FunctionPointer


def _array(dtype: np.dtype, ndim: int) -> types.Array:
    return types.Array(from_dtype(np.dtype(dtype)), ndim, "C")


_NET_FNS: dict[str, NetFns] = {}


def net_fns(dtype: np.dtype | str) -> NetFns:
    """The ``NetFns`` of networks in ``dtype`` (float32 or float64); built once per process and
    dtype (each function is compiled, or loaded from Numba's cache, on first use)."""
    dt = net_dtype(dtype)
    if dt.name not in _NET_FNS:
        p, lay, x = _array(dt, 1), _array(np.int64, 2), _array(dt, 2)
        f8 = types.float64
        adam_state = typeof(AdamState(np.zeros(1, dt), np.zeros(1, dt), np.zeros(1, np.int64)))
        _NET_FNS[dt.name] = NetFns(
            FunctionPointer(mlp_forward_into, types.none(p, lay, types.int64, x, p)),
            FunctionPointer(
                mlp_backward_into,
                types.none(p, lay, types.int64, p, _array(np.float64, 2), p),
            ),
            FunctionPointer(adam_step, types.none(p, p, adam_state, f8, f8, f8, f8, f8)),
        )
    return _NET_FNS[dt.name]


def forward_via(net, params, layout, act, x, cache):  # noqa: ANN001, ANN201
    """``mlp_forward(params, layout, act, x, cache)``, through ``net``'s pointer unless ``net``
    is None (compiled code only; chosen when the caller compiles, so a kernel that takes an
    optional ``net=None`` compiles only the path it is given)."""
    raise NotImplementedError("forward_via is called from compiled code only")


def backward_via(net, params, layout, act, cache, grad_out, grad_params):  # noqa: ANN001, ANN201
    """``mlp_backward(params, layout, act, cache, grad_out, grad_params)``, through ``net``'s
    pointer unless ``net`` is None (compiled code only)."""
    raise NotImplementedError("backward_via is called from compiled code only")


def _is_none(net) -> bool:  # noqa: ANN001
    return isinstance(net, (types.NoneType, types.Omitted)) or net is None


@overload(forward_via, inline="always")
def _forward_via(net, params, layout, act, x, cache):  # noqa: ANN001, ANN202
    if _is_none(net):
        return lambda net, params, layout, act, x, cache: mlp_forward(params, layout, act, x, cache)

    def impl(net, params, layout, act, x, cache):  # noqa: ANN001, ANN202
        net.forward(params, layout, act, x, cache)
        return mlp_output(layout, x.shape[0], cache)

    return impl


@overload(backward_via, inline="always")
def _backward_via(net, params, layout, act, cache, grad_out, grad_params):  # noqa: ANN001, ANN202
    if _is_none(net):
        return lambda net, params, layout, act, cache, grad_out, grad_params: mlp_backward(
            params, layout, act, cache, grad_out, grad_params
        )
    return lambda net, params, layout, act, cache, grad_out, grad_params: net.backward(
        params, layout, act, cache, grad_out, grad_params
    )


def adam_step_via(net, params, grad, state, lr):  # noqa: ANN001, ANN201
    """``adam_step(params, grad, state, lr)`` (default betas and eps), through ``net``'s pointer
    unless ``net`` is None (compiled code only)."""
    raise NotImplementedError("adam_step_via is called from compiled code only")


@overload(adam_step_via, inline="always")
def _adam_step_via(net, params, grad, state, lr):  # noqa: ANN001, ANN202
    if _is_none(net):
        return lambda net, params, grad, state, lr: adam_step(params, grad, state, lr)
    return lambda net, params, grad, state, lr: net.adam(
        params, grad, state, lr, 0.9, 0.999, 1e-8, 0.0
    )


class QNetFns(NamedTuple):
    """DQN's Q network functions as pointers for one ``QNet`` and dtype: ``forward(params,
    net, x [B, obs_dim], noise, work)`` (``qnet_forward_into``; read the output with
    ``qnet_output``) and ``backward(params, net, noise, work, g_out [B, A*K], grad)``
    (``qnet_backward``), arrays in the net's dtype."""

    forward: FunctionPointer
    backward: FunctionPointer


_QNET_FNS: dict[tuple, QNetFns] = {}


def qnet_fns(net: QNet, dtype: np.dtype | str) -> QNetFns:
    """The ``QNetFns`` of ``net`` in ``dtype``; built once per process, net type and dtype."""
    dt = net_dtype(dtype)
    net_t = typeof(net)
    key = (net_t, dt.name)
    if key not in _QNET_FNS:
        p, x = _array(dt, 1), _array(dt, 2)
        work_t = typeof(_qnet_work(net, 1, dt))
        _QNET_FNS[key] = QNetFns(
            FunctionPointer(qnet_forward_into, types.none(p, net_t, x, p, work_t)),
            FunctionPointer(qnet_backward, types.none(p, net_t, p, work_t, x, p)),
        )
    return _QNET_FNS[key]


def qforward_via(fns, params, net, x, noise, work):  # noqa: ANN001, ANN201
    """``qnet_forward(params, net, x, noise, work)``, through ``fns``' pointer (``QNetFns``)
    unless ``fns`` is None (compiled code only)."""
    raise NotImplementedError("qforward_via is called from compiled code only")


@overload(qforward_via, inline="always")
def _qforward_via(fns, params, net, x, noise, work):  # noqa: ANN001, ANN202
    if _is_none(fns):
        return lambda fns, params, net, x, noise, work: qnet_forward(params, net, x, noise, work)

    def impl(fns, params, net, x, noise, work):  # noqa: ANN001, ANN202
        fns.forward(params, net, x, noise, work)
        return qnet_output(net, work, x.shape[0])

    return impl


__all__ = [
    "NetFns",
    "QNetFns",
    "adam_step_via",
    "backward_via",
    "forward_via",
    "net_fns",
    "qforward_via",
    "qnet_fns",
]
