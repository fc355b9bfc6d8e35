"""A control env is three njit functions plus data: the one door every env goes through.

The contract (gymnax-style; the time limit and auto-reset live outside the dynamics)::

    @njit(cache=True)
    def reset(params, state, rng) -> None           # fill state float64[state_dim] in place
    @njit(cache=True)
    def step(params, state, action, rng) -> (reward, terminated)   # float, bool; state in place
    @njit(cache=True)
    def observe(params, state, obs) -> None         # write obs float64[obs_dim]

``params`` is the env's named float64 vector of constants, ``state`` its float64 state,
``action`` float64[action_dim] (a discrete env finds its action index in ``action[0]``, as a
float), ``rng`` a ``np.random.Generator`` (NumPy's draws, bit for bit). Every array is
C-contiguous 1-D float64. The exact Numba signatures are ``RESET_SIG``, ``STEP_SIG`` and
``OBSERVE_SIG`` below.

``from_functions(...)`` checks the functions (njit, argument counts, return types, the lengths
they write, finite first observations) by running each once on a sample, compiles them for
those signatures and returns a ``ControlEnv``: plain data plus ``fns``, the three functions as
first-class function pointers (``numba.types.FunctionType``). Compiled learners take ``fns``
as an argument: their type is the signature, not the function, so a learner compiled once per
machine serves every env and every later process loads it from Numba's disk cache (a learner
given the plain dispatchers would recompile in every process). An indirect call costs a few
nanoseconds; the dynamics cannot be inlined into the learner.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any, NamedTuple

import numpy as np
from numba import types
from numba.core.errors import NumbaExperimentalFeatureWarning
from numba.core.registry import CPUDispatcher
from numba.experimental.function_type import _get_wrapper_address

# First-class function types are marked experimental in Numba; numbarl relies on them on
# purpose (see the module docstring), so the warning says nothing to a user.
warnings.filterwarnings("ignore", category=NumbaExperimentalFeatureWarning)

_ARRAY = types.float64[::1]
_RNG = types.NumPyRandomGeneratorType("NumPyRandomGeneratorType")
RESET_SIG = types.none(_ARRAY, _ARRAY, _RNG)
"""``reset(params, state, rng) -> None``."""
STEP_SIG = types.Tuple((types.float64, types.boolean))(_ARRAY, _ARRAY, _ARRAY, _RNG)
"""``step(params, state, action, rng) -> (reward float64, terminated bool)``."""
OBSERVE_SIG = types.none(_ARRAY, _ARRAY, _ARRAY)
"""``observe(params, state, obs) -> None``."""

_MATRIX = types.float64[:, ::1]
_FLAGS = types.boolean[::1]
VEC_STEP_SIG = types.none(
    _ARRAY, _MATRIX, _MATRIX, _ARRAY, _FLAGS, _FLAGS, types.int64[::1], types.int64, _RNG,
    types.boolean, _MATRIX, _MATRIX,
)  # fmt: skip
"""The generated ``vec_step(params, states, actions, rewards, terminated, truncated, t,
max_steps, rng, auto_reset, obs, final_obs)`` (see ``dispatch.vec_step``)."""
_ROLLOUT_ARGS = (_ARRAY, _ARRAY, types.int64, types.int64, types.int64, _ARRAY, _ARRAY, _RNG)
ROLLOUT_SIG = types.Tuple((types.int64, types.int64, types.float64))(*_ROLLOUT_ARGS)
"""The generated ``random_rollout(params, state, n_steps, max_steps, n_actions, action_low,
action_high, rng) -> (episodes, truncations, total_reward)``."""

_EXPECTED = {
    "reset": ("(params, state, rng)", "None", RESET_SIG),
    "step": ("(params, state, action, rng)", "(reward: float, terminated: bool)", STEP_SIG),
    "observe": ("(params, state, obs)", "None", OBSERVE_SIG),
}
_PAD = 8  # sentinel entries past each buffer the sample run hands out
# "Not written": a NaN with a payload no arithmetic produces (a computed NaN has none).
_UNSET = np.array([0x7FF8_DEAD_BEEF_0001], dtype=np.uint64).view(np.float64)[0]


class FunctionPointer(types.WrapperAddressProtocol):
    """An njit function compiled for one signature, passed to compiled code as a pointer.

    Numba types it as ``FunctionType(signature)``, so the compiled callee's cache key holds
    the signature only."""

    def __init__(self, dispatcher: CPUDispatcher, signature: types.Signature) -> None:
        if getattr(dispatcher, "targetoptions", {}).get("no_cfunc_wrapper"):
            raise ValueError(
                f"{_qualname(dispatcher)} is compiled without a C wrapper "
                "(no_cfunc_wrapper): it cannot be called through a pointer"
            )
        self.dispatcher = dispatcher
        self._signature = signature
        self._address: int | None = None

    def __wrapper_address__(self) -> int:
        if self._address is None:
            self._address = _get_wrapper_address(self.dispatcher, self._signature)
        return self._address

    def signature(self) -> types.Signature:
        return self._signature

    def __repr__(self) -> str:
        return f"FunctionPointer({_qualname(self.dispatcher)}: {self._signature})"


class EnvFns(NamedTuple):
    """What compiled learners receive: the env's three functions and the two batched loops
    generated for it (``specialize``: the functions inlined), all as pointers."""

    reset: FunctionPointer
    step: FunctionPointer
    observe: FunctionPointer
    vec_step: FunctionPointer
    rollout: FunctionPointer


class ControlEnv(NamedTuple):
    """A control env: its functions and data (see the module docstring for the contract).

    ``params`` float64[P] with names ``param_names``; ``n_actions > 0`` for a discrete env
    (``action_dim == 1``, bounds 0 and ``n_actions - 1``), 0 for a continuous one with bounds
    ``action_low``/``action_high`` float64[action_dim]; ``obs_low``/``obs_high``
    float64[obs_dim] the observation-space bounds (infinite if unknown); ``max_steps`` the time
    limit (truncation); ``reward_threshold`` the return that counts as solved (or None).
    ``functions`` holds the three njit dispatchers (callable from Python), ``fns`` the same as
    pointers for compiled code."""

    id: str
    state_dim: int
    obs_dim: int
    n_actions: int
    action_dim: int
    action_low: np.ndarray
    action_high: np.ndarray
    obs_low: np.ndarray
    obs_high: np.ndarray
    max_steps: int
    reward_threshold: float | None
    params: np.ndarray
    param_names: tuple[str, ...]
    functions: tuple[CPUDispatcher, CPUDispatcher, CPUDispatcher]
    fns: EnvFns

    @property
    def discrete(self) -> bool:
        return self.n_actions > 0

    def param(self, name: str) -> float:
        """The value of the named constant ``name``."""
        return float(self.params[self._param_index(name)])

    def _param_index(self, name: str) -> int:
        if name not in self.param_names:
            raise ValueError(
                f"{self.id}: unknown parameter {name!r}; known: {', '.join(self.param_names)}"
            )
        return self.param_names.index(name)

    def with_params(self, **values: float) -> ControlEnv:
        """A copy with the named constants replaced (no recompilation: params are data)."""
        params = self.params.copy()
        for name, value in values.items():
            params[self._param_index(name)] = finite_float(self.id, name, value)
        return self._replace(params=params)

    def reset(self, state: np.ndarray, rng: np.random.Generator) -> None:
        """Python-side call of the env's ``reset`` (compiled)."""
        self.functions[0](self.params, state, rng)

    def step(self, state: np.ndarray, action: np.ndarray, rng: np.random.Generator):
        """Python-side call of the env's ``step``: ``(reward, terminated)``."""
        return self.functions[1](self.params, state, action, rng)

    def observe(self, state: np.ndarray, obs: np.ndarray) -> None:
        """Python-side call of the env's ``observe``."""
        self.functions[2](self.params, state, obs)


