"""The Python training shell DDPG, TD3 and SAC share (as ``pg_train`` is for the
policy-gradient learners): config checks and merging, env checks, the chunked compiled loop (or
the Python loop on a Gymnasium env), evaluation, history and divergence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, get_type_hints

import numpy as np
from numba import typeof, types

from numbarl.deep.actor_critic import (
    ACTOR_DIVERGED,
    ALPHA_DIVERGED,
    CRITIC_DIVERGED,
    N_METRICS,
    OK,
    ActorCritic,
    RunState,
    TrainState,
    ac_fns,
    actor_actions,
    actor_critic_arrays,
    actor_critic_from_arrays,
    make_actor_critic,
    make_workspace,
    scale_obs,
)
from numbarl.deep.env_info import EnvInfo, env_info
from numbarl.deep.exploration import (
    NOISES,
    _blank_run_state,
    end_episode,
    evaluate_actor,
    explore_action,
    make_run_state,
)
from numbarl.deep.replay import (
    ReplayBuffer,
    replay_add,
    replay_init,
    replay_newest,
)
from numbarl.deep.train import Progress, TrainOutput
from numbarl.envs.control import ControlEnv
from numbarl.errors import TrainingDiverged
from numbarl.nn import (
    DTYPES,
    activation_code,
    adam_init,
    mlp_workspace,
    net_dtype,
)
from numbarl.nn.pointers import Pointer, step_fns
from numbarl.nn.threads import single_threaded_blas
from numbarl.precompile import compile_calls
from numbarl.validation import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, check_seed

# Config checks both DDPGConfig and TD3Config declare; a range is (low, high, low_inclusive,
# high_inclusive) as ``numbarl.config`` reads it, None = unbounded.

CONFIG_CHOICES = {
    "activation": ("tanh", "relu"),
    "init": ("uniform", "orthogonal"),
    "noise": tuple(NOISES),
    "dtype": DTYPES,
}

CONFIG_RANGES = {
    "learning_starts": NON_NEGATIVE,
    "buffer_size": AT_LEAST_ONE,
    "tau": (0.0, 1.0, False, True),
    "actor_lr": POSITIVE,
    "critic_lr": POSITIVE,
    "hidden": AT_LEAST_ONE,
    "hidden2": NON_NEGATIVE,
    "n_layers": NON_NEGATIVE,
    "exploration_noise": NON_NEGATIVE,
    "ou_theta": NON_NEGATIVE,
    "ou_dt": POSITIVE,
    "gradient_steps": AT_LEAST_ONE,
    "eval_every": AT_LEAST_ONE,
    "eval_episodes": AT_LEAST_ONE,
}


def hidden_sizes(cfg: Any) -> tuple[int, ...]:
    """The hidden layers' widths of a DDPG/TD3/SAC config: ``n_layers`` layers, the first
    ``hidden`` wide, the others ``hidden2`` wide (``hidden`` when ``hidden2`` is 0); SB3's
    ``net_arch=[400, 300]`` is ``hidden=400, hidden2=300``."""
    rest = int(cfg.hidden2) or int(cfg.hidden)
    return tuple([int(cfg.hidden)] + [rest] * (int(cfg.n_layers) - 1))[: int(cfg.n_layers)]


def make_hyper(hyper_cls: type, cfg: Any) -> Any:
    """``hyper_cls`` (``DDPGHyper``/``TD3Hyper``) from the same-named fields of ``cfg``, each cast
    to its declared int/float (``noise`` mapped to its code in ``NOISES``), so that the compiled
    code always sees one signature."""
    values = {}
    for field, kind in get_type_hints(hyper_cls).items():
        value = getattr(cfg, field)
        values[field] = NOISES[value] if field == "noise" else kind(value)
    return hyper_cls(**values)


HISTORY_COLUMNS = (
    "step",
    "eval_return",
    "episode_return",
    "critic_loss",
    "actor_loss",
    "q_mean",
    "critic_updates",
    "actor_updates",
)

_UPDATE_NAMES = {CRITIC_DIVERGED: "critic", ACTOR_DIVERGED: "actor", ALPHA_DIVERGED: "alpha"}


def check_env(env: Any) -> EnvInfo:
    """The spaces of a continuous-action env: a numbarl ``ControlEnv`` (Pendulum-v1,
    MountainCarContinuous-v0) or a single Gymnasium env with 1-D Box observations and actions.
    Anything else raises ValueError saying what is allowed."""
    info = env_info(env)
    if info.n_actions > 0:
        name = getattr(env, "id", None) or getattr(getattr(env, "spec", None), "id", None) or env
        raise ValueError(
            f"DDPG/TD3 need a continuous (Box) action space; {name!r} has {info.n_actions} "
            "discrete actions. Allowed: Pendulum-v1, MountainCarContinuous-v0 or a Gymnasium env "
            "with a 1-D Box action space"
        )
    if info.n_envs > 1 or (not info.is_control and not hasattr(env, "reset")):
        raise ValueError("DDPG/TD3 take a single env, not a gymnasium.vector env")
    if not info.is_control and info.action_dim < 1:
        raise ValueError("the Box action space must have at least one dimension")
    return info


def evaluate(arrays: dict[str, np.ndarray], env: Any, episodes: int, seed: int) -> np.ndarray:
    """Undiscounted returns float64[episodes] of the deterministic actor mu(s) in ``arrays``
    on a continuous-action ControlEnv (start states from ``default_rng(seed)``) or a single
    Gymnasium env (episode k reset with seed ``seed + k``)."""
    seed = check_seed(seed)
    if isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    nets = actor_critic_from_arrays(arrays)
    info = check_env(env)
    if info.obs_dim != nets.actor_layout[0, 0] or info.action_dim != nets.action_low.shape[0]:
        raise ValueError("the actor in arrays does not fit env's observation/action spaces")
    with single_threaded_blas():
        return _evaluate(nets, env, info, int(episodes), np.random.default_rng(seed))


def _evaluate(
    nets: ActorCritic, env: Any, info: EnvInfo, episodes: int, rng: np.random.Generator
) -> np.ndarray:
    if info.is_control:
        return evaluate_actor(
            step_fns(env.fns), env.params, int(env.state_dim), int(env.max_steps), nets, episodes,
            rng,
            ac_fns(nets.actor.dtype, int(nets.activation[0])),
        )  # fmt: skip
    seed = int(rng.integers(2**31))
    act = int(nets.activation[0])
    ws = mlp_workspace(nets.actor_layout, 1, nets.actor.dtype)
    tanh_out = np.zeros((1, info.action_dim))
    action = np.zeros((1, info.action_dim))
    out = np.zeros(episodes)
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        done = False
        while not done:
            x = np.array(obs, dtype=np.float64).reshape(1, -1)
            scale_obs(nets, x[0])
            actor_actions(
                nets.actor, nets.actor_layout, act, x, ws, nets.action_low, nets.action_high,
                tanh_out, action,
            )  # fmt: skip
            obs, r, term, trunc, _ = env.step(action[0].copy())
            out[k] += float(r)
            done = bool(term or trunc)
    return out


def _obs_bounds(env: Any) -> tuple[np.ndarray, np.ndarray]:
    """The observation-space box of a ControlEnv or a Gymnasium env."""
    if isinstance(env, ControlEnv):
        return env.obs_low, env.obs_high
    space = env.observation_space
    return np.asarray(space.low, dtype=np.float64), np.asarray(space.high, dtype=np.float64)


def gym_store_step(env: Any, nets: Any, run: Any, buf: Any) -> None:
    """The Python path's ``exploration.store_step``: step a Gymnasium env with ``run.action``,
    store the transition in ``buf`` and reset at the episode's end (the env draws its own
    resets). Shared by DDPG/TD3 and SAC."""
    obs, r, term, trunc, _ = env.step(run.action.copy())
    run.next_obs[:] = np.asarray(obs, dtype=np.float64)
    scale_obs(nets, run.next_obs)
    replay_add(buf, run.obs, run.action, float(r), run.next_obs, bool(term), bool(trunc))
    run.ep_return[0] += float(r)
    run.t[0] += 1
    run.counters[0] += 1
    if term or trunc:
        end_episode(run)
        first, _ = env.reset()
        run.obs[:] = np.asarray(first, dtype=np.float64)
        scale_obs(nets, run.obs)
    else:
        run.obs[:] = run.next_obs


def gym_chunk(
    env: Any,
    nets: ActorCritic,
    run: RunState,
    buf: ReplayBuffer,
    n_steps: int,
    learning_starts: int,
    gradient_steps: int,
    act: Callable[[bool], None],
    update: Callable[[], int],
) -> tuple[int, int]:
    """``n_steps`` steps of a Gymnasium env (Python loop) with the compiled kernels, the same
    rows, draws and updates as the compiled loops (the env draws its own resets):
    ``act(uniform)`` writes the behaviour action into ``run.action`` (uniform before
    ``learning_starts``), ``update()`` is one gradient step returning OK or a divergence code.
    Returns ``(status, step)`` as the compiled loops do."""
    for _ in range(n_steps):
        step = int(run.counters[0])
        uniform = step < learning_starts
        act(uniform)
        gym_store_step(env, nets, run, buf)
        if uniform:
            continue
        for _ in range(gradient_steps):
            status = update()
            if status != OK:
                return status, step
    return OK, -1


class Setup(NamedTuple):
    """What ``start`` builds for a run (see ``train_loop``): the compiled code's train state,
    the training and the evaluation generators."""

    ts: TrainState
    rng: np.random.Generator
    eval_rng: np.random.Generator


def start(
    env: Any,
    info: EnvInfo,
    cfg: Any,
    seed: int,
    n_critics: int,
    policy_outputs: int,
    n_metrics: int,
) -> Setup:
    """Networks (``policy_outputs`` actor outputs, ``n_critics`` critics, in ``cfg.dtype``) from
    the first of three ``SeedSequence(seed)`` children, the training generator (second child)
    and the evaluation one (third), Adam states, replay, workspace and the run state with
    ``n_metrics`` metric slots (its env reset drawn from the training generator; a Gymnasium
    env is reset with ``seed``)."""
    init_seq, train_seq, eval_seq = np.random.SeedSequence(seed).spawn(3)
    real = net_dtype(cfg.dtype)
    bounds = _obs_bounds(env) if cfg.obs_scaling else (None, None)
    nets = make_actor_critic(
        info.obs_dim,
        info.action_low,
        info.action_high,
        np.random.default_rng(init_seq),
        hidden=hidden_sizes(cfg),
        n_critics=n_critics,
        activation=activation_code(cfg.activation),
        init=cfg.init,
        obs_low=bounds[0],
        obs_high=bounds[1],
        dtype=real,
        policy_outputs=policy_outputs,
    )
    rng = np.random.default_rng(train_seq)
    eval_rng = np.random.default_rng(eval_seq)
    critic_adam = adam_init(nets.critics.size, real)
    actor_adam = adam_init(nets.actor.size, real)
    buf = replay_init(min(cfg.buffer_size, cfg.total_steps), info.obs_dim, info.action_dim, real)
    ws = make_workspace(nets, cfg.batch_size)
    if info.is_control:
        fns = step_fns(env.fns)
        run = make_run_state(fns, env.params, int(env.state_dim), nets, rng, n_metrics)
    else:
        run = _blank_run_state(nets, 1, n_metrics)
        _gym_reset(env, nets, run, seed)
    ts = TrainState(
        nets, critic_adam, actor_adam, buf, ws, run, ac_fns(real, int(nets.activation[0]))
    )
    return Setup(ts, rng, eval_rng)


def _gym_reset(env: Any, nets: ActorCritic, run: RunState, seed: int | None = None) -> None:
    first, _ = env.reset(seed=seed)
    run.obs[:] = np.asarray(first, dtype=np.float64)
    scale_obs(nets, run.obs)


def update_pointer(update: Callable[..., int], *args: Any) -> Pointer:
    """The njit ``update`` (``ddpg_update``/``td3_update``/``sac_update``) compiled for
    ``args``' types and returning an int status, as the first-class function pointer the
    compiled loops call it through."""
    return Pointer(update, types.int64(*[typeof(a) for a in args]))


def mean_or_nan(total: float, count: float) -> float:
    """total / count, NaN when nothing was counted (a history row before learning starts)."""
    return total / count if count > 0 else math.nan


_INT_COLUMNS = ("step", "critic_updates", "actor_updates")


def run_chunks(
    name: str,
    env: Any,
    info: EnvInfo,
    cfg: Any,
    setup: Setup,
    chunk: Callable[[int], tuple[int, int]],
    columns: Sequence[str],
    row: Callable[[np.ndarray], dict[str, float]],
    arrays: Callable[[], dict[str, np.ndarray]],
    progress: Progress,
    loop_call: tuple[Callable[..., tuple[int, int]], tuple] | None = None,
) -> TrainOutput:
    """The training loop of the Python shell: ``chunk(n)`` runs ``n`` env steps (the compiled
    loop or ``gym_chunk``) and returns ``(status, step)``; then the deterministic actor is
    evaluated (``cfg.eval_episodes`` episodes, the evaluation generator's draws) and a history
    row recorded: ``step``, ``eval_return``, ``episode_return``, the algorithm's ``row(metrics)``
    (means over the updates since the previous row), ``critic_updates`` and ``actor_updates``,
    in the order of ``columns``. Stops after ``cfg.total_steps`` or once an evaluation reaches
    ``cfg.stop_at_return``; raises TrainingDiverged (naming the update and the env step, with
    ``arrays()`` and the history so far) on a divergence code. On a ControlEnv,
    ``loop_call`` is ``(loop, args)``, a call of the compiled loop as ``chunk`` makes it: on a
    cold Numba cache the loop and the evaluation are compiled first, on every core at once
    (``numbarl.precompile``)."""
    nets, buf, run = setup.ts.nets, setup.ts.buf, setup.ts.run
    if loop_call is not None and info.is_control:
        eval_args = (step_fns(env.fns), env.params, int(env.state_dim), int(env.max_steps), nets,
                     int(cfg.eval_episodes), setup.eval_rng,
                     ac_fns(nets.actor.dtype, int(nets.activation[0])))  # fmt: skip
        compile_calls([loop_call, (evaluate_actor, eval_args)])
    history: dict[str, list[float]] = {c: [] for c in columns}

    def as_arrays() -> dict[str, np.ndarray]:
        return {
            k: np.array(v, dtype=np.int64 if k in _INT_COLUMNS else np.float64)
            for k, v in history.items()
        }

    total = int(cfg.total_steps)
    while run.counters[0] < total:
        n = min(int(cfg.eval_every), total - int(run.counters[0]))
        run.metrics[:] = 0.0
        status, bad_step = chunk(n)
        if status != OK:
            which = _UPDATE_NAMES.get(int(status), "an")
            # the alpha step comes before the critic step counts itself
            count = int(run.counters[2] if status == ACTOR_DIVERGED else run.counters[1])
            count += int(status == ALPHA_DIVERGED)
            raise TrainingDiverged(
                f"{name} diverged: {which} update {count} (at env step {bad_step}) left "
                "non-finite parameters; arrays and history hold the values so far",
                arrays=arrays(),
                history=as_arrays(),
            )
        returns = _evaluate(nets, env, info, int(cfg.eval_episodes), setup.eval_rng)
        if not info.is_control:  # evaluation used the training env: start a fresh episode
            newest = replay_newest(buf)
            if newest >= 0 and not buf.terminated[newest]:
                buf.truncated[newest] = True
            run.ep_return[0] = 0.0
            run.t[0] = 0
            run.ou[:] = 0.0
            _gym_reset(env, nets, run)
        m = run.metrics
        values = row(m) | {
            "step": int(run.counters[0]),
            "eval_return": float(returns.mean()),
            "episode_return": mean_or_nan(m[5], m[6]),
            "critic_updates": int(run.counters[1]),
            "actor_updates": int(run.counters[2]),
        }
        for k in columns:
            history[k].append(values[k])
        if progress is not None:
            progress(float(run.counters[0]) / total)
        if returns.mean() >= cfg.stop_at_return:
            break
    return arrays(), as_arrays()


def train_loop(
    name: str,
    env: Any,
    cfg: Any,
    hp: Any,
    n_critics: int,
    seed: int,
    run_loop: Callable[..., tuple[int, int]],
    update: Callable[..., int],
    progress: Progress,
) -> TrainOutput:
    """The Python shell of ``ddpg.train`` / ``td3.train`` (``name`` "DDPG"/"TD3", ``n_critics``
    1/2, ``cfg`` its checked config, ``hp`` the compiled hyperparameters).

    Builds the networks (``start``), then runs ``eval_every`` env steps at a time
    (``run_chunks``): the compiled loop ``run_loop(fns, env_params, max_steps, ts, hp, n_steps,
    rng, update)`` (``run_ddpg``/``run_td3`` on a ControlEnv, with ``update`` as a pointer) or
    the Python env loop calling the compiled ``update(ts, hp, rng)`` (Gymnasium); evaluates,
    records a history row and stops at ``cfg.stop_at_return``.

    Returns ``(arrays, history)``: ``arrays`` holds the networks (``ActorCritic`` fields:
    ``actor``, ``critics`` real[n_critics, Pc], their targets, layouts, ``activation``, action
    bounds) for ``evaluate``; ``history`` has equal-length columns ``step``, ``eval_return``
    (mean return of the deterministic actor over ``cfg.eval_episodes``), ``episode_return``
    (mean return of training episodes ended since the previous row, NaN if none),
    ``critic_loss`` (summed over the critics), ``actor_loss``, ``q_mean`` (of Q_1; means over
    the updates since the previous row, NaN before learning starts), ``critic_updates`` and
    ``actor_updates`` (totals), one row every ``eval_every`` env steps. ``progress(fraction)``
    is called after each row. Raises TrainingDiverged (naming the update and step, with the
    arrays and history so far) when ``run_loop``/``update`` report non-finite parameters."""
    seed = check_seed(seed)
    info = check_env(env)
    with single_threaded_blas():
        setup = start(env, info, cfg, seed, n_critics, info.action_dim, N_METRICS)
        ts, rng, _ = setup
        nets, run = ts.nets, ts.run
        update_fn = update_pointer(update, ts, hp, rng)
        fns = step_fns(env.fns) if info.is_control else None

        def chunk(n: int) -> tuple[int, int]:
            if info.is_control:
                return run_loop(fns, env.params, int(env.max_steps), ts, hp, n, rng, update_fn)
            return gym_chunk(
                env, nets, run, ts.buf, n, hp.learning_starts, hp.gradient_steps,
                lambda uniform: explore_action(nets, run, run.obs, uniform, hp, rng),
                lambda: update(ts, hp, rng),
            )  # fmt: skip

        def row(m: np.ndarray) -> dict[str, float]:
            return {
                "critic_loss": mean_or_nan(m[0], m[2]),
                "q_mean": mean_or_nan(m[1], m[2]),
                "actor_loss": mean_or_nan(m[3], m[4]),
            }

        loop_call = None
        if info.is_control:  # a Gymnasium env has no fns: the Python loop, nothing to compile
            loop_call = (
                run_loop,
                (fns, env.params, int(env.max_steps), ts, hp, 1, rng, update_fn),
            )
        return run_chunks(
            name, env, info, cfg, setup, chunk, HISTORY_COLUMNS, row,
            lambda: actor_critic_arrays(nets), progress, loop_call,
        )  # fmt: skip
