"""Linear learners with tile coding behind ``numbarl.train``: semi-gradient Sarsa, n-step Sarsa,
Sarsa(lambda) and true online Sarsa(lambda) (Sutton & Barto, Chapters 10 and 12) on any control
env with discrete actions and box observations (MountainCar-v0, CartPole-v1, Acrobot-v1, a
user's env), through the env door: compiled code calls ``fns.reset``, ``fns.step`` and
``fns.observe`` (`numbarl.envs.control.core`), so one cached kernel serves every env.

Features: the book's ``tiles()`` (`numbarl.approx.features.tiles_into`, the IHT of
``iht_size`` indices) over ``tiles * (obs - low) / (high - low)`` per dimension, with the
action as the integer argument, as the book's Mountain Car code does; ``low``/``high`` are the
env's ``obs_low``/``obs_high``, and ``[-obs_bound, obs_bound]`` where a bound is infinite.
Weights start at 0; ``alpha`` is the step size of each weight (the book's "0.5 / 8" is
``alpha=0.0625``); greedy ties are broken uniformly at random (`tile_sarsa.greedy_action`).
The env's time limit (``max_steps``, 200 on MountainCar-v0) truncates an episode: its last
update bootstraps from the state it stopped in; termination does not bootstrap.

``run`` returns arrays ``w`` float64[iht_size] and the IHT (``iht_keys``, ``iht_lengths``,
``iht_slots``, ``iht_state``), ``obs_low``/``obs_scale`` and ``num_tilings``; history per
episode: ``return``, ``length``. ``evaluate`` acts greedily with them on a copy of the IHT (a
tile never seen in training has weight 0, as it would have had there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from numbarl.approx import tile_sarsa as ts
from numbarl.approx.features import IHT, tiles_into
from numbarl.validation import AT_LEAST_ONE as _AT_LEAST_ONE
from numbarl.validation import POSITIVE as _POSITIVE
from numbarl.validation import check_seed

__all__ = [
    "ALGOS",
    "NStepSarsaTilesConfig",
    "SarsaLambdaTilesConfig",
    "SarsaTilesConfig",
    "TRACES",
    "TrueOnlineSarsaLambdaTilesConfig",
    "evaluate",
    "run",
    "run_tile_episodes",
]

_RANGES = {
    "num_tilings": _AT_LEAST_ONE,
    "tiles": _AT_LEAST_ONE,
    "iht_size": _AT_LEAST_ONE,
    "obs_bound": _POSITIVE,
}


class SarsaTilesConfig(NamedTuple):
    """Episodic semi-gradient Sarsa (book p. 244) with tile coding."""

    alpha: float = 0.0625
    gamma: float = 1.0
    epsilon: float = 0.0
    episodes: int = 500
    num_tilings: int = 8
    tiles: int = 8
    iht_size: int = 4096
    obs_bound: float = 3.0
    _ranges = _RANGES


class NStepSarsaTilesConfig(NamedTuple):
    """Episodic semi-gradient n-step Sarsa (book p. 247) with tile coding."""

    alpha: float = 0.0625
    n: int = 4
    gamma: float = 1.0
    epsilon: float = 0.0
    episodes: int = 500
    num_tilings: int = 8
    tiles: int = 8
    iht_size: int = 4096
    obs_bound: float = 3.0
    _ranges = _RANGES


class SarsaLambdaTilesConfig(NamedTuple):
    """Sarsa(lambda) with binary features (book p. 305); ``trace``: "replacing",
    "accumulating" or "replacing_clearing" (the other actions' traces at S cleared)."""

    alpha: float = 0.0625
    lam: float = 0.9
    trace: str = "replacing"
    gamma: float = 1.0
    epsilon: float = 0.0
    episodes: int = 500
    num_tilings: int = 8
    tiles: int = 8
    iht_size: int = 4096
    obs_bound: float = 3.0
    _ranges = _RANGES
    _choices = {"trace": ("replacing", "accumulating", "replacing_clearing")}


class TrueOnlineSarsaLambdaTilesConfig(NamedTuple):
    """True online Sarsa(lambda) (book p. 307) with tile coding."""

    alpha: float = 0.0625
    lam: float = 0.9
    gamma: float = 1.0
    epsilon: float = 0.0
    episodes: int = 500
    num_tilings: int = 8
    tiles: int = 8
    iht_size: int = 4096
    obs_bound: float = 3.0
    _ranges = _RANGES


ALGOS: dict[str, type] = {
    "sarsa_tiles": SarsaTilesConfig,
    "n_step_sarsa_tiles": NStepSarsaTilesConfig,
    "sarsa_lambda_tiles": SarsaLambdaTilesConfig,
    "true_online_sarsa_lambda_tiles": TrueOnlineSarsaLambdaTilesConfig,
}

# Tuned rows (read by numbarl.tuned): the book's Mountain Car settings, scored by a fresh
# 20-episode greedy evaluation under Gymnasium's 200-step limit (tests/test_approx_train.py).
TUNED: dict[str, dict[str, dict[str, Any]]] = {
    "sarsa_tiles": {"MountainCar-v0": {"alpha": 0.05, "episodes": 500}},
    "n_step_sarsa_tiles": {"MountainCar-v0": {"alpha": 0.0625, "n": 4, "episodes": 500}},
    "sarsa_lambda_tiles": {"MountainCar-v0": {"alpha": 0.04, "lam": 0.9, "episodes": 500}},
    "true_online_sarsa_lambda_tiles": {
        "MountainCar-v0": {"alpha": 0.0625, "lam": 0.9, "episodes": 500}
    },
}

# Kernel method codes: the Sarsa(lambda) traces of `tile_sarsa.TRACES`, and n-step Sarsa.
N_STEP = 4
TRACES = {name: code for name, code in ts.TRACES.items() if name != "true_online"}


class TileKernel(NamedTuple):
    """What the compiled loop reads (scalars of fixed types: one compiled signature)."""

    method: int  # N_STEP or a Sarsa(lambda) code of tile_sarsa.TRACES
    alpha: float
    n: int
    lam: float
    gamma: float
    epsilon: float
    num_tilings: int


def _kernel(algo: str, cfg: Any) -> TileKernel:
    if algo == "true_online_sarsa_lambda_tiles":
        method = ts.TRUE_ONLINE
    elif algo == "sarsa_lambda_tiles":
        method = TRACES[cfg.trace]
    else:
        method = N_STEP
    return TileKernel(
        method=int(method),
        alpha=float(cfg.alpha),
        n=int(getattr(cfg, "n", 1)),
        lam=float(getattr(cfg, "lam", 0.0)),
        gamma=float(cfg.gamma),
        epsilon=float(cfg.epsilon),
        num_tilings=int(cfg.num_tilings),
    )


# ---------------------------------------------------------------------------------------------
# Compiled pieces


@njit(cache=True, inline="always")
def _features(iht, num_tilings, obs, low, scale, floats, ints, coords, feats):
    """The active tiles of obs for every action into feats int64[A, num_tilings]:
    ``tiles(iht, num_tilings, scale * (obs - low), [a])`` for a = 0, 1, ... in turn."""
    for i in range(obs.shape[0]):
        floats[i] = (obs[i] - low[i]) * scale[i]
    for a in range(feats.shape[0]):
        ints[0] = a
        tiles_into(iht, num_tilings, floats, ints, coords, feats[a])


@njit(cache=True, nogil=True)
def run_tile_episodes(
    fns, params, state_dim, max_steps, n_actions, low, scale, k, w, iht, episodes, rng
):
    """``episodes`` more episodes of the learner ``k`` (`TileKernel`) on the env ``fns`` /
    ``params`` (``n_actions`` discrete actions, time limit ``max_steps``), updating
    w float64[iht_size] and ``iht`` in place: calling it again continues with the same draws
    as one longer call. ``low``/``scale`` float64[obs_dim] map an observation to the tile
    coder's floats. Returns (returns float64[episodes], lengths int64[episodes])."""
    nt = k.num_tilings
    obs_dim = low.shape[0]
    state = np.zeros(state_dim)
    obs = np.zeros(obs_dim)
    action = np.zeros(1)
    floats = np.zeros(obs_dim)
    ints = np.zeros(1, dtype=np.int64)
    coords = np.zeros(2 + obs_dim, dtype=np.int64)
    fs = np.empty((n_actions, nt), dtype=np.int64)  # F(S, b) for every action b
    fn = np.empty((n_actions, nt), dtype=np.int64)  # F(S', b)
    q = np.empty(n_actions)
    z = np.zeros(w.shape[0])
    n = k.n
    chosen, rewards, discounts, mask = ts.n_step_buffers(n, nt, k.gamma)
    gl = k.gamma * k.lam
    returns = np.zeros(episodes)
    lengths = np.zeros(episodes, dtype=np.int64)
    for episode in range(episodes):
        fns.reset(params, state, rng)
        fns.observe(params, state, obs)
        _features(iht, nt, obs, low, scale, floats, ints, coords, fs)
        a = ts.greedy_action(ts.action_values(w, fs, q), k.epsilon, rng)
        total = 0.0
        if k.method == N_STEP:  # book p. 247; the time limit bootstraps from S_T
            chosen[0] = fs[a]
            T = 1 << 62
            truncated = False
            t = 0
            while True:
                if t < T:
                    action[0] = float(a)
                    r, terminated = fns.step(params, state, action, rng)
                    total += r
                    rewards[(t + 1) & mask] = r
                    if terminated:
                        T = t + 1
                    else:
                        fns.observe(params, state, obs)
                        _features(iht, nt, obs, low, scale, floats, ints, coords, fs)
                        a = ts.greedy_action(ts.action_values(w, fs, q), k.epsilon, rng)
                        chosen[(t + 1) & mask] = fs[a]
                        if t + 1 >= max_steps:
                            T = t + 1
                            truncated = True
                tau = t - n + 1
                if tau >= 0:
                    g = 0.0
                    for i in range(tau + 1, min(tau + n, T) + 1):
                        g += discounts[i - tau - 1] * rewards[i & mask]
                    if tau + n < T:
                        g += discounts[n] * ts.tile_value(w, chosen[(tau + n) & mask])
                    elif truncated:
                        g += discounts[T - tau] * ts.tile_value(w, chosen[T & mask])
                    f = chosen[tau & mask]
                    delta = k.alpha * (g - ts.tile_value(w, f))
                    for j in range(nt):
                        w[f[j]] += delta
                if tau == T - 1:
                    break
                t += 1
            steps = T
        else:  # Sarsa(lambda), book p. 305, or true online Sarsa(lambda), p. 307
            z[: iht.state[0]] = 0.0  # every index handed out so far; all others are 0
            q_old = 0.0
            t = 0
            while True:
                action[0] = float(a)
                r, terminated = fns.step(params, state, action, rng)
                total += r
                t += 1
                a_next = 0
                if not terminated:  # a truncated episode bootstraps from S'
                    fns.observe(params, state, obs)
                    _features(iht, nt, obs, low, scale, floats, ints, coords, fn)
                    a_next = ts.greedy_action(ts.action_values(w, fn, q), k.epsilon, rng)
                q_old = ts.sarsa_lambda_update(
                    w, z, fs, a, fn[a_next], r, not terminated, k.method, k.gamma, gl, k.alpha,
                    iht.state[0], q_old,
                )  # fmt: skip
                if terminated or t >= max_steps:
                    break
                for b in range(n_actions):
                    for j in range(nt):
                        fs[b, j] = fn[b, j]
                a = a_next
            steps = t
        returns[episode] = total
        lengths[episode] = steps
    return returns, lengths


@njit(cache=True, nogil=True)
def greedy_returns(
    fns, params, state_dim, max_steps, n_actions, low, scale, nt, w, iht, episodes, rng
):
    """Undiscounted returns float64[episodes] of the greedy policy of w (ties at random)."""
    obs_dim = low.shape[0]
    state = np.zeros(state_dim)
    obs = np.zeros(obs_dim)
    action = np.zeros(1)
    floats = np.zeros(obs_dim)
    ints = np.zeros(1, dtype=np.int64)
    coords = np.zeros(2 + obs_dim, dtype=np.int64)
    fs = np.empty((n_actions, nt), dtype=np.int64)
    q = np.empty(n_actions)
    returns = np.zeros(episodes)
    for episode in range(episodes):
        fns.reset(params, state, rng)
        for _ in range(max_steps):
            fns.observe(params, state, obs)
            _features(iht, nt, obs, low, scale, floats, ints, coords, fs)
            action[0] = float(ts.greedy_action(ts.action_values(w, fs, q), 0.0, rng))
            r, terminated = fns.step(params, state, action, rng)
            returns[episode] += r
            if terminated:
                break
    return returns


# ---------------------------------------------------------------------------------------------
# Python shells


def _check_env(algo: str, env: Any):
    from numbarl.envs.control.core import ControlEnv

    if not isinstance(env, ControlEnv) or not env.discrete:
        raise ValueError(
            f"{algo} needs a control env with discrete actions and box observations (e.g. "
            f"MountainCar-v0, CartPole-v1, Acrobot-v1), got {getattr(env, 'id', env)!r}"
        )
    return env


def tile_range(env: Any, tiles: int, obs_bound: float) -> tuple[np.ndarray, np.ndarray]:
    """(low, scale) float64[obs_dim]: the tile coder's float of dimension i is
    ``(obs[i] - low[i]) * scale[i]``, ``tiles`` tiles over ``[obs_low, obs_high]`` (or
    ``[-obs_bound, obs_bound]`` where a bound is infinite)."""
    low = np.asarray(env.obs_low, dtype=np.float64).copy()
    high = np.asarray(env.obs_high, dtype=np.float64).copy()
    low[~np.isfinite(low)] = -obs_bound
    high[~np.isfinite(high)] = obs_bound
    if np.any(high <= low):
        raise ValueError(f"{env.id}: observation bounds must have low < high, got {low}, {high}")
    return low, tiles / (high - low)


def run(
    algo: str, env: Any, cfg: Any, seed: int, progress: Callable[[float], None] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Train ``algo`` (a key of `ALGOS`) on the control env ``env``; returns (arrays, history
    columns ``episode``, ``return``, ``length``)."""
    from numbarl.approx.features import make_iht
    from numbarl.errors import TrainingDiverged

    if algo not in ALGOS:
        raise ValueError(f"unknown tile-coding algorithm {algo!r}; known: {', '.join(ALGOS)}")
    env = _check_env(algo, env)
    seed = check_seed(seed)
    k = _kernel(algo, cfg)
    low, scale = tile_range(env, cfg.tiles, cfg.obs_bound)
    iht = make_iht(cfg.iht_size, 2 + env.obs_dim)
    w = np.zeros(cfg.iht_size)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    chunk = max(1, cfg.episodes // 50)
    returns, lengths = [], []
    done = 0
    while done < cfg.episodes:
        todo = min(chunk, cfg.episodes - done)
        r, n = run_tile_episodes(
            env.fns, env.params, env.state_dim, env.max_steps, env.n_actions, low, scale, k, w,
            iht, todo, rng,
        )  # fmt: skip
        returns.append(r)
        lengths.append(n)
        done += todo
        arrays = {"w": w, "iht_keys": iht.keys, "iht_lengths": iht.lengths,
                  "iht_slots": iht.slots, "iht_state": iht.state, "obs_low": low,
                  "obs_scale": scale, "num_tilings": np.array(cfg.num_tilings)}  # fmt: skip
        history = {
            "episode": np.arange(1, done + 1, dtype=np.int64),
            "return": np.concatenate(returns),
            "length": np.concatenate(lengths),
        }
        if not np.all(np.isfinite(w)):
            raise TrainingDiverged(
                f"{algo}: weights became non-finite by episode {done}", arrays, history
            )
        if progress is not None:
            progress(done / cfg.episodes)
    return arrays, history


def evaluate(
    algo: str, arrays: dict[str, np.ndarray], env: Any, episodes: int = 20, seed: int = 0
) -> np.ndarray:
    """Greedy returns float64[episodes] of the saved weights (a fresh copy of the IHT: tiles
    unseen in training get new indices, whose weights are 0)."""
    env = _check_env(algo, env)
    seed = check_seed(seed)
    iht = IHT(*(np.array(arrays[f"iht_{name}"], dtype=np.int64) for name in IHT._fields))
    low = np.ascontiguousarray(arrays["obs_low"], dtype=np.float64)
    if low.shape[0] != env.obs_dim or iht.keys.shape[1] != 2 + env.obs_dim:
        raise ValueError(f"the weights were learned on {low.shape[0]}-D observations; "
                         f"{env.id} has {env.obs_dim}")  # fmt: skip
    nt = int(arrays["num_tilings"])
    w = np.ascontiguousarray(arrays["w"], dtype=np.float64)
    scale = np.ascontiguousarray(arrays["obs_scale"], dtype=np.float64)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return greedy_returns(
        env.fns, env.params, env.state_dim, env.max_steps, env.n_actions, low, scale, nt, w,
        iht, int(episodes), rng,
    )  # fmt: skip
