"""The compiled training loop of the on-policy gradient learners (PPO, A2C, TRPO, REINFORCE and
the off-policy importance-sampling gradient): collect a rollout, tally its ended episodes, update,
check the parameters; ``n_updates`` times.

The rollout collector and the learner's update reach the loop as first-class function pointers
(``LoopFns``, Numba ``FunctionType``), not as direct calls. Why: Numba compiles every njit
function into its own LLVM module, and compiling a caller links in the modules of all its callees
and optimises and emits their machine code again. A loop that called ``collect_rollout`` and
``ppo_update`` directly compiled both a second time, inside the loop (~3 s of PPO's ~30 s cold
compile); through pointers each is compiled once and the loop calls its address. The loop's
cache key holds the pointers' signatures, not the functions, so it loads from Numba's disk cache
in a later process, and one loop serves every learner. One indirect call per rollout or update
costs nothing measurable. (A pointer call cannot raise: an exception inside the callee would be
printed and the loop would go on; the collector and the updates raise none.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numba import typeof, types

from numbarl.deep.policy import Policy, params_finite
from numbarl.deep.rollout import Rollout, VecEnv, collector, count_ended
from numbarl.envs.control.core import FunctionPointer
from numbarl.nn.kernel import python_kernel
from numbarl.nn.pointers import Pointer, cache_numba_type


@cache_numba_type
class LoopFns(NamedTuple):
    """What ``run_updates`` calls: ``collect(vec, policy, buf, rng)`` fills the rollout,
    ``update(policy, buf, *state, update, rng, metrics_row)`` is the learner's update."""

    collect: FunctionPointer
    update: FunctionPointer


def loop_fns(
    update: Callable[..., None],
    vec: VecEnv,
    policy: Policy,
    buf: Rollout,
    state: tuple,
    rng: np.random.Generator,
    metrics_row: np.ndarray,
) -> LoopFns:
    """The policy's rollout collector (``collector``) and the njit ``update`` as pointers
    compiled for these arguments' types (``metrics_row`` float64[n_metrics]: one row of
    ``run_updates``'s ``metrics``)."""
    collect_sig = types.none(typeof(vec), typeof(policy), typeof(buf), typeof(rng))
    update_sig = types.none(
        typeof(policy), typeof(buf), *[typeof(s) for s in state], types.int64, typeof(rng),
        typeof(metrics_row),
    )  # fmt: skip
    return LoopFns(Pointer(collector(policy), collect_sig), Pointer(update, update_sig))


@python_kernel(cache=True)
def run_updates(
    vec: VecEnv,
    policy: Policy,
    buf: Rollout,
    state: tuple,
    first_update: int,
    n_updates: int,
    rng: np.random.Generator,
    metrics: np.ndarray,
    episode_stats: np.ndarray,
    fns: LoopFns,
) -> int:
    """Run updates ``first_update .. first_update + n_updates - 1`` (collect, then
    ``fns.update(policy, buf, *state, update, rng, metrics[k])``).

    ``metrics`` float64[n_updates, n_metrics] receives each update's metrics; ``episode_stats``
    float64[2] accumulates (episodes ended, sum of their returns). Returns the number of
    updates completed; fewer than ``n_updates`` means the parameters became non-finite in the
    last one (it is counted)."""
    for k in range(n_updates):
        fns.collect(vec, policy, buf, rng)
        count_ended(buf, episode_stats)
        fns.update(policy, buf, *state, first_update + k, rng, metrics[k])
        if not params_finite(policy):
            return k + 1
    return n_updates


__all__ = ["LoopFns", "loop_fns", "run_updates"]