def finite_float(env_id: str, name: str, value: Any) -> float:
    """``value`` as a float; ValueError naming the env and field unless a finite real."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValueError(f"{env_id}: {name} must be a finite real number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{env_id}: {name} must be a finite real number, got {value!r}")
    return float(value)


def constant_params(
    env_id: str, defaults: dict, given: dict, options_only: tuple[str, ...] = ()
) -> dict[str, float]:
    """``defaults`` with the named constants in ``given`` replaced, each a finite float."""
    out = dict(defaults)
    for name, value in given.items():
        if name not in defaults or name in options_only:
            allowed = [k for k in defaults if k not in options_only]
            raise ValueError(f"{env_id}: unknown option {name!r}; constants: {', '.join(allowed)}")
        out[name] = finite_float(env_id, name, value)
    return out


def float32_bounds(values: Any) -> np.ndarray:
    """Bounds as Gymnasium declares them (a float32 Box), held as float64."""
    return np.array(values, dtype=np.float32).astype(np.float64)


def _qualname(fn: Any) -> str:
    py = getattr(fn, "py_func", fn)
    module = getattr(py, "__module__", None)
    name = getattr(py, "__qualname__", repr(fn))
    return f"{module}.{name}" if module else name


def _positive_int(env_id: str, name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{env_id}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _bounds(env_id: str, name: str, value: Any, dim: int, default: float) -> np.ndarray:
    if value is None:
        return np.full(dim, default)
    arr = np.array(value, dtype=np.float64).reshape(-1)
    if arr.shape != (dim,) or np.isnan(arr).any():
        raise ValueError(f"{env_id}: {name} must be {dim} numbers without NaN, got {value!r}")
    return arr


def _check_function(env_id: str, role: str, fn: Any) -> None:
    args, _, _ = _EXPECTED[role]
    if not isinstance(fn, CPUDispatcher):
        raise TypeError(
            f"{env_id}: {role} must be an @njit function (numba.njit, cache=True for a warm "
            f"start) with signature {role}{args}; got {fn!r}"
        )
    n_args = fn.py_func.__code__.co_argcount
    expected = args.count(",") + 1
    if n_args != expected:
        got = fn.py_func.__code__.co_varnames[:n_args]
        raise TypeError(
            f"{env_id}: {role} must take {expected} arguments {role}{args}; "
            f"{_qualname(fn)} takes {n_args} ({', '.join(got)})"
        )


def _padded(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A buffer of n + _PAD unset entries and its first n as a C-contiguous view."""
    buf = np.full(n + _PAD, _UNSET)
    return buf, buf[:n]


