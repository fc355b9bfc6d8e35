"""numbarl environments as Gymnasium environments (``import numbarl.gym``).

Importing this module registers every id of ``numbarl.envs.names()`` with Gymnasium as
``numbarl/<Id>``, so ``gymnasium.make("numbarl/CartPole-v1")`` or
``gymnasium.make("numbarl/FrozenLake-v1", map_name="8x8", is_slippery=False)`` build a numbarl env
behind Gymnasium's API. Keyword arguments go to ``numbarl.envs.make``; the time limit is
Gymnasium's ``TimeLimit`` wrapper with ``max_episode_steps`` taken from the numbarl env (none for
tabular envs without one), so truncation happens exactly where Gymnasium's own env truncates.
Change it with ``gymnasium.make(id, max_episode_steps=N)``; numbarl's own ``max_steps`` option is
refused here to keep a single time limit. ``reward_threshold`` is Gymnasium's where Gymnasium has
the id, else the numbarl env's.

- `ControlGymEnv`: a control env (the five classic-control envs, or a user's registered with
  ``numbarl.envs.register``) whose reset and step call its compiled functions with
  ``self.np_random``; for the built-in envs seeded resets and the dynamics equal Gymnasium's.
  ``env.unwrapped.state`` is the float64 state in Gymnasium's layout.
- `TabularGymEnv`: a `TabularMDP` sampled by a compiled kernel over its cumulative tables, which
  draws as Gymnasium's ``categorical_sample`` does (FrozenLake, CliffWalking and Taxi trajectories
  equal Gymnasium's for the same seed and actions).
- `NumbaVectorEnv`: N copies of a control env stepped in one compiled call with same-step
  autoreset; ``gymnasium.make_vec("numbarl/CartPole-v1", num_envs=N)`` builds it (the registered
  ``vector_entry_point``), as does `make_vec`.

Gymnasium is used only here: ``numbarl.envs`` stays numpy + numba.
"""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numba import njit

import numbarl.envs as numbarl_envs
from numbarl.envs.control import ControlEnv, vec_reset, vec_step
from numbarl.envs.tabular import TabularMDP, sample_index

NAMESPACE = "numbarl"

# ---------------------------------------------------------------------------------------------
# Shared checks


def _strip_namespace(env_id: str) -> str:
    """``"numbarl/CartPole-v1"`` -> ``"CartPole-v1"``; plain numbarl ids pass through."""
    prefix = NAMESPACE + "/"
    return env_id[len(prefix) :] if env_id.startswith(prefix) else env_id


class _NoRender:
    """numbarl envs draw nothing. A render mode is accepted at construction (Stable-Baselines3's
    ``make_vec_env`` passes "rgb_array"), but rendering with one raises."""

    render_mode: str | None

    def render(self) -> None:
        """None when ``render_mode`` is None; other modes raise NotImplementedError."""
        if self.render_mode is not None:
            raise NotImplementedError(
                f"numbarl Gymnasium envs do not render (render_mode={self.render_mode!r}); "
                "build them with render_mode=None"
            )


class _ControlState(_NoRender):
    """A control env's own float64 state array(s) in Gymnasium's layout as ``state``: modify it
    in place, or assign it (copied in) before the next step."""

    numbarl_env: ControlEnv
    _state: np.ndarray
    _needs_reset: bool

    @staticmethod
    def _control_env(env_id: str | ControlEnv, options: dict[str, Any]) -> ControlEnv:
        """``env_id`` if it is a built ControlEnv, else the env it names, built with ``options``."""
        if isinstance(env_id, ControlEnv):
            if options:
                raise ValueError("options apply to an env id, not to a built ControlEnv")
            return env_id
        return _build(env_id, "control", options)

    @property
    def state(self) -> np.ndarray:
        """float64[state_dim] (a vector env: [num_envs, state_dim]), the env's own array."""
        return self._state

    @state.setter
    def state(self, value: Any) -> None:
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape != self._state.shape:
            raise ValueError(
                f"{self.numbarl_env.id}: state must have shape {self._state.shape}, got {arr.shape}"
            )
        self._state[:] = arr
        self._needs_reset = False


def _build(env_id: str, kind: str, options: dict[str, Any]) -> Any:
    """Build numbarl env ``env_id`` of ``kind`` with ``options`` (no ``max_steps``)."""
    name = _strip_namespace(env_id)
    s = numbarl_envs.spec(name)
    if s.kind != kind:
        raise ValueError(f"{name} is a {s.kind} env, not a {kind} one")
    if "max_steps" in options:
        raise ValueError(
            f"{name}: the time limit of a Gymnasium env is its TimeLimit wrapper; pass "
            "max_episode_steps to gymnasium.make instead of max_steps"
        )
    return numbarl_envs.make(name, **options)


