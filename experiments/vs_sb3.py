"""numbarl and Stable-Baselines3 side by side, in one process (comparison extras: torch, SB3).

Two comparisons, each side timed on one thread (``torch.set_num_threads(1)``; numbarl's loops
are single-threaded and run BLAS on one thread), in CPU seconds of this process
(``time.process_time``) and wall seconds:

- **same work** (``task=same_work``): rl-zoo3's row for the algorithm and env, run by SB3 as the
  zoo runs it and by numbarl with the same hyperparameters at SB3's own network widths
  (`ZOO`, mapped by `numbarl_zoo_config`; what numbarl cannot express exactly is listed in
  `DIFFERENCES`). numbarl evaluates its policy once at the end of the run, on its clock.
- **time to solve** (``task=solve``): each side's best config, until a greedy evaluation reaches
  the goal (CartPole-v1: a mean of 475 over 20 episodes; Pendulum-v1: -200 over 10). SB3 runs
  the zoo row with an evaluation every `SOLVE_EVAL` steps whose time is taken off its clock;
  numbarl runs its tuned config (``numbarl.train`` with no flags; on Pendulum with
  ``stop_at_return=-200``), its evaluations on its clock. A side that does not reach the goal
  within its budget is recorded with ``solved=False`` and the time of its whole budget.

Every run's final policy is also scored on 20 fresh episodes (evaluation seeds 10,000 + seed
that training never used), off both clocks (``fresh_return``).

The two sides alternate run by run (numbarl, SB3, numbarl, ...), so load from other work on the
machine falls on both. ``tests/benchmarks/test_bench_vs_sb3.py`` calls these functions under
``make bench``; this script writes ``results/vs_sb3.csv`` (one row per side, task, algorithm
and seed, with the config as columns) and prints the table::

    .venv/bin/python experiments/vs_sb3.py                        # everything (~15 min quiet)
    .venv/bin/python experiments/vs_sb3.py --tasks same_work --algos ppo dqn --seeds 1
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import numbarl
from numbarl.api import config_class
from numbarl.results import write_csv

ALGOS = ("ppo", "dqn", "td3", "ddpg")
TASKS = ("same_work", "solve")
ENVS = {"ppo": "CartPole-v1", "dqn": "CartPole-v1", "td3": "Pendulum-v1", "ddpg": "Pendulum-v1"}
GOALS = {"CartPole-v1": 475.0, "Pendulum-v1": -200.0}
FRESH_EPISODES = 20
FRESH_SEED = 10_000  # fresh evaluation seeds 10,000 + seed: never used in training
SOLVE_EVAL_SEED = 20_000  # SB3's in-training evaluations draw from 20,000 + seed
# SB3's in-training evaluation while it solves: every N env steps, M episodes (numbarl's tuned
# rows evaluate as often: PPO every 4,096 steps over 20 episodes, DQN every 500 over 20, DDPG
# and TD3 every 1,000 over 10).
SOLVE_EVAL = {"ppo": (4096, 20), "dqn": (500, 20), "td3": (1000, 10), "ddpg": (1000, 10)}

# rl-zoo3's rows (hyperparams/ppo.yml, dqn.yml, td3.yml, ddpg.yml), with SB3's defaults for the
# fields the zoo leaves out. ``lin_x`` is the zoo's linear schedule x * progress_remaining.
ZOO: dict[str, dict[str, Any]] = {
    # ppo.yml CartPole-v1: n_envs 8, n_timesteps 1e5, n_steps 32, batch_size 256,
    # gae_lambda 0.8, gamma 0.98, n_epochs 20, ent_coef 0.0, learning_rate lin_1e-3,
    # clip_range lin_0.2; SB3 defaults: 64x64 tanh for the actor and the critic, vf_coef 0.5,
    # max_grad_norm 0.5, normalized advantages, no value clipping, Adam eps 1e-5.
    "ppo": dict(
        n_timesteps=100_000,
        n_envs=8,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        ent_coef=0.0,
        learning_rate="lin_1e-3",
        clip_range="lin_0.2",
        net_arch="64x64",
    ),
    # dqn.yml CartPole-v1: n_timesteps 5e4, learning_rate 2.3e-3, batch_size 64,
    # buffer_size 100000, learning_starts 1000, gamma 0.99, target_update_interval 10,
    # train_freq 256, gradient_steps 128, exploration_fraction 0.16,
    # exploration_final_eps 0.04, net_arch [256, 256]; SB3 defaults: ReLU, Huber loss,
    # max_grad_norm 10, tau 1 (a copy), exploration_initial_eps 1.0, Adam eps 1e-8.
    "dqn": dict(
        n_timesteps=50_000,
        learning_rate=2.3e-3,
        batch_size=64,
        buffer_size=100_000,
        learning_starts=1_000,
        gamma=0.99,
        target_update_interval=10,
        train_freq=256,
        gradient_steps=128,
        exploration_fraction=0.16,
        exploration_final_eps=0.04,
        net_arch="256x256",
    ),
    # td3.yml Pendulum-v1: n_timesteps 20000, gamma 0.98, buffer_size 200000,
    # learning_starts 10000, noise_type normal, noise_std 0.1, gradient_steps -1,
    # train_freq [1, "episode"], learning_rate 1e-3, net_arch [400, 300]; SB3 defaults:
    # batch_size 256, tau 0.005, policy_delay 2, target_policy_noise 0.2,
    # target_noise_clip 0.5, ReLU.
    "td3": dict(
        n_timesteps=20_000,
        gamma=0.98,
        buffer_size=200_000,
        learning_starts=10_000,
        noise_std=0.1,
        gradient_steps=-1,
        train_freq="1 episode",
        learning_rate=1e-3,
        batch_size=256,
        tau=0.005,
        net_arch="400x300",
    ),
}
# ddpg.yml Pendulum-v1 is td3.yml's row (SB3's DDPG: one critic, no delay, no target noise).
ZOO["ddpg"] = dict(ZOO["td3"])

# What numbarl's mapping of the zoo row cannot express exactly.
DIFFERENCES: dict[str, str] = {
    "ppo": "clip range constant 0.2 (zoo: annealed linearly to 0)",
    "dqn": "none in the hyperparameters",
    "td3": "one update per env step after learning_starts (zoo: 200 after each 200-step "
    "episode: the same 10,000 updates)",
    "ddpg": "one update per env step after learning_starts (zoo: 200 after each 200-step "
    "episode: the same 10,000 updates)",
}


def _fields(algo: str) -> tuple[str, ...]:
    return config_class(algo)._fields


def numbarl_zoo_config(algo: str, total_steps: int | None = None) -> dict[str, Any]:
    """Every config field of numbarl's ``algo`` for the zoo row's work: the class defaults
    (not numbarl's tuned row), then the zoo's values mapped onto numbarl's names, then one
    evaluation at the end of the run."""
    z = ZOO[algo]
    steps = int(total_steps or z["n_timesteps"])
    if algo == "ppo":
        mapped = dict(
            total_steps=steps,
            n_envs=z["n_envs"],
            n_steps=z["n_steps"],
            n_epochs=z["n_epochs"],
            n_minibatches=z["n_envs"] * z["n_steps"] // z["batch_size"],
            lr=1e-3,
            anneal_lr=True,
            gamma=z["gamma"],
            gae_lambda=z["gae_lambda"],
            clip_coef=0.2,
            clip_vloss=False,
            ent_coef=z["ent_coef"],
            vf_coef=0.5,
            max_grad_norm=0.5,
            norm_adv=True,
            hidden=64,
            n_layers=2,
            activation="tanh",
            obs_norm=False,
            eval_every=steps,
            eval_episodes=FRESH_EPISODES,
        )
    elif algo == "dqn":
        mapped = dict(
            total_steps=steps,
            buffer_size=z["buffer_size"],
            batch_size=z["batch_size"],
            learning_starts=z["learning_starts"],
            train_frequency=z["train_freq"],
            gradient_steps=z["gradient_steps"],
            lr=z["learning_rate"],
            adam_eps=1e-8,
            gamma=z["gamma"],
            hidden=256,
            depth=2,
            activation="relu",
            loss="huber",
            max_grad_norm=10.0,
            target_update_every=z["target_update_interval"],
            tau=1.0,
            epsilon_start=1.0,
            epsilon_end=z["exploration_final_eps"],
            exploration_fraction=z["exploration_fraction"],
            eval_every=steps,
            eval_episodes=FRESH_EPISODES,
        )
    else:  # td3, ddpg
        mapped = dict(
            total_steps=steps,
            learning_starts=min(z["learning_starts"], steps // 2),
            buffer_size=z["buffer_size"],
            batch_size=z["batch_size"],
            gamma=z["gamma"],
            tau=z["tau"],
            actor_lr=z["learning_rate"],
            critic_lr=z["learning_rate"],
            hidden=400,
            n_layers=2,
            activation="relu",
            noise="gaussian",
            exploration_noise=z["noise_std"],
            gradient_steps=1,
            eval_every=steps,
            eval_episodes=10,
        )
        if "hidden2" in _fields(algo):
            mapped["hidden2"] = 300
        if algo == "td3":
            mapped.update(policy_delay=2, target_noise=0.2, noise_clip=0.5)
    defaults = config_class(algo)()._asdict()
    return {**defaults, **mapped, "stop_at_return": math.inf}


def numbarl_net_arch(algo: str, cfg: dict[str, Any]) -> str:
    if algo == "dqn":
        return "x".join([str(cfg["hidden"])] * cfg["depth"])
    widths = [cfg["hidden"]] * cfg["n_layers"]
    if cfg.get("hidden2") and len(widths) >= 2:
        widths[1] = cfg["hidden2"]
    return "x".join(map(str, widths))


# ---------------------------------------------------------------------------------------------
# Clocks


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(fn(), CPU seconds of this process, wall seconds)."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def one_thread() -> None:
    """Torch on one thread (numbarl's loops are single-threaded; numbarl.train runs BLAS on
    one thread itself)."""
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before torch's first parallel work
        pass


def have_extras() -> bool:
    try:
        import stable_baselines3  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# numbarl's side


def _numbarl_row(algo: str, task: str, seed: int, res, cpu: float, wall: float, goal: float):
    hist = res.history
    cfg = dict(res.config._asdict())
    last = float(hist["eval_return"].iloc[-1])
    fresh = float(numbarl.evaluate(res, episodes=FRESH_EPISODES, seed=FRESH_SEED + seed).mean())
    stop = cfg.get("stop_at_return", math.inf)
    return dict(
        side="numbarl",
        task=task,
        algorithm=algo,
        env=ENVS[algo],
        seed=seed,
        steps=int(hist["step"].iloc[-1]),
        seconds=cpu,
        wall_seconds=wall,
        eval_seconds_excluded=0.0,
        goal=goal,
        solved=bool(last >= stop) if task == "solve" else None,
        last_eval_return=last,
        fresh_return=fresh,
        net_arch=numbarl_net_arch(algo, cfg),
        dtype=cfg.get("dtype", "float64"),
        **{f"numbarl.{k}": v for k, v in cfg.items()},
    )


def warm_numbarl(algo: str) -> None:
    """Compile (or load from Numba's cache) what the timed runs use, off the clock."""
    cfg = numbarl_zoo_config(algo, total_steps=1_024 if algo != "ppo" else 2_048)
    cfg.update(eval_episodes=1)
    if algo == "dqn":
        cfg.update(learning_starts=300, train_frequency=16, gradient_steps=2)
    res = numbarl.train(algo, ENVS[algo], seed=0, **cfg)
    numbarl.evaluate(res, episodes=1, seed=0)
    numbarl.train(algo, ENVS[algo], seed=0, total_steps=cfg["total_steps"], eval_episodes=1)


def numbarl_same_work(algo: str, seed: int, total_steps: int | None = None) -> dict:
    cfg = numbarl_zoo_config(algo, total_steps)
    res, cpu, wall = timed(lambda: numbarl.train(algo, ENVS[algo], seed=seed, **cfg))
    return _numbarl_row(algo, "same_work", seed, res, cpu, wall, GOALS[ENVS[algo]])


def numbarl_solve(algo: str, seed: int) -> dict:
    """numbarl's tuned config (no flags); on Pendulum, stop at the goal (its tuned rows run
    their whole budget)."""
    extra = {} if ENVS[algo] == "CartPole-v1" else {"stop_at_return": GOALS[ENVS[algo]]}
    res, cpu, wall = timed(lambda: numbarl.train(algo, ENVS[algo], seed=seed, **extra))
    return _numbarl_row(algo, "solve", seed, res, cpu, wall, GOALS[ENVS[algo]])


# ---------------------------------------------------------------------------------------------
# SB3's side


def _linear(start: float) -> Callable[[float], float]:
    """rl-zoo3's ``lin_<start>``: start * progress_remaining."""
    return lambda progress_remaining: start * progress_remaining


def sb3_model(algo: str, seed: int, total_steps: int | None = None, env_id: str | None = None):
    """SB3's model for the zoo row, as rl-zoo3 builds it, on Gymnasium's env (or on ``env_id``,
    e.g. numbarl's ``numbarl/CartPole-v1``; tests/test_sb3_extra.py trains that one)."""
    import gymnasium as gym
    import stable_baselines3 as sb3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.noise import NormalActionNoise

    z = ZOO[algo]
    env_id = env_id or ENVS[algo]
    common = dict(seed=seed, device="cpu", verbose=0)
    no_render = {"render_mode": None}  # make_vec_env asks for rgb_array, which numbarl's envs lack
    if algo == "ppo":
        venv = make_vec_env(env_id, n_envs=z["n_envs"], seed=seed, env_kwargs=no_render)
        return sb3.PPO(
            "MlpPolicy",
            venv,
            n_steps=z["n_steps"],
            batch_size=z["batch_size"],
            gae_lambda=z["gae_lambda"],
            gamma=z["gamma"],
            n_epochs=z["n_epochs"],
            ent_coef=z["ent_coef"],
            learning_rate=_linear(1e-3),
            clip_range=_linear(0.2),
            **common,
        )
    venv = make_vec_env(env_id, n_envs=1, seed=seed, env_kwargs=no_render)
    if algo == "dqn":
        return sb3.DQN(
            "MlpPolicy",
            venv,
            learning_rate=z["learning_rate"],
            batch_size=z["batch_size"],
            buffer_size=z["buffer_size"],
            learning_starts=z["learning_starts"],
            gamma=z["gamma"],
            target_update_interval=z["target_update_interval"],
            train_freq=z["train_freq"],
            gradient_steps=z["gradient_steps"],
            exploration_fraction=z["exploration_fraction"],
            exploration_final_eps=z["exploration_final_eps"],
            policy_kwargs=dict(net_arch=[256, 256]),
            **common,
        )
    steps = int(total_steps or z["n_timesteps"])
    cls = sb3.TD3 if algo == "td3" else sb3.DDPG
    n_actions = gym.make(env_id).action_space.shape[0]
    return cls(
        "MlpPolicy",
        venv,
        learning_rate=z["learning_rate"],
        buffer_size=z["buffer_size"],
        learning_starts=min(z["learning_starts"], steps // 2),
        batch_size=z["batch_size"],
        tau=z["tau"],
        gamma=z["gamma"],
        train_freq=(1, "episode"),
        gradient_steps=-1,
        action_noise=NormalActionNoise(np.zeros(n_actions), z["noise_std"] * np.ones(n_actions)),
        policy_kwargs=dict(net_arch=[400, 300]),
        **common,
    )


def sb3_fresh_return(model, env_id: str, seed: int, episodes: int = FRESH_EPISODES) -> float:
    import gymnasium as gym
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    env = Monitor(gym.make(env_id))
    env.reset(seed=seed)
    mean, _ = evaluate_policy(model, env, n_eval_episodes=episodes, deterministic=True)
    return float(mean)


def _sb3_row(algo, task, seed, model, cpu, wall, excluded, steps, solved, last):
    z = ZOO[algo]
    return dict(
        side="sb3",
        task=task,
        algorithm=algo,
        env=ENVS[algo],
        seed=seed,
        steps=int(steps),
        seconds=cpu,
        wall_seconds=wall,
        eval_seconds_excluded=excluded,
        goal=GOALS[ENVS[algo]],
        solved=solved,
        last_eval_return=last,
        fresh_return=sb3_fresh_return(model, ENVS[algo], FRESH_SEED + seed),
        net_arch=z["net_arch"],
        dtype="float32",
        **{f"zoo.{k}": v for k, v in z.items()},
    )


def sb3_same_work(algo: str, seed: int, total_steps: int | None = None) -> dict:
    steps = int(total_steps or ZOO[algo]["n_timesteps"])

    def run():
        model = sb3_model(algo, seed, steps)
        model.learn(total_timesteps=steps)
        return model

    one_thread()
    model, cpu, wall = timed(run)
    return _sb3_row(algo, "same_work", seed, model, cpu, wall, 0.0, model.num_timesteps, None, None)


def _stop_at_goal_callback(algo: str, seed: int):
    """An SB3 callback that evaluates greedily every ``SOLVE_EVAL[algo]`` env steps, stops
    training at the goal, and keeps the CPU and wall seconds its evaluations took."""
    import gymnasium as gym
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    every, episodes = SOLVE_EVAL[algo]
    goal = GOALS[ENVS[algo]]

    class StopAtGoal(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.env = Monitor(gym.make(ENVS[algo]))
            self.env.reset(seed=SOLVE_EVAL_SEED + seed)
            self.next_eval = every
            self.cpu = self.wall = 0.0
            self.solved_at: int | None = None
            self.last = math.nan

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_eval:
                return True
            self.next_eval += every
            (mean, _), cpu, wall = timed(
                lambda: evaluate_policy(
                    self.model, self.env, n_eval_episodes=episodes, deterministic=True
                )
            )
            self.cpu += cpu
            self.wall += wall
            self.last = float(mean)
            if mean >= goal:
                self.solved_at = self.num_timesteps
                return False
            return True

    return StopAtGoal()


def sb3_solve(algo: str, seed: int, total_steps: int | None = None) -> dict:
    """SB3 on the zoo row until an evaluation reaches the goal (evaluations off the clock)."""
    steps = int(total_steps or ZOO[algo]["n_timesteps"])
    callback = _stop_at_goal_callback(algo, seed)

    def run():
        model = sb3_model(algo, seed, steps)
        model.learn(total_timesteps=steps, callback=callback)
        return model

    one_thread()
    model, cpu, wall = timed(run)
    return _sb3_row(
        algo,
        "solve",
        seed,
        model,
        cpu - callback.cpu,
        wall - callback.wall,
        callback.cpu,
        model.num_timesteps,
        callback.solved_at is not None,
        callback.last,
    )


def warm_sb3(algo: str) -> None:
    """Import SB3 and torch and run a few steps, off the clock."""
    one_thread()
    steps = 512 if algo == "ppo" else 300
    model = sb3_model(algo, 0, steps)
    model.learn(total_timesteps=steps)


# ---------------------------------------------------------------------------------------------
# Both sides


def compare(
    algos: Sequence[str] = ALGOS,
    tasks: Sequence[str] = TASKS,
    seeds: Sequence[int] | dict[str, Sequence[int]] = (0,),
    sides: Sequence[str] = ("numbarl", "sb3"),
    total_steps: int | None = None,
    on_row: Callable[[dict], None] | None = None,
) -> pd.DataFrame:
    """Every (task, algorithm, seed) on each side in ``sides``, alternating sides run by run;
    ``seeds`` may map a task to its seeds. ``total_steps`` shortens the same-work runs (and
    caps SB3's solve runs) for smoke tests. ``on_row`` sees each row as it is measured."""
    rows = []
    for algo in algos:
        if "numbarl" in sides:
            warm_numbarl(algo)
        if "sb3" in sides:
            warm_sb3(algo)
        for task in tasks:
            task_seeds = seeds[task] if isinstance(seeds, dict) else seeds
            for seed in task_seeds:
                for side in sides:
                    if task == "same_work":
                        fn = numbarl_same_work if side == "numbarl" else sb3_same_work
                        row = fn(algo, seed, total_steps)
                    elif side == "numbarl":
                        row = numbarl_solve(algo, seed)
                    else:
                        row = sb3_solve(algo, seed, total_steps)
                    row["differences"] = DIFFERENCES[algo] if side == "numbarl" else ""
                    rows.append(row)
                    if on_row is not None:
                        on_row(row)
    return pd.DataFrame(rows)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """One line per (task, algorithm): each side's median CPU and wall seconds, steps, seeds
    solved and fresh return, and SB3's CPU seconds over numbarl's."""
    out = []
    for (task, algo), g in df.groupby(["task", "algorithm"], sort=False):
        line: dict[str, Any] = {"task": task, "algorithm": algo, "env": ENVS[algo]}
        for side, s in g.groupby("side"):
            line[f"{side}_net"] = s["net_arch"].iloc[0]
            line[f"{side}_cpu_s"] = float(s["seconds"].median())
            line[f"{side}_wall_s"] = float(s["wall_seconds"].median())
            line[f"{side}_steps"] = int(s["steps"].median())
            line[f"{side}_fresh"] = float(s["fresh_return"].median())
            if task == "solve":
                line[f"{side}_solved"] = f"{int(s['solved'].astype(bool).sum())}/{len(s)}"
            line["seeds"] = len(s)
        if "sb3_cpu_s" in line and "numbarl_cpu_s" in line:
            line["ratio"] = line["sb3_cpu_s"] / line["numbarl_cpu_s"]
        out.append(line)
    return pd.DataFrame(out)


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument(
        "--sides", nargs="+", default=["numbarl", "sb3"], choices=["numbarl", "sb3"]
    )
    parser.add_argument(
        "--seeds", type=int, default=None, help="seeds per task (1 same work, 5 solve)"
    )
    parser.add_argument("--steps", type=int, default=None, help="shorter runs, for smoke tests")
    parser.add_argument("--out", type=Path, default=Path("results") / "vs_sb3.csv")
    parser.add_argument("--append", action="store_true", help="keep the rows already in --out")
    parser.add_argument(
        "--combine", nargs="+", type=Path, default=None, metavar="CSV",
        help="measure nothing: concatenate these CSVs of earlier runs into --out, print the table",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.combine:
        df = pd.concat([pd.read_csv(f) for f in args.combine], ignore_index=True)
        write_csv(df, args.out)
        _print_table(df)
        return df
    if not have_extras():
        raise SystemExit("needs the comparison extras: pip install -e '.[compare]'")
    seeds = {"same_work": range(args.seeds or 1), "solve": range(args.seeds or 5)}
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    done: list[dict] = []
    old = pd.read_csv(args.out) if args.append and args.out.exists() else None

    def on_row(row: dict) -> None:
        done.append(row)
        print(
            f"{row['task']:<9} {row['algorithm']:<4} {row['side']:<7} seed {row['seed']}"
            f" {row['net_arch']:>7} {row['dtype']}: {row['seconds']:7.2f} s CPU"
            f" ({row['wall_seconds']:.1f} s wall), {row['steps']} steps,"
            f" fresh return {row['fresh_return']:.1f}"
            + (f", solved {row['solved']}" if row["task"] == "solve" else ""),
            flush=True,
        )
        frame = pd.DataFrame(done)
        if old is not None:
            frame = pd.concat([old, frame], ignore_index=True)
        write_csv(frame, args.out)  # after every run: an interrupted comparison keeps its rows

    df = compare(args.algos, args.tasks, seeds, args.sides, args.steps, on_row)
    if old is not None:
        df = pd.concat([old, df], ignore_index=True)
    _print_table(df)
    return df


def _print_table(df: pd.DataFrame) -> None:
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(summary(df).round(2).to_string(index=False))


if __name__ == "__main__":
    main()
