"""DDPG and TD3: wall seconds to reach -200 on Pendulum-v1, and the time of one gradient step.

Design target: TD3 or DDPG reaches a mean deterministic return of -200 on Pendulum-v1 in under
10 s of wall time (warm Numba cache). A gradient step (sample, target, critic Adam step, actor
Adam step through the critic, Polyak) is timed in float32 and float64 on the tuned Pendulum
networks (64-64, batch 64), the reference ones (256-256, batch 256) and rl-zoo3's (SB3's
net_arch [400, 300], batch 256), beside PyTorch doing the same step on one thread (extras).
Run: .venv/bin/pytest tests/benchmarks/test_bench_ddpg_td3.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest

from numbarl import nn
from numbarl.deep import actor_critic as ac
from numbarl.deep import ddpg, td3
from numbarl.deep import exploration as ex
from numbarl.deep.replay import replay_init
from numbarl.envs import make
from numbarl.nn.threads import single_threaded_blas

MODULES = {"ddpg": ddpg, "td3": td3}
SIZES = {
    "64x64-b64": (64, 64, 64),
    "256x256-b256": (256, 256, 256),
    "400x300-b256": (400, 300, 256),
}
DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("algo", ["ddpg", "td3"])
def test_bench_seconds_to_minus_200_on_pendulum(benchmark, algo):
    mod = MODULES[algo]
    env = make("Pendulum-v1")
    cfg = dict(stop_at_return=-200.0)
    mod.train(env, dict(total_steps=300, learning_starts=100, eval_every=300), seed=0)  # warm
    out = {}

    def solve():
        out["arrays"], out["history"] = mod.train(env, cfg, seed=0)

    benchmark.pedantic(solve, rounds=3, iterations=1)
    hist = out["history"]
    seconds = benchmark.stats.stats.median
    benchmark.extra_info["env_steps"] = int(hist["step"][-1])
    benchmark.extra_info["gradient_steps"] = int(hist["critic_updates"][-1])
    benchmark.extra_info["eval_return"] = float(hist["eval_return"][-1])
    benchmark.extra_info["seconds"] = seconds
    assert hist["eval_return"][-1] >= -200.0
    assert seconds < 10.0  # design.md: under 10 s of wall time


def _setup(algo: str, size: tuple[int, int, int], dtype: str = "float32"):
    """Networks, optimisers, a buffer of 5,000 random Pendulum transitions and a workspace."""
    mod = MODULES[algo]
    env = make("Pendulum-v1")
    h1, h2, batch = size
    real = nn.net_dtype(dtype)
    make_cfg = ddpg.make_ddpg_config if algo == "ddpg" else td3.make_td3_config
    hp = mod._hyper(make_cfg(env, dict(batch_size=batch, hidden=h1, hidden2=h2, dtype=dtype)))
    rng = np.random.default_rng(0)
    n_critics = 1 if algo == "ddpg" else 2
    nets = ac.make_actor_critic(3, env.action_low, env.action_high, rng, (h1, h2), n_critics,
                                dtype=real)  # fmt: skip
    run = ex.make_run_state(env.fns, env.params, env.state_dim, nets, rng)
    buf = replay_init(5_000, 3, 1, real)
    for _ in range(5_000):  # uniform-random actions (before learning_starts)
        ex.explore_action(nets, run, run.obs, True, hp, rng)
        ex.store_step(env.fns, env.params, env.max_steps, nets, run, buf, rng)
    adams = (nn.adam_init(nets.critics.size, real), nn.adam_init(nets.actor.size, real))
    return ac.TrainState(nets, *adams, buf, ac.make_workspace(nets, batch), run), hp, rng


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("algo", ["ddpg", "td3"])
def test_bench_gradient_step_numba(benchmark, algo, size, dtype):
    ts, hp, rng = _setup(algo, SIZES[size], dtype)
    update = ddpg.ddpg_update if algo == "ddpg" else td3.td3_update
    update(ts, hp, rng)  # compile / load
    with single_threaded_blas():
        benchmark(update, ts, hp, rng)
    benchmark.extra_info["updates_per_second"] = 1.0 / benchmark.stats.stats.median
    assert np.isfinite(ts.nets.actor).all() and np.isfinite(ts.nets.critics).all()


@pytest.mark.extras
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("algo", ["ddpg", "td3"])
def test_bench_gradient_step_torch(benchmark, algo, size, dtype):
    """The same step in PyTorch (one thread), written as CleanRL writes it."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    hidden = SIZES[size][:2]
    batch = SIZES[size][2]
    ts, hp, _ = _setup(algo, SIZES[size], dtype)
    buf = ts.buf
    real = torch.float32 if dtype == "float32" else torch.float64
    n_critics = 1 if algo == "ddpg" else 2

    def mlp(n_in, n_out):
        return torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden[0]),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden[0], hidden[1]),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden[1], n_out),
        ).to(real)

    actor, actor_t = mlp(3, 1), mlp(3, 1)
    critics = [mlp(4, 1) for _ in range(n_critics)]
    critics_t = [mlp(4, 1) for _ in range(n_critics)]
    actor_t.load_state_dict(actor.state_dict())
    for c, ct in zip(critics, critics_t, strict=True):
        ct.load_state_dict(c.state_dict())
    q_opt = torch.optim.Adam([p for c in critics for p in c.parameters()], lr=hp.critic_lr)
    a_opt = torch.optim.Adam(actor.parameters(), lr=hp.actor_lr)
    data = {k: torch.from_numpy(np.ascontiguousarray(getattr(buf, k))) for k in
            ("obs", "action", "reward", "next_obs", "terminated")}  # fmt: skip
    gen = torch.Generator().manual_seed(0)
    step = [0]

    def update():
        step[0] += 1
        idx = torch.randint(0, 5_000, (batch,), generator=gen)
        obs, act, nxt = data["obs"][idx], data["action"][idx], data["next_obs"][idx]
        rew, term = data["reward"][idx].to(real), data["terminated"][idx].to(real)
        with torch.no_grad():
            a_next = 2.0 * torch.tanh(actor_t(nxt))
            if algo == "td3":
                noise = (torch.randn_like(a_next) * 0.2).clamp(-0.5, 0.5) * 2.0
                a_next = (a_next + noise).clamp(-2.0, 2.0)
            x_next = torch.cat([nxt, a_next], 1)
            q_next = torch.stack([ct(x_next).view(-1) for ct in critics_t]).min(0).values
            y = rew + hp.gamma * (1.0 - term) * q_next
        x = torch.cat([obs, act], 1)
        q_loss = sum(torch.nn.functional.mse_loss(c(x).view(-1), y) for c in critics)
        q_opt.zero_grad()
        q_loss.backward()
        q_opt.step()
        if algo == "ddpg" or step[0] % 2 == 0:
            a_loss = -critics[0](torch.cat([obs, 2.0 * torch.tanh(actor(obs))], 1)).mean()
            a_opt.zero_grad()
            a_loss.backward()
            a_opt.step()
            with torch.no_grad():
                for net, tgt in [(actor, actor_t), *zip(critics, critics_t, strict=True)]:
                    for p, tp in zip(net.parameters(), tgt.parameters(), strict=True):
                        tp.mul_(1.0 - hp.tau).add_(p, alpha=hp.tau)

    update()
    benchmark(update)
    benchmark.extra_info["updates_per_second"] = 1.0 / benchmark.stats.stats.median
