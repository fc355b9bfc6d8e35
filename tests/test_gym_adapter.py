"""numbarl.gym: registration, Gymnasium's env checker, seeded parity with Gymnasium's own envs,
writable state, and the compiled vector env against Gymnasium's SyncVectorEnv (same-step
autoreset)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env
from gymnasium.utils.passive_env_checker import data_shares_objects
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import numbarl.envs as E
import numbarl.gym as G
from numbarl.envs.toy_text import blackjack_decode

CONTROL = E.names("control")
GYM_IDS = G.gym_ids()
# Warnings Gymnasium's checker also gives Gymnasium's own envs (CartPole's infinite velocity
# bounds, Pendulum's [-2, 2] torque) or any wrapped env.
EXPECTED_WARNINGS = ("infinity", "symmetric and normalized", "different from the unwrapped")


def _check(env: gym.Env) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    unexpected = [
        str(w.message) for w in caught if not any(s in str(w.message) for s in EXPECTED_WARNINGS)
    ]
    assert unexpected == []


# ---------------------------------------------------------------------------------------------
# Registration


def test_every_numbarl_env_is_registered_with_gymnasium_limits_and_thresholds():
    assert G.gym_ids() == [f"numbarl/{name}" for name in E.names()]  # user envs included
    for name in E.names():
        spec = gym.spec(f"numbarl/{name}")
        kind = E.spec(name).kind
        env = E.make(name)
        limit = env.max_steps if env.max_steps > 0 else None
        assert spec.max_episode_steps == limit, name
        if name in gym.registry:  # Gymnasium's own id: same limit and threshold
            assert spec.max_episode_steps == gym.spec(name).max_episode_steps, name
            assert spec.reward_threshold == gym.spec(name).reward_threshold, name
        assert (spec.vector_entry_point is not None) == (kind == "control")
    assert gym.spec("numbarl/CliffWalking-v1").max_episode_steps is None
    assert gym.spec("numbarl/CartPole-v1").reward_threshold == 475.0


def test_registration_is_idempotent():
    before = {gid: gym.spec(gid) for gid in GYM_IDS}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Gymnasium warns when overriding an id
        assert G.register_envs() == []
    assert {gid: gym.spec(gid) for gid in GYM_IDS} == before


def test_importing_again_and_reloading_is_harmless():
    code = (
        "import importlib, warnings\n"
        "warnings.simplefilter('error')\n"
        "import gymnasium, numbarl.gym\n"
        "import numbarl.gym\n"
        "importlib.reload(numbarl.gym)\n"
        "env = gymnasium.make('numbarl/FrozenLake-v1')\n"
        "print(sum(k.startswith('numbarl/') for k in gymnasium.registry), env.reset(seed=0)[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(len(GYM_IDS)), "0"]


def test_kwargs_go_to_numbarl_make_and_time_limit_to_gymnasium():
    env = gym.make("numbarl/FrozenLake-v1", map_name="8x8", is_slippery=False)
    assert env.observation_space == gym.spaces.Discrete(64)
    assert env.spec.max_episode_steps == 100  # FrozenLake-v1's limit, as in Gymnasium
    env.reset(seed=0)
    assert env.step(2)[0] == 1  # not slippery: right moves right
    with pytest.raises(ValueError, match="max_episode_steps"):
        gym.make("numbarl/FrozenLake-v1", max_steps=10)
    with pytest.raises(ValueError, match="unknown option"):
        gym.make("numbarl/CartPole-v1", bogus=1)
    plain = gym.make("numbarl/CartPole-v1")
    plain.reset(seed=0)
    assert plain.render() is None
    with pytest.warns(UserWarning, match="render_modes"):
        drawing = gym.make("numbarl/CartPole-v1", render_mode="rgb_array")
    drawing.reset(seed=0)
    with pytest.raises(NotImplementedError, match="render"):
        drawing.unwrapped.render()
    short = gym.make("numbarl/Pendulum-v1", max_episode_steps=7)
    short.reset(seed=1)
    truncs = [short.step(np.zeros(1, np.float32))[3] for _ in range(7)]
    assert truncs == [False] * 6 + [True]


# ---------------------------------------------------------------------------------------------
# Gymnasium's env checker


@pytest.mark.parametrize("gid", GYM_IDS)
def test_env_checker_passes(gid):
    _check(gym.make(gid).unwrapped)
    _check(gym.make(gid))


# ---------------------------------------------------------------------------------------------
# Control: parity with Gymnasium's classic control


def _cartpole_balance(obs: np.ndarray) -> int:
    """A linear controller that keeps the pole up for 500 steps, so the episode is truncated."""
    return int(obs[2] + 0.5 * obs[3] + 0.01 * obs[1] > 0)


# MountainCarContinuous: Gymnasium evaluates cos(3 * position) with 3 * position in float32 (its
# state is float32 after a step); numbarl in float64, so about 4% of steps differ by one float32
# ulp and free-running trajectories drift apart by ~1e-6 over hundreds of steps.
OBS_ATOL = {"MountainCarContinuous-v0": 1e-4}


def _run_pair(name: str, seed: int, n_episodes: int = 2) -> int:
    """Run numbarl's and Gymnasium's env side by side from ``seed``; returns steps compared."""
    atol = OBS_ATOL.get(name, 1e-6)
    ours, theirs = gym.make(f"numbarl/{name}"), gym.make(name)
    ours.action_space.seed(seed)
    steps = 0
    for episode in range(n_episodes):
        s = seed if episode == 0 else None  # later resets continue the seeded generator
        o1, info1 = ours.reset(seed=s)
        o2, info2 = theirs.reset(seed=s)
        assert o1.dtype == o2.dtype == np.float32
        np.testing.assert_array_equal(o1, o2)
        assert info1 == info2 == {}
        np.testing.assert_allclose(ours.unwrapped.state, theirs.unwrapped.state, rtol=0, atol=1e-7)
        for _ in range(ours.spec.max_episode_steps):
            if name == "CartPole-v1":
                a = _cartpole_balance(o1)
            else:
                a = ours.action_space.sample()
            # MountainCarContinuous: Gymnasium computes in float32 when handed a float32 action,
            # numbarl in float64. Pendulum: numbarl computes as Gymnasium does with its own
            # float32 action space, so both get the float32 action.
            a_theirs = a
            if isinstance(a, np.ndarray) and name != "Pendulum-v1":
                a_theirs = a.astype(np.float64)
            o1, r1, te1, tr1, _ = ours.step(a)
            o2, r2, te2, tr2, _ = theirs.step(a_theirs)
            steps += 1
            assert o1.dtype == np.float32 and o1 in ours.observation_space
            np.testing.assert_allclose(o1, o2, rtol=0, atol=atol)
            assert r1 == pytest.approx(float(r2), rel=1e-9, abs=1e-12)
            assert (te1, tr1) == (bool(te2), bool(tr2))
            if te1 or tr1:
                break
        assert te1 or tr1
    return steps


@pytest.mark.parametrize("name", CONTROL)
def test_control_episodes_equal_gymnasiums(name):
    steps = _run_pair(name, seed=3)
    assert steps >= 2


def test_control_truncates_at_gymnasiums_limit():
    # CartPole balanced to the limit; Pendulum never terminates.
    for name in ("CartPole-v1", "Pendulum-v1"):
        limit = gym.spec(name).max_episode_steps
        assert _run_pair(name, seed=0, n_episodes=1) == limit


@pytest.mark.parametrize(
    "name, options",
    [
        ("CartPole-v1", {"low": -0.2, "high": 0.3}),
        ("Acrobot-v1", {"low": -0.5, "high": 0.5}),
        ("MountainCar-v0", {"low": -0.9, "high": -0.1}),
        ("MountainCarContinuous-v0", {"high": -0.2}),
        ("Pendulum-v1", {"x_init": 0.5, "y_init": 0.25}),
    ],
)
def test_reset_options_equal_gymnasiums(name, options):
    ours, theirs = gym.make(f"numbarl/{name}"), gym.make(name)
    for seed in (0, 1):
        o1, _ = ours.reset(seed=seed, options=options)
        o2, _ = theirs.reset(seed=seed, options=options)
        np.testing.assert_array_equal(o1, o2)
    default, _ = ours.reset(seed=0)
    assert not np.array_equal(default, ours.reset(seed=0, options=options)[0])


@pytest.mark.parametrize("name", CONTROL)
def test_state_assignment_sets_the_next_step(name):
    ours, theirs = gym.make(f"numbarl/{name}"), gym.make(name)
    ours.reset(seed=0)
    theirs.reset(seed=0)
    env = ours.unwrapped
    assert env.state.dtype == np.float64 and env.state.shape == np.shape(theirs.unwrapped.state)
    new_state = {
        "CartPole-v1": [0.1, -0.2, 0.05, 0.3],
        "MountainCar-v0": [-0.3, 0.02],
        "MountainCarContinuous-v0": [-0.3, 0.02],
        "Acrobot-v1": [0.4, -0.3, 1.0, -2.0],
        "Pendulum-v1": [2.0, -1.0],
    }[name]
    env.state = np.array(new_state)
    theirs.unwrapped.state = np.array(new_state)
    np.testing.assert_array_equal(env.state, new_state)
    a = 1 if env.numbarl_env.n_actions else np.array([0.5], dtype=np.float32)
    o1 = ours.step(a)[0]
    o2 = theirs.step(a if np.isscalar(a) else a.astype(np.float64))[0]
    np.testing.assert_allclose(o1, o2, rtol=0, atol=1e-6)
    np.testing.assert_allclose(env.state, theirs.unwrapped.state, rtol=0, atol=1e-7)
    env.state[0] = new_state[0]  # the property is the env's own array: in-place edits count
    assert env.state[0] == new_state[0]
    with pytest.raises(ValueError, match="shape"):
        env.state = np.zeros(7)


def test_vector_state_is_writable_and_no_env_renders():
    vec = G.NumbaVectorEnv(2, "CartPole-v1")
    vec.state = np.full((2, 4), 0.01)  # assigning a state stands in for reset
    obs = vec.step(np.array([1, 0]))[0]
    assert obs.shape == (2, 4) and vec.state[0, 1] > 0.01 > vec.state[1, 1]  # pushed apart
    with pytest.raises(ValueError, match=r"CartPole-v1: state must have shape \(2, 4\)"):
        vec.state = np.zeros(4)
    assert vec.render() is None and G.TabularGymEnv("Taxi-v4").render() is None
    for env in (G.NumbaVectorEnv(2, render_mode="rgb_array"), G.TabularGymEnv(render_mode="x")):
        with pytest.raises(NotImplementedError, match="do not render"):
            env.render()


def test_control_refuses_bad_use():
    env = G.ControlGymEnv("CartPole-v1")
    with pytest.raises(ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    for bad in (2, -1, 0.5, np.array([0, 1])):
        with pytest.raises(ValueError, match="action"):
            env.step(bad)
    env.step(np.int64(1))  # NumPy integers are fine
    pend = G.ControlGymEnv("numbarl/Pendulum-v1")
    pend.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        pend.step(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="tabular"):
        G.ControlGymEnv("FrozenLake-v1")


# ---------------------------------------------------------------------------------------------
# Tabular


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("FrozenLake-v1", {}),
        ("FrozenLake-v1", {"map_name": "8x8", "is_slippery": False}),
        ("FrozenLake8x8-v1", {}),
        ("CliffWalkingSlippery-v1", {}),
        ("Taxi-v4", {}),
    ],
)
def test_toy_text_trajectories_equal_gymnasiums(name, kwargs):
    ours, theirs = gym.make(f"numbarl/{name}", **kwargs), gym.make(name, **kwargs)
    assert ours.observation_space == theirs.observation_space
    assert ours.action_space == theirs.action_space
    actions = np.random.default_rng(5)
    steps = 0
    for episode in range(20):
        seed = 11 if episode == 0 else None
        s1, info1 = ours.reset(seed=seed)
        s2, info2 = theirs.reset(seed=seed)
        assert s1 == s2 and info1["prob"] == 1.0
        done = False
        while not done and steps < 600:
            a = int(actions.integers(ours.action_space.n))
            s1, r1, te1, tr1, info1 = ours.step(a)
            s2, r2, te2, tr2, info2 = theirs.step(a)
            steps += 1
            assert (s1, r1, te1, tr1) == (int(s2), float(r2), te2, tr2)
            assert info1["prob"] == pytest.approx(info2["prob"], abs=1e-12)
            done = te1 or tr1
    assert steps >= 50


def test_tabular_kernel_draws_as_numbarl_step():
    # MaximizationBias has Gaussian rewards: the extra normal draw must match too.
    for name in ("MaximizationBias-v0", "FrozenLake-v1", "Blackjack-v1"):
        mdp = E.make(name)
        r1, r2 = np.random.default_rng(4), np.random.default_rng(4)
        choose = np.random.default_rng(1)
        s = E.reset(mdp, r2)
        env = G.TabularGymEnv(mdp)
        env.reset(seed=0)
        env.np_random = r1
        env.s = s
        r1.random()  # the reset draw of r2
        for _ in range(200):
            a = int(choose.choice(np.flatnonzero(mdp.allowed[s])))
            expected = E.step(mdp, s, a, r2)
            got = env.step(a)
            assert (got[0], got[1], got[2]) == (expected[0], expected[1], expected[2])
            s = got[0]
            if got[2]:
                s = E.reset(mdp, r2)
                r1.random()
                env.s = s
    probs = G.outcome_probabilities(E.make("FrozenLake-v1"))
    np.testing.assert_allclose(probs.sum(axis=2), 1.0, atol=1e-12)
    np.testing.assert_allclose(probs[0, 0], [1 / 3, 1 / 3, 1 / 3], atol=1e-12)


def test_action_mask_for_state_dependent_actions():
    env = gym.make("numbarl/GamblersProblem-v0")
    mdp = env.unwrapped.mdp
    s, info = env.reset(seed=2)
    env.action_space.seed(2)
    for _ in range(100):
        mask = info["action_mask"]
        assert mask.dtype == np.int8
        np.testing.assert_array_equal(mask, mdp.allowed[s])
        a = env.action_space.sample(mask=mask) if mask.any() else 0
        assert mdp.allowed[s, a] or not mask.any()
        s, _, terminated, truncated, info = env.step(a)
        if terminated or truncated:
            s, info = env.reset()
    assert "action_mask" not in gym.make("numbarl/FrozenLake-v1").reset(seed=0)[1]


def test_blackjack_states_decode_to_gymnasiums_observations():
    env = gym.make("numbarl/Blackjack-v1")
    ours = np.random.default_rng(0)
    starts = [blackjack_decode(env.reset(seed=int(ours.integers(1 << 30)))[0]) for _ in range(200)]
    for player_sum, dealer_card, usable_ace in starts:
        assert 4 <= player_sum <= 21 and 1 <= dealer_card <= 10 and usable_ace in (0, 1)
    # Sticking ends the game in the end state 704 with a reward in {-1, 0, 1}.
    env.reset(seed=0)
    s, r, terminated, truncated, _ = env.step(0)
    assert (s, terminated, truncated) == (704, True, False) and r in (-1.0, 0.0, 1.0)


def test_tabular_refuses_bad_use():
    env = G.TabularGymEnv("FrozenLake-v1")
    with pytest.raises(ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(4)
    with pytest.raises(ValueError, match="control"):
        G.TabularGymEnv("CartPole-v1")


# ---------------------------------------------------------------------------------------------
# Vector env


def test_make_vec_builds_the_compiled_vector_env():
    for vec in (gym.make_vec("numbarl/CartPole-v1", num_envs=3), G.make_vec("CartPole-v1", 3)):
        assert isinstance(vec, G.NumbaVectorEnv)
        assert vec.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
        assert vec.spec is not None and vec.spec.id == "numbarl/CartPole-v1"
        assert vec.max_episode_steps == 500 and vec.num_envs == 3
        single = gym.make("numbarl/CartPole-v1")
        assert vec.single_observation_space == single.observation_space
        assert vec.single_action_space == single.action_space
        assert vec.observation_space == gym.vector.utils.batch_space(single.observation_space, 3)
        assert vec.action_space == gym.spaces.MultiDiscrete([2, 2, 2])
    pend = G.make_vec("numbarl/Pendulum-v1", 2, g=9.81, max_episode_steps=20)
    assert pend.max_episode_steps == 20 and pend.numbarl_env.param("g") == 9.81
    assert pend.action_space.shape == (2, 1) and pend.action_space.dtype == np.float32
    sync = gym.make_vec("numbarl/FrozenLake-v1", num_envs=2, vectorization_mode="sync")
    assert sync.reset(seed=0)[0].shape == (2,)
    with pytest.raises(ValueError, match="sync"):
        G.make_vec("FrozenLake-v1", 2)


@pytest.mark.parametrize("name", CONTROL)
def test_vector_reset_draws_copies_in_order_from_one_seed(name):
    vec = G.NumbaVectorEnv(4, name)
    obs, infos = vec.reset(seed=9)
    single = G.ControlGymEnv(name)
    expected = [single.reset(seed=9)[0]] + [single.reset()[0] for _ in range(3)]
    np.testing.assert_array_equal(obs, np.stack(expected))
    assert infos == {} and obs.dtype == np.float32 and obs in vec.observation_space


@pytest.mark.parametrize("name", CONTROL)
def test_vector_steps_equal_gymnasium_sync_vector_env(name):
    """Gymnasium's SyncVectorEnv in SAME_STEP mode over single numbarl envs is the oracle: with
    its sub-env states synchronised to ours after every step (the autoreset draws differ), the
    rewards, flags, infos (keys, masks, final observations) and surviving observations agree."""
    n, limit = 4, 25
    vec = G.NumbaVectorEnv(n, name, max_episode_steps=limit)
    sync = SyncVectorEnv(
        [lambda: gym.make(f"numbarl/{name}", max_episode_steps=limit)] * n,
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    assert sync.metadata["autoreset_mode"] == vec.metadata["autoreset_mode"]
    assert sync.single_observation_space == vec.single_observation_space
    assert sync.action_space == vec.action_space
    obs, _ = vec.reset(seed=1)
    sync.reset(seed=1)
    for i, env in enumerate(sync.envs):
        env.unwrapped.state = vec.state[i]
    vec.action_space.seed(1)
    finished = 0
    previous = obs
    for _ in range(3 * limit):
        actions = vec.action_space.sample()
        o1, r1, te1, tr1, info1 = vec.step(actions)
        o2, r2, te2, tr2, info2 = sync.step(actions)
        assert not data_shares_objects((o1, r1, te1, tr1, info1), previous)
        previous = (o1, r1, te1, tr1, info1)
        assert o1.dtype == np.float32 and o1 in vec.observation_space
        assert r1.dtype == np.float64 and te1.dtype == tr1.dtype == np.bool_
        np.testing.assert_allclose(r1, r2, rtol=1e-12)
        np.testing.assert_array_equal(te1, te2)
        np.testing.assert_array_equal(tr1, tr2)
        done = te1 | tr1
        live = ~done
        np.testing.assert_allclose(o1[live], o2[live], rtol=0, atol=1e-6)
        assert info1.keys() == info2.keys()
        if done.any():
            finished += int(done.sum())
            np.testing.assert_array_equal(info1["_final_obs"], info2["_final_obs"])
            np.testing.assert_array_equal(info1["_final_info"], info2["_final_info"])
            assert info1["final_info"] == info2["final_info"] == {}
            for i in range(n):
                if done[i]:
                    assert info1["final_obs"][i].dtype == np.float32
                    np.testing.assert_allclose(
                        info1["final_obs"][i], info2["final_obs"][i], rtol=0, atol=1e-6
                    )
                    assert o1[i] in vec.single_observation_space
                    assert vec.elapsed_steps[i] == 0
                else:
                    assert info1["final_obs"][i] is None
        for i, env in enumerate(sync.envs):
            env.unwrapped.state = vec.state[i]
    assert finished >= n  # every copy reached at least the time limit


def test_vector_refuses_bad_use():
    vec = G.NumbaVectorEnv(3, "CartPole-v1")
    with pytest.raises(ResetNeeded):
        vec.step(np.zeros(3, dtype=np.int64))
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="0..1"):
        vec.step(np.array([0, 2, 1]))
    with pytest.raises(ValueError, match="shape"):
        vec.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="num_envs"):
        G.NumbaVectorEnv(0, "CartPole-v1")
    with pytest.raises(ValueError, match="shape"):
        vec.state = np.zeros((2, 4))