def _discrete_index(action: Any, n: int) -> int:
    """An integer action in ``0..n-1`` (Python or NumPy integer, or a one-element integer array)."""
    arr = np.asarray(action)
    if arr.size != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"action must be an integer in 0..{n - 1}, got {action!r}")
    a = int(arr.reshape(-1)[0])
    if not 0 <= a < n:
        raise ValueError(f"action must be an integer in 0..{n - 1}, got {action!r}")
    return a


# ---------------------------------------------------------------------------------------------
# Classic control


def _control_spaces(env: ControlEnv) -> tuple[spaces.Box, spaces.Space]:
    """Gymnasium's observation and action spaces of a control env (float32 Boxes, as Gymnasium's
    classic control declares them)."""
    obs_space = spaces.Box(
        env.obs_low.astype(np.float32), env.obs_high.astype(np.float32), dtype=np.float32
    )
    if env.n_actions > 0:
        act_space: spaces.Space = spaces.Discrete(env.n_actions)
    else:
        act_space = spaces.Box(
            env.action_low.astype(np.float32), env.action_high.astype(np.float32), dtype=np.float32
        )
    return obs_space, act_space


# Gymnasium's default reset bounds, used only when reset options override them.
_RESET_BOUNDS = {
    "CartPole-v1": (-0.05, 0.05),
    "Acrobot-v1": (-0.1, 0.1),
    "MountainCar-v0": (-0.6, -0.4),
    "MountainCarContinuous-v0": (-0.6, -0.4),
}


def _reset_from_options(
    code: str, options: dict[str, Any], rng: np.random.Generator
) -> np.ndarray | None:
    """Gymnasium's reset with its ``options`` (``low``/``high``; Pendulum ``x_init``/``y_init``),
    drawn as Gymnasium draws; None when no option applies (the compiled reset is used)."""
    from gymnasium.envs.classic_control import utils as cc_utils

    if code == "Pendulum-v1":
        if "x_init" not in options and "y_init" not in options:
            return None
        x = cc_utils.verify_number_and_cast(options.get("x_init", math.pi))
        y = cc_utils.verify_number_and_cast(options.get("y_init", 1.0))
        high = np.array([x, y])
        return np.asarray(rng.uniform(low=-high, high=high), dtype=np.float64)
    if "low" not in options and "high" not in options or code not in _RESET_BOUNDS:
        return None
    low, high = cc_utils.maybe_parse_reset_bounds(options, *_RESET_BOUNDS[code])
    if code == "CartPole-v1":
        return rng.uniform(low=low, high=high, size=(4,))
    if code == "Acrobot-v1":
        return rng.uniform(low=low, high=high, size=(4,)).astype(np.float32).astype(np.float64)
    return np.array([rng.uniform(low=low, high=high), 0.0])


