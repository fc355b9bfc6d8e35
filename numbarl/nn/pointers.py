"""The network functions as first-class function pointers, for compiled learners to call.

Numba compiles every njit function into its own LLVM module, and compiling a caller links in
the modules of all its callees and optimises and emits their machine code again. A learner's
update and rollout collector that call ``mlp_forward``, ``mlp_backward`` and ``adam_step``
directly recompile all three (and the BLAS products and activation loops inside) at every level
above them. Called through ``numba.types.FunctionType`` pointers (``NetFns``, built in Python by
``net_fns``), each is compiled once per dtype and the callers only hold an indirect call: one
per minibatch or batched step, against microseconds of work.

The functions only ever called through pointers (``mlp_forward_into``, ``mlp_backward_into``,
the learners' per-head losses and updates) are compiled without a CPython wrapper
(``numbarl.nn.kernel.pointer_kernel``: its argument unboxing is code that nothing would run; a
call from Python goes through the pointer).

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

import inspect
from typing import NamedTuple

import numpy as np
from numba import from_dtype, typeof, types
from numba.core.typing.typeof import typeof_impl
from numba.extending import overload

from numbarl.envs.control.core import FunctionPointer
from numbarl.nn.kernel import Pointer
from numbarl.nn.mlp import (
    mlp_backward,
    mlp_backward_into,
    mlp_forward,
    mlp_forward_into,
    mlp_output,
    net_dtype,
)
from numbarl.nn.optim import AdamState, adam_step

_TYPE_CACHE: dict[tuple, tuple] = {}
_TYPE_CACHE_SIZE = 64


def cache_numba_type(cls: type) -> type:
    """Register ``cls`` (a NamedTuple of arrays, scalars and pointers) so that Numba types each
    instance once and reuses the type at later calls from Python (the last 64 instances, keyed
    by identity; fields of a NamedTuple cannot be rebound). Numba types a tuple that holds a
    pointer field by field in Python (no fast fingerprint): ~100-200 us per call for a
    ``VecEnv``, paid at every chunk of training. Returns ``cls``."""

    def typeof_cached(val, c):  # noqa: ANN001, ANN202
        key = (id(val), getattr(c, "purpose", None))
        hit = _TYPE_CACHE.get(key)
        if hit is not None and hit[0] is val:
            return hit[1]
        nb_type = typeof_impl.dispatch(tuple)(val, c)
        if len(_TYPE_CACHE) >= _TYPE_CACHE_SIZE:
            _TYPE_CACHE.pop(next(iter(_TYPE_CACHE)))
        _TYPE_CACHE[key] = (val, nb_type)
        return nb_type

    typeof_impl.register(cls)(typeof_cached)
    return cls


_TYPED: dict[object, tuple] = {}


@cache_numba_type
class StepFns(NamedTuple):
    """What the replay learners and the evaluations call of an env: ``reset``, ``step`` and
    ``observe`` of its ``EnvFns``. A pointer in a compiled function's arguments is compiled when
    they are unboxed: passing the whole ``EnvFns`` compiled the generated ``vec_step`` and
    ``rollout`` for learners that never call them (~0.3 s each of a cold start)."""

    reset: FunctionPointer
    step: FunctionPointer
    observe: FunctionPointer


@cache_numba_type
class VecStepFns(NamedTuple):
    """``StepFns`` and the generated batched ``vec_step``: what the rollout collector calls."""

    reset: FunctionPointer
    step: FunctionPointer
    observe: FunctionPointer
    vec_step: FunctionPointer


def typed_pointers(fns: tuple) -> tuple:
    """``fns`` (a NamedTuple of pointers, e.g. a ControlEnv's ``fns``) with each pointer as a
    ``Pointer``: the same functions and types, typed once instead of at every call from Python.
    Cached per ``fns`` object (kept alive here)."""
    key = id(fns)
    if key not in _TYPED or _TYPED[key][0] is not fns:
        typed = type(fns)(*(Pointer(p.dispatcher, p.signature()) for p in fns))
        _TYPED[key] = (fns, typed)
    return _TYPED[key][1]


def step_fns(fns: tuple) -> StepFns:
    """A ControlEnv's ``fns`` as the replay learners and evaluations take them: ``StepFns`` of
    ``Pointer`` (typed once; cached per ``fns`` object like ``typed_pointers``)."""
    return _subset(StepFns, fns)


def vec_step_fns(fns: tuple) -> VecStepFns:
    """A ControlEnv's ``fns`` as the rollout collector takes them: ``VecStepFns``."""
    return _subset(VecStepFns, fns)


def _subset(cls: type, fns: tuple) -> tuple:
    key = (cls.__name__, id(fns))
    if key not in _TYPED or _TYPED[key][0] is not fns:
        typed = typed_pointers(fns)
        _TYPED[key] = (fns, cls(*(getattr(typed, name) for name in cls._fields)))
    return _TYPED[key][1]


@cache_numba_type
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
            Pointer(mlp_forward_into, types.none(p, lay, types.int64, x, p)),
            Pointer(
                mlp_backward_into,
                types.none(p, lay, types.int64, p, _array(np.float64, 2), p),
            ),
            Pointer(adam_step, types.none(p, p, adam_state, f8, f8, f8, f8, f8)),
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


# adam_step's own defaults (beta1, beta2, eps, weight_decay): a pointer call passes all eight
# arguments, and must pass the same values as a direct call that leaves them out.
_ADAM_DEFAULTS = tuple(
    inspect.signature(adam_step.py_func).parameters[name].default
    for name in ("beta1", "beta2", "eps", "weight_decay")
)


@overload(adam_step_via, inline="always")
def _adam_step_via(net, params, grad, state, lr):  # noqa: ANN001, ANN202
    if _is_none(net):
        return lambda net, params, grad, state, lr: adam_step(params, grad, state, lr)
    beta1, beta2, eps, weight_decay = _ADAM_DEFAULTS
    return lambda net, params, grad, state, lr: net.adam(
        params, grad, state, lr, beta1, beta2, eps, weight_decay
    )


__all__ = [
    "NetFns",
    "Pointer",
    "StepFns",
    "VecStepFns",
    "cache_numba_type",
    "step_fns",
    "vec_step_fns",
    "typed_pointers",
    "adam_step_via",
    "backward_via",
    "forward_via",
    "net_fns",
]
