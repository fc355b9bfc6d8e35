"""The Python shell shared by the on-policy gradient learners (PPO, A2C, REINFORCE, TRPO and the
off-policy importance-sampling gradient).

Each algorithm module keeps its config, kernels, compiled update ``<x>_update`` and compiled loop
``run_<x>``; ``train_policy_gradient`` does the rest the same way for all of them: check the seed,
the env and the config, build the policy and the rollout buffer, run the compiled loop in chunks of
``eval_every`` steps (or, for a Gymnasium env, Python rollouts followed by the compiled update),
check the parameters are finite, evaluate greedily, and record one history row per chunk.

Seeds: ``SeedSequence(seed).spawn(3)`` gives the policy's initialisation, the training draws
(rollouts, minibatch shuffles, ControlEnv resets) and the greedy evaluations, in that order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, get_type_hints

import numpy as np

from numbarl.deep.env_info import EnvInfo, env_info
from numbarl.deep.gym_rollout import GymVec, collect_rollout_gym, evaluate_policy, evaluation_env
from numbarl.deep.loop import loop_fns, run_updates
from numbarl.deep.policy import Policy, make_policy, policy_arrays, policy_from_arrays
from numbarl.deep.rollout import evaluate_greedy_call, make_rollout, make_vec_env
from numbarl.deep.train import Progress, TrainOutput
from numbarl.errors import TrainingDiverged
from numbarl.nn import net_dtype
from numbarl.precompile import compile_calls
from numbarl.validation import check_seed


def hyper_record(hyper: type, cfg: Any, **given: Any) -> Any:
    """The NamedTuple ``hyper`` of the numbers compiled code reads, each field taken from
    ``given`` or else from ``cfg``'s field of the same name, cast to the field's annotated type
    (``int``, ``float`` or ``bool``): an int in a float field would compile a second
    specialisation. ``given`` holds what the config does not: string choices as integer codes,
    the number of updates."""
    values = {}
    for name, kind in get_type_hints(hyper).items():
        values[name] = kind(given[name] if name in given else getattr(cfg, name))
    return hyper(**values)


def _finite(policy: Policy) -> bool:
    """``numbarl.deep.policy.params_finite`` in NumPy: the shell's check once per chunk needs
    no compiled function of its own (one taking the whole ``Policy`` costs ~0.1 s of a cold
    start)."""
    return bool(
        np.isfinite(policy.params).all()
        and np.isfinite(policy.obs_mean).all()
        and np.isfinite(policy.obs_var).all()
    )


def n_envs_of(cfg: Any, info: EnvInfo) -> int:
    """Env copies per rollout: ``cfg.n_envs`` on a ControlEnv, the copies a Gymnasium (vector)
    env holds otherwise."""
    return cfg.n_envs if info.is_control else info.n_envs


def train_policy_gradient(
    name: str,
    env: Any,
    cfg: Any,
    seed: int,
    progress: Progress,
    make_config: Callable[[Any, Any], Any],
    init: Callable[[Any, Policy, int, int], tuple],
    update: Callable[..., None],
    metric_names: tuple[str, ...],
    recorded: Callable[[Any], tuple[str, ...]] | None = None,
) -> TrainOutput:
    """Train one policy-gradient learner; returns ``(policy_arrays(policy), history)``.

    ``seed`` is checked, ``env`` read by ``env_info`` (a ValueError for unsupported spaces) and
    ``make_config(env, cfg)`` gives the checked config, with the fields every learner has
    (``total_steps``, ``n_envs``, ``n_steps``, the network fields and ``dtype``, ``eval_every``,
    ``eval_episodes``, ``stop_at_return``), all before compiled code runs. The algorithm's
    pieces:

    - ``init(cfg, policy, total_updates, batch)`` -> ``state``, a tuple of its optimiser and
      hyperparameter records (whatever its compiled functions take between the buffer and the
      update index; ``batch`` = n_envs * n_steps, the steps of each rollout);
    - ``update(policy, buf, *state, update, rng, metrics[k])``: its compiled update, run by
      the shared compiled loop (``numbarl.deep.loop.run_updates``, as a function pointer) after
      each ``collect_rollout`` on a ControlEnv, or after each ``collect_rollout_gym`` on a
      Gymnasium env;
    - ``metric_names``: the columns of its metrics array, of which ``recorded(cfg)`` (default
      all) go into the history.

    ``history`` has equal-length columns ``step``, ``eval_return`` (mean greedy return over
    ``cfg.eval_episodes``), ``episode_return`` (mean return of training episodes ended since
    the last row, NaN if none) and the recorded metrics of each row's last update, one row every
    ``eval_every`` steps rounded up to whole updates. ``progress(fraction)`` is called after each
    row; training stops early once a row's ``eval_return`` reaches ``cfg.stop_at_return``.
    Raises TrainingDiverged (with the arrays and the history so far) once the parameters become
    non-finite."""
    seed = check_seed(seed)
    info = env_info(env)
    cfg = make_config(env, cfg)
    n_envs = n_envs_of(cfg, info)
    batch = n_envs * cfg.n_steps
    total_updates = max(1, -(-cfg.total_steps // batch))
    per_chunk = max(1, -(-cfg.eval_every // batch))
    init_seq, train_seq, eval_seq = np.random.SeedSequence(seed).spawn(3)
    policy = make_policy(
        info,
        np.random.default_rng(init_seq),
        hidden=(cfg.hidden,) * cfg.n_layers,
        activation=cfg.activation,
        log_std_init=cfg.log_std_init,
        obs_norm=cfg.obs_norm,
        dtype=net_dtype(cfg.dtype),
    )
    rng = np.random.default_rng(train_seq)
    eval_rng = np.random.default_rng(eval_seq)
    state = init(cfg, policy, total_updates, batch)
    buf = make_rollout(cfg.n_steps, n_envs, info.obs_dim, info.action_dim, policy.params.dtype)
    if info.is_control:
        vec = make_vec_env(env, n_envs, policy, rng)
        fns = loop_fns(update, vec, policy, buf, state, rng, np.zeros(len(metric_names)))
    else:
        gym_vec = GymVec(env, policy, seed=seed)
    eval_env, shared = evaluation_env(env, info)
    eval_info = env_info(eval_env)
    recorded = metric_names if recorded is None else recorded(cfg)
    columns: dict[str, list[float]] = {"step": [], "eval_return": [], "episode_return": []}
    for m in recorded:
        columns[m] = []

    def history() -> dict[str, np.ndarray]:
        return {
            k: np.array(v, dtype=np.int64 if k == "step" else np.float64)
            for k, v in columns.items()
        }

    if info.is_control:  # a cold Numba cache: compile the loop's kernels on every core at once
        calls = [
            (run_updates, (vec, policy, buf, state, 0, 1, rng, np.zeros((1, len(metric_names))),
                           np.zeros(2), fns)),
        ]  # fmt: skip
        if eval_info.is_control:
            calls.append(
                evaluate_greedy_call(
                    eval_env.fns, eval_env.params, int(eval_env.max_steps),
                    int(eval_env.state_dim), policy, int(cfg.eval_episodes), eval_rng,
                )
            )  # fmt: skip
        compile_calls(calls)
    done = 0
    while done < total_updates:
        n = min(per_chunk, total_updates - done)
        metrics = np.zeros((n, len(metric_names)))
        stats = np.zeros(2)
        if info.is_control:
            completed = run_updates(vec, policy, buf, state, done, n, rng, metrics, stats, fns)
        else:
            completed = 0
            for k in range(n):
                collect_rollout_gym(gym_vec, policy, buf, rng)
                stats += (buf.n_ended[0], buf.ended_returns[: buf.n_ended[0]].sum())
                update(policy, buf, *state, done + k, rng, metrics[k])
                completed = k + 1
                if not _finite(policy):
                    break
        done += completed
        step = done * batch
        if not _finite(policy):
            raise TrainingDiverged(
                f"{name} diverged: non-finite parameters after update {done} of "
                f"{total_updates} (step {step}); arrays hold those parameters, history the rows "
                "recorded before",
                arrays=policy_arrays(policy),
                history=history(),
            )
        returns = evaluate_policy(policy, eval_env, eval_info, cfg.eval_episodes, eval_rng)
        if shared:  # evaluation reset the training env: start its episodes afresh
            gym_vec = GymVec(env, policy, seed=None)
        columns["step"].append(step)
        columns["eval_return"].append(float(returns.mean()))
        columns["episode_return"].append(stats[1] / stats[0] if stats[0] > 0 else math.nan)
        for c, m in enumerate(metric_names):
            if m in columns:
                columns[m].append(float(metrics[completed - 1, c]))
        if progress is not None:
            progress(done / total_updates)
        if returns.mean() >= cfg.stop_at_return:
            break
    return policy_arrays(policy), history()


def evaluate(arrays: dict[str, np.ndarray], env: Any, episodes: int, seed: int) -> np.ndarray:
    """Greedy (argmax / Gaussian mean) undiscounted returns float64[episodes] of the policy in
    ``arrays`` (from a learner's ``train``) on a ControlEnv or a Gymnasium env (a vector env
    is evaluated on a single env made from its spec)."""
    seed = check_seed(seed)
    if isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    policy = policy_from_arrays(arrays)
    info = env_info(env)
    if info.obs_dim != policy.obs_mean.shape[0] or info.n_actions != int(policy.head[1]):
        raise ValueError("the policy in arrays does not fit env's observation/action spaces")
    eval_env, _ = evaluation_env(env, info)
    eval_info = env_info(eval_env)
    if eval_info.n_envs > 1:
        raise ValueError("a gymnasium.vector env without a spec cannot be evaluated greedily")
    return evaluate_policy(policy, eval_env, eval_info, int(episodes), np.random.default_rng(seed))


__all__ = [
    "check_seed",
    "evaluate",
    "hyper_record",
    "n_envs_of",
    "train_policy_gradient",
]