class ControlGymEnv(_ControlState, gymnasium.Env):
    """A numbarl control env (``CartPole-v1``, ``MountainCar-v0``, ``MountainCarContinuous-v0``,
    ``Acrobot-v1``, ``Pendulum-v1``, or a user's registered env) behind Gymnasium's API.

    ``env_id`` is a numbarl id (``"numbarl/"`` prefix allowed) or a built ``ControlEnv``;
    ``options`` go to ``numbarl.envs.make``. Spaces are Gymnasium's: float32 Box observations,
    ``Discrete(n)`` or float32 ``Box(low, high, (action_dim,))`` actions. Seeded resets draw from
    ``self.np_random`` exactly as Gymnasium's env does, so the same seed gives the same episode as
    ``gymnasium.make(id)`` (continuous actions are used at float64 precision, i.e. as Gymnasium
    computes with float64 actions; MountainCarContinuous can differ by one float32 ulp on a step,
    as Gymnasium rounds ``3 * position`` to float32). Reset options are Gymnasium's
    (``low``/``high``; Pendulum ``x_init``/``y_init``). The env never truncates itself:
    ``gymnasium.make`` adds the time limit.

    ``state`` is the float64[state_dim] state in Gymnasium's layout; it can be modified in place
    or assigned (``env.unwrapped.state = np.array([...])`` copies into it) before the next step.
    """

    metadata: dict[str, Any] = {"render_modes": [], "render_fps": 50}

    def __init__(
        self, env_id: str | ControlEnv = "CartPole-v1", render_mode: str | None = None, **options
    ) -> None:
        self.numbarl_env = env = self._control_env(env_id, options)
        self.render_mode = render_mode
        self.observation_space, self.action_space = _control_spaces(env)
        self._code = env.id
        self._reset, self._step, self._observe = env.functions
        self._params = np.ascontiguousarray(env.params, dtype=np.float64)
        self._state = np.zeros(env.state_dim)
        self._obs = np.zeros(env.obs_dim)
        self._action = np.zeros(env.action_dim)
        self._needs_reset = True

    def _observation(self) -> np.ndarray:
        self._observe(self._params, self._state, self._obs)
        return self._obs.astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode: ``(observation float32[obs_dim], {})``."""
        super().reset(seed=seed)
        drawn = _reset_from_options(self._code, options, self.np_random) if options else None
        if drawn is None:
            self._reset(self._params, self._state, self.np_random)
        else:
            self._state[:] = drawn
        self._needs_reset = False
        return self._observation(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One step: ``(observation, reward, terminated, False, {})``."""
        if self._needs_reset:
            raise ResetNeeded("Call reset (or assign state) before step.")
        env = self.numbarl_env
        if env.n_actions > 0:
            self._action[0] = _discrete_index(action, env.n_actions)
        else:
            arr = np.asarray(action, dtype=np.float64)
            if arr.size != env.action_dim:
                raise ValueError(
                    f"{env.id}: action must have shape ({env.action_dim},), got {arr.shape}"
                )
            self._action[:] = arr.reshape(-1)
        reward, terminated = self._step(self._params, self._state, self._action, self.np_random)
        return self._observation(), float(reward), bool(terminated), False, {}


# ---------------------------------------------------------------------------------------------
# Tabular


@njit(cache=True)
def _sample_transition(
    mdp: TabularMDP, s: int, a: int, rng: np.random.Generator
) -> tuple[int, float, bool, int]:
    """``envs.tabular.step`` that also returns the index k of the outcome drawn (for its
    probability): ``(next_state, reward, terminated, k)``, with the same draws."""
    k = sample_index(mdp.cum_prob[s, a], rng.random())
    s2 = mdp.next_state[s, a, k]
    rew = mdp.reward[s, a, k]
    std = mdp.reward_std[s, a, k]
    if std > 0.0:
        rew += std * rng.standard_normal()
    return s2, rew, mdp.terminal[s2], k


def outcome_probabilities(mdp: TabularMDP) -> np.ndarray:
    """float64[S, A, K]: the probability of each padded outcome of ``mdp`` (0 for padding), the
    ``prob`` Gymnasium's toy text reports, recovered from the cumulative sampling table."""
    cum = np.minimum(mdp.cum_prob, 1.0)  # the round-off guard and the padding (2.0) become 1
    return np.diff(cum, axis=2, prepend=0.0)


class TabularGymEnv(_NoRender, gymnasium.Env):
    """A numbarl tabular env (toy text or Sutton & Barto's MDPs) behind Gymnasium's API.

    ``env_id`` is a numbarl id (``"numbarl/"`` prefix allowed) or a built ``TabularMDP``;
    ``options`` go to ``numbarl.envs.make``. Observations are state indices (``Discrete(S)``),
    actions ``Discrete(A)``, both in Gymnasium's numbering for the toy-text envs. ``info`` holds
    ``prob``, the probability of the outcome drawn (1.0 at reset), and, for envs with
    state-dependent action sets (``mdp.allowed``), ``action_mask`` int8[A] of the new state (use
    ``action_space.sample(mask=info["action_mask"])``). A disallowed action leaves the state
    unchanged with reward 0 (the MDP's self-loop). The env never truncates itself.

    Blackjack-v1 observes ``Discrete(715)``: 0..703 is Gymnasium's tuple observation
    ``(player_sum, dealer_card, usable_ace)`` flattened as ``(player_sum * 11 + dealer_card) * 2 +
    usable_ace`` (``numbarl.envs.toy_text.blackjack_decode(s)`` gives the tuple), 705..714 a
    natural first hand against dealer card 1..10 (observed by Gymnasium as ``(21, d, 1)``) and
    704 the end of the game (the observation after any terminating step).
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self, env_id: str | TabularMDP = "FrozenLake-v1", render_mode: str | None = None, **options
    ) -> None:
        if isinstance(env_id, TabularMDP):
            if options:
                raise ValueError("options apply to an env id, not to a built TabularMDP")
            self.mdp = numbarl_envs.validate(env_id)
        else:
            self.mdp = _build(env_id, "tabular", options)
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(self.mdp.n_states)
        self.action_space = spaces.Discrete(self.mdp.n_actions)
        self._prob = outcome_probabilities(self.mdp)
        self._masked = not bool(self.mdp.allowed.all())
        self.s: int | None = None

    def action_mask(self, s: int) -> np.ndarray:
        """int8[A]: 1 for the actions allowed in state ``s``."""
        return self.mdp.allowed[s].astype(np.int8)

    def _info(self, prob: float) -> dict[str, Any]:
        info: dict[str, Any] = {"prob": prob}
        if self._masked:
            info["action_mask"] = self.action_mask(self.s)
        return info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Start an episode: ``(state, info)``; one uniform draw, as Gymnasium's toy text."""
        super().reset(seed=seed)
        self.s = int(numbarl_envs.reset(self.mdp, self.np_random))
        return self.s, self._info(1.0)

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """One transition: ``(next_state, reward, terminated, False, info)``."""
        if self.s is None:
            raise ResetNeeded("Call reset before step.")
        a = _discrete_index(action, self.mdp.n_actions)
        s2, reward, terminated, k = _sample_transition(self.mdp, self.s, a, self.np_random)
        prob = float(self._prob[self.s, a, k])
        self.s = int(s2)
        return self.s, float(reward), bool(terminated), False, self._info(prob)