def _unset(values: np.ndarray) -> np.ndarray:
    return values.view(np.uint64) == _UNSET.view(np.uint64) if values.size else values.astype(bool)


def _check_written(
    env_id: str, role: str, what: str, buf: np.ndarray, n: int, fresh: bool = True
) -> None:
    """Nothing written past ``n``; with ``fresh`` (an unset buffer) every entry written; all
    finite."""
    if not _unset(buf[n:]).all():
        last = n + int(np.flatnonzero(~_unset(buf[n:]))[-1])
        raise ValueError(
            f"{env_id}: {role} wrote {what}[{last}] but {what} has {n} entries "
            f"({what}_dim={n}); the dims disagree with what the functions write"
        )
    unset = np.flatnonzero(_unset(buf[:n]))
    if fresh and unset.size:
        raise ValueError(
            f"{env_id}: {role} left {what}[{', '.join(map(str, unset[:4]))}] unset "
            f"({what}_dim={n}); it must write every entry"
        )
    if not np.isfinite(buf[:n]).all():
        raise ValueError(
            f"{env_id}: {role} wrote a non-finite {what} {buf[:n]!r}; {what} must stay finite"
        )


def _call(env_id: str, role: str, fn: CPUDispatcher, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # a typing error or the function's own exception
        sig, ret, _ = _EXPECTED[role]
        raise TypeError(
            f"{env_id}: calling {role}{sig} ({_qualname(fn)}) on a sample failed; expected "
            f"signature {role}{sig} -> {ret} with float64 arrays and a numpy Generator: "
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
        ) from exc


def _return_type(fn: CPUDispatcher, args: tuple) -> types.Type:
    arg_types = tuple(fn.typeof_pyval(a) for a in args)
    return fn.overloads[arg_types].signature.return_type


def _pointer(env_id: str, role: str, fn: CPUDispatcher) -> FunctionPointer:
    sig, ret, nb_sig = _EXPECTED[role]
    ptr = FunctionPointer(fn, nb_sig)
    try:
        ptr.__wrapper_address__()
    except Exception as exc:
        raise TypeError(
            f"{env_id}: {role} ({_qualname(fn)}) cannot be compiled as {role}{sig} -> {ret} "
            f"({nb_sig}): {type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
        ) from exc
    return ptr


def check_functions(
    env_id: str,
    functions: tuple,
    state_dim: int,
    obs_dim: int,
    params: np.ndarray,
    action: np.ndarray,
) -> EnvFns:
    """Run ``functions`` (reset, step, observe) once on a sample, in the order reset, observe,
    step, observe; return the pointers.

    Each buffer handed out is a view into a larger NaN buffer, so writing past its length or
    leaving entries unset is caught here, before any learner runs."""
    reset, step, observe = functions
    for role, fn in zip(("reset", "step", "observe"), functions, strict=True):
        _check_function(env_id, role, fn)
    rng = np.random.default_rng(0)
    sbuf, state = _padded(state_dim)
    out = _call(env_id, "reset", reset, params, state, rng)
    if out is not None:
        raise TypeError(f"{env_id}: reset must return None (fill state in place), got {out!r}")
    _check_written(env_id, "reset", "state", sbuf, state_dim)
    obuf, obs = _padded(obs_dim)
    out = _call(env_id, "observe", observe, params, state, obs)
    if out is not None:
        raise TypeError(f"{env_id}: observe must return None (fill obs in place), got {out!r}")
    _check_written(env_id, "observe", "obs", obuf, obs_dim)
    result = _call(env_id, "step", step, params, state, action, rng)
    rtype = _return_type(step, (params, state, action, rng))
    if not (
        isinstance(rtype, types.BaseTuple)
        and len(rtype) == 2
        and isinstance(rtype[0], (types.Float, types.Integer))
        and not isinstance(rtype[0], types.Boolean)
        and isinstance(rtype[1], types.Boolean)
    ):
        raise TypeError(
            f"{env_id}: step must return (reward: float, terminated: bool); "
            f"{_qualname(step)} returns {rtype} (e.g. {result!r})"
        )
    obuf, obs = _padded(obs_dim)
    observe(params, state, obs)
    _check_written(env_id, "observe after the first step", "obs", obuf, obs_dim)
    _check_written(env_id, "step", "state", sbuf, state_dim, fresh=False)
    if not math.isfinite(float(result[0])):
        raise ValueError(f"{env_id}: step returned a non-finite reward {result[0]!r}")
    from .specialize import generated_module

    loops = generated_module((reset, step, observe))
    return EnvFns(
        _pointer(env_id, "reset", reset),
        _pointer(env_id, "step", step),
        _pointer(env_id, "observe", observe),
        FunctionPointer(loops.vec_step, VEC_STEP_SIG),  # compiled when first used
        FunctionPointer(loops.random_rollout, ROLLOUT_SIG),
    )


def from_functions(
    env_id: str,
    reset: Any,
    step: Any,
    observe: Any,
    *,
    state_dim: int,
    obs_dim: int,
    params: Mapping[str, float] | None = None,
    max_steps: int,
    n_actions: int | None = None,
    action_low: Any = None,
    action_high: Any = None,
    obs_low: Any = None,
    obs_high: Any = None,
    reward_threshold: float | None = None,
) -> ControlEnv:
    """Build a ``ControlEnv`` from three ``@njit(cache=True)`` functions (module docstring).

    ``params`` maps each constant's name to its value (in order; ``{}`` for none);
    ``n_actions`` makes a discrete env, ``action_low``/``action_high`` (equal-length sequences)
    a continuous one. Everything is checked, and each function run once on a sample, before
    anything is compiled around it: a ValueError/TypeError names the function, what it got and
    the expected signature."""
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env_id must be a non-empty string, got {env_id!r}")
    state_dim = _positive_int(env_id, "state_dim", state_dim)
    obs_dim = _positive_int(env_id, "obs_dim", obs_dim)
    max_steps = _positive_int(env_id, "max_steps", max_steps)
    if params is None:
        params = {}
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise ValueError(f"{env_id}: params must map names (str) to numbers, got {params!r}")
    names = tuple(params)
    values = np.array([finite_float(env_id, k, v) for k, v in params.items()], dtype=np.float64)
    if (n_actions is None) == (action_low is None and action_high is None):
        raise ValueError(
            f"{env_id}: give exactly one action space: n_actions=K (discrete) or "
            "action_low=..., action_high=... (continuous)"
        )
    if n_actions is not None:
        n_act = _positive_int(env_id, "n_actions", n_actions)
        action_dim = 1
        low, high = np.array([0.0]), np.array([float(n_act - 1)])
        sample = np.array([0.0])
    else:
        if action_low is None or action_high is None:
            raise ValueError(f"{env_id}: a continuous env needs both action_low and action_high")
        low = np.array(action_low, dtype=np.float64).reshape(-1)
        high = np.array(action_high, dtype=np.float64).reshape(-1)
        if low.size == 0 or low.shape != high.shape:
            raise ValueError(
                f"{env_id}: action_low and action_high must be equal-length, non-empty; "
                f"got {action_low!r} and {action_high!r}"
            )
        if not (np.isfinite(low).all() and np.isfinite(high).all() and (low < high).all()):
            raise ValueError(f"{env_id}: action bounds must be finite with low < high")
        n_act, action_dim = 0, int(low.size)
        sample = 0.5 * (low + high)
    if reward_threshold is not None:
        reward_threshold = finite_float(env_id, "reward_threshold", reward_threshold)
    functions = (reset, step, observe)
    fns = check_functions(env_id, functions, state_dim, obs_dim, values, sample)
    return ControlEnv(
        env_id,
        state_dim,
        obs_dim,
        n_act,
        action_dim,
        low,
        high,
        _bounds(env_id, "obs_low", obs_low, obs_dim, -np.inf),
        _bounds(env_id, "obs_high", obs_high, obs_dim, np.inf),
        max_steps,
        reward_threshold,
        values,
        names,
        functions,
        fns,
    )


def same_env(a: ControlEnv, b: ControlEnv) -> bool:
    """Whether two envs have the same functions and data (re-registering one is allowed)."""

    def key(e: ControlEnv) -> tuple:
        return (
            e.id,
            tuple(_qualname(f) for f in e.functions),
            e.state_dim,
            e.obs_dim,
            e.n_actions,
            e.action_dim,
            e.max_steps,
            e.reward_threshold,
            e.param_names,
        )

    arrays = ("action_low", "action_high", "obs_low", "obs_high", "params")
    return key(a) == key(b) and all(
        np.array_equal(getattr(a, n), getattr(b, n), equal_nan=True) for n in arrays
    )
