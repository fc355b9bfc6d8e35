"""DQN: wall time to solve CartPole-v1 (warm cache) and the cost of one gradient step.

Design targets: DQN solves CartPole-v1 (mean greedy return >= 475 over 20 episodes) in under 3 s.
A DQN gradient step (sample 64 transitions, target-net forward, online forward/backward,
Huber loss, clipping, Adam) on the 4-64-64-2 ReLU network (the tuned width) and on
4-256-256-2 (rl-zoo3's CartPole width), in float32 (the default) and float64, beside PyTorch
(one thread, float32) doing the same step (extras).
Run: .venv/bin/pytest tests/benchmarks/test_bench_dqn.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest

from numbarl.deep import dqn, replay
from numbarl.envs import make
from numbarl.nn import qnet as qn

BATCH = 64
OBS_DIM, N_ACTIONS = 4, 2
DTYPES = ["float32", "float64"]


def test_bench_dqn_solves_cartpole(benchmark):
    env = make("CartPole-v1")
    dqn.train(env, {"total_steps": 1_100, "eval_every": 1_100}, 0)  # load the compiled code
    results = []

    def solve():
        arrays, history = dqn.train(env, None, 0)
        results.append((arrays, history))

    benchmark.pedantic(solve, rounds=3, iterations=1)
    arrays, history = results[-1]
    score = float(dqn.evaluate(arrays, env, 20, 10_000).mean())
    benchmark.extra_info["env_steps"] = int(history["step"][-1])
    benchmark.extra_info["greedy_return_20"] = score
    benchmark.extra_info["seconds"] = benchmark.stats.stats.median
    assert score >= 475.0


def _filled_buffer(
    rng: np.random.Generator, dtype: np.dtype, size: int = 5_000
) -> replay.ReplayBuffer:
    buf = replay.replay_init(10_000, OBS_DIM, 1, dtype)
    for i in range(size):
        replay.replay_add(
            buf,
            rng.standard_normal(OBS_DIM),
            np.array([float(rng.integers(N_ACTIONS))]),
            1.0,
            rng.standard_normal(OBS_DIM),
            bool(i % 50 == 49),
            False,
        )
    return buf


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "switches, hidden",
    [("dqn", 64), ("rainbow", 64), ("dqn", 256)],
    ids=["dqn", "rainbow", "dqn256"],
)
def test_bench_dqn_gradient_step(benchmark, switches, hidden, dtype):
    rng = np.random.default_rng(0)
    overrides = {"batch_size": BATCH, "hidden": hidden, "depth": 2, "dtype": dtype}
    if switches == "rainbow":
        overrides.update({**dqn.RAINBOW, "n_atoms": 51, "v_min": 0.0, "v_max": 100.0})
    cfg = dqn.make_dqn_config(None, overrides)
    net = dqn._net_for(cfg, OBS_DIM, N_ACTIONS)
    dt = np.dtype(dtype)
    st = dqn._make_state(net, cfg, qn.qnet_init(net, rng, 0.5, dt), OBS_DIM, OBS_DIM)
    buf = _filled_buffer(rng, dt)
    tree = replay.sumtree_init(10_000)
    for i in range(replay.replay_size(buf)):
        replay.sumtree_update(tree, i, 1.0)
    hp = dqn.hyper(cfg)
    dqn.dqn_update(hp, net, st, buf, tree, rng, 0.4)  # compile / load
    benchmark(dqn.dqn_update, hp, net, st, buf, tree, rng, 0.4)
    benchmark.extra_info["updates_per_second"] = 1.0 / benchmark.stats.stats.median
    assert np.isfinite(st.params).all() and st.params.dtype == dt


@pytest.mark.extras
@pytest.mark.parametrize("hidden", [64, 256])
def test_bench_dqn_gradient_step_torch(benchmark, hidden):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    torch.manual_seed(0)

    def q_net():
        return torch.nn.Sequential(
            torch.nn.Linear(OBS_DIM, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, N_ACTIONS),
        )

    online, target = q_net(), q_net()
    target.load_state_dict(online.state_dict())
    opt = torch.optim.Adam(online.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    n = 5_000
    obs = torch.from_numpy(rng.standard_normal((n, OBS_DIM)).astype(np.float32))
    next_obs = torch.from_numpy(rng.standard_normal((n, OBS_DIM)).astype(np.float32))
    actions = torch.from_numpy(rng.integers(N_ACTIONS, size=n))
    rewards = torch.ones(n, dtype=torch.float32)
    discounts = torch.from_numpy(np.where(np.arange(n) % 50 == 49, 0.0, 0.99).astype(np.float32))

    def update():
        idx = torch.randint(n, (BATCH,))
        with torch.no_grad():
            y = rewards[idx] + discounts[idx] * target(next_obs[idx]).max(dim=1).values
        q = online(obs[idx]).gather(1, actions[idx].unsqueeze(1)).squeeze(1)
        loss = torch.nn.functional.smooth_l1_loss(q, y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(online.parameters(), 10.0)
        opt.step()

    update()
    benchmark(update)
    benchmark.extra_info["updates_per_second"] = 1.0 / benchmark.stats.stats.median