# ---------------------------------------------------------------------------------------------
# Vector env


class NumbaVectorEnv(_ControlState, VectorEnv):
    """``num_envs`` copies of a control env stepped in one compiled call (``vec_step``).

    Same-step autoreset (``metadata["autoreset_mode"] == AutoresetMode.SAME_STEP``): a copy that
    terminates or truncates is reset within the step; its returned observation is the new
    episode's first one, and ``infos["final_obs"]`` (object array, the float32 final observation
    where ``infos["_final_obs"]`` is True, else None) and ``infos["final_info"]`` / ``_final_info``
    follow Gymnasium's ``SyncVectorEnv`` in that mode. ``max_episode_steps`` (default: the env's
    time limit; ``<= 0``: none) truncates as Gymnasium's TimeLimit does. All copies draw from one
    generator, ``self.np_random``, in copy order (``reset(seed=s)`` reseeds it).

    ``state`` is float64[num_envs, state_dim] (assignable, like `ControlGymEnv.state`).
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int,
        env_id: str | ControlEnv = "CartPole-v1",
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        **options,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        env = self._control_env(env_id, options)
        if max_episode_steps is None:
            max_episode_steps = env.max_steps
        if isinstance(max_episode_steps, bool) or not isinstance(
            max_episode_steps, int | np.integer
        ):
            raise ValueError(f"max_episode_steps must be an integer, got {max_episode_steps!r}")
        self.numbarl_env = env
        self.num_envs = int(num_envs)
        self.max_episode_steps = int(max_episode_steps)
        self.render_mode = render_mode
        self.single_observation_space, self.single_action_space = _control_spaces(env)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n = self.num_envs
        self._fns = env.fns
        self._params = np.ascontiguousarray(env.params, dtype=np.float64)
        self._state = np.zeros((n, env.state_dim))
        self._t = np.zeros(n, dtype=np.int64)
        self._obs = np.zeros((n, env.obs_dim))
        self._final_obs = np.zeros((n, env.obs_dim))
        self._actions = np.zeros((n, env.action_dim))
        self._rewards = np.zeros(n)
        self._terminated = np.zeros(n, dtype=np.bool_)
        self._truncated = np.zeros(n, dtype=np.bool_)
        self._needs_reset = True

    @property
    def elapsed_steps(self) -> np.ndarray:
        """int64[num_envs]: steps taken in each copy's current episode (a copy of the counter)."""
        return self._t.copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every copy: ``(observations float32[num_envs, obs_dim], {})``."""
        super().reset(seed=seed)
        vec_reset(self._fns, self._params, self._state, self._t, self.np_random, self._obs)
        self._needs_reset = False
        return self._obs.astype(np.float32), {}

    def _actions_array(self, actions: Any) -> np.ndarray:
        env, n = self.numbarl_env, self.num_envs
        arr = np.asarray(actions)
        if env.n_actions > 0:
            if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
                raise ValueError(f"actions must be integers of shape ({n},), got {arr!r}")
            if np.any(arr < 0) or np.any(arr >= env.n_actions):
                raise ValueError(f"actions must be in 0..{env.n_actions - 1}, got {arr!r}")
            self._actions[:, 0] = arr
        else:
            d = env.action_dim
            if arr.shape != (n, d) and not (d == 1 and arr.shape == (n,)):
                raise ValueError(f"actions must have shape ({n}, {d}), got {arr.shape}")
            self._actions[:] = arr.reshape(n, d)
        return self._actions

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every copy with ``actions`` (int[num_envs] or float32[num_envs, action_dim]);
        finished copies are reset in the same call. Returns ``(obs, rewards float64, terminated,
        truncated, infos)``."""
        if self._needs_reset:
            raise ResetNeeded("Call reset (or assign state) before step.")
        vec_step(
            self._fns,
            self._params,
            self._state,
            self._actions_array(actions),
            self._rewards,
            self._terminated,
            self._truncated,
            self._t,
            self.max_episode_steps,
            self.np_random,
            True,
            self._obs,
            self._final_obs,
        )
        infos: dict[str, Any] = {}
        done = self._terminated | self._truncated
        if done.any():
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(done):
                final_obs[i] = self._final_obs[i].astype(np.float32)
            infos = {
                "final_obs": final_obs,
                "_final_obs": done,
                "final_info": {},
                "_final_info": done.copy(),
            }
        return (
            self._obs.astype(np.float32),
            self._rewards.copy(),
            self._terminated.copy(),
            self._truncated.copy(),
            infos,
        )


def make_vec(env_id: str, num_envs: int, **options: Any) -> NumbaVectorEnv:
    """``num_envs`` copies of control env ``env_id`` (``"CartPole-v1"`` or
    ``"numbarl/CartPole-v1"``) as a `NumbaVectorEnv`, built through ``gymnasium.make_vec`` so its
    ``spec`` is set. ``options`` go to ``numbarl.envs.make``, except ``max_episode_steps``."""
    name = _strip_namespace(env_id)
    if numbarl_envs.spec(name).kind != "control":
        raise ValueError(
            f"{name}: make_vec serves control envs; for tabular envs use "
            f'gymnasium.make_vec("{NAMESPACE}/{name}", num_envs, vectorization_mode="sync")'
        )
    register_envs()
    return gymnasium.make_vec(
        f"{NAMESPACE}/{name}", num_envs, vectorization_mode="vector_entry_point", **options
    )


# ---------------------------------------------------------------------------------------------
# Registration


def _registration(name: str) -> dict[str, Any]:
    """``gymnasium.register`` arguments for numbarl id ``name``."""
    s = numbarl_envs.spec(name)
    gym_threshold = (
        gymnasium.registry[name].reward_threshold if name in gymnasium.registry else None
    )
    if s.kind == "control":
        env = numbarl_envs.make(name)
        threshold: SupportsFloat | None = env.reward_threshold
        return {
            "entry_point": f"{__name__}:ControlGymEnv",
            "vector_entry_point": f"{__name__}:NumbaVectorEnv",
            "max_episode_steps": env.max_steps if env.max_steps > 0 else None,
            "reward_threshold": gym_threshold if gym_threshold is not None else threshold,
            "kwargs": {"env_id": name},
        }
    max_steps = numbarl_envs.options(name).get("max_steps")
    return {
        "entry_point": f"{__name__}:TabularGymEnv",
        "max_episode_steps": max_steps if max_steps is not None and max_steps > 0 else None,
        "reward_threshold": gym_threshold,
        "kwargs": {"env_id": name},
    }


def gym_ids() -> list[str]:
    """The Gymnasium ids numbarl registers: ``numbarl/<Id>`` for every ``numbarl.envs.names()``."""
    return [f"{NAMESPACE}/{name}" for name in numbarl_envs.names()]


def register_envs() -> list[str]:
    """Register every numbarl env with Gymnasium as ``numbarl/<Id>`` (ids already registered are
    left alone, so calling it again is a no-op). Returns the ids registered by this call."""
    added = []
    for name in numbarl_envs.names():
        gid = f"{NAMESPACE}/{name}"
        if gid in gymnasium.registry:
            continue
        gymnasium.register(id=gid, **_registration(name))
        added.append(gid)
    return added


register_envs()
# Envs a user registers later (numbarl.envs.register) become numbarl/<Id> at once.
numbarl_envs.on_register(lambda name: register_envs())

__all__ = [
    "NAMESPACE",
    "ControlGymEnv",
    "NumbaVectorEnv",
    "TabularGymEnv",
    "gym_ids",
    "make_vec",
    "outcome_probabilities",
    "register_envs",
]
