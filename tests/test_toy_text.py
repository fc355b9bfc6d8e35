"""Toy-text envs against Gymnasium: exact P tables, seeded trajectories, and for Blackjack (which
draws cards with ``np_random.choice``, not ``categorical_sample``, so seeded trajectories cannot
match) exact distributions against Gymnasium samples with stated statistical bounds."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.envs.toy_text import frozen_lake as gym_frozen_lake
from gymnasium.envs.toy_text.blackjack import BlackjackEnv, draw_card
from scipy import stats

from numbarl.envs import make, reset, step
from numbarl.envs.toy_text import (
    BLACKJACK_END,
    BLACKJACK_N_OBS,
    BLACKJACK_N_STATES,
    BLACKJACK_NATURAL,
    blackjack,
    blackjack_decode,
    blackjack_state,
    cliff_walking,
    frozen_lake,
    generate_random_map,
    taxi,
    taxi_decode,
    taxi_encode,
)

P_MIN = 1e-3  # chi-square tests pass when p > P_MIN (fixed seeds, so deterministic)

# ---------------------------------------------------------------------------------------------
# Exact tables


def gym_dense(P: dict, n_states: int, n_actions: int):
    """Gymnasium's ``P`` as dense p float64[S, A, S], r float64[S, A] and the bool[S] set of states
    that some transition enters with terminated=True."""
    p = np.zeros((n_states, n_actions, n_states))
    r = np.zeros((n_states, n_actions))
    entered_done = np.zeros(n_states, dtype=bool)
    for s in range(n_states):
        for a in range(n_actions):
            for prob, s2, rew, done in P[s][a]:
                p[s, a, s2] += prob
                r[s, a] += prob * rew
                entered_done[s2] |= bool(done)
    return p, r, entered_done


def reachable(P: dict, start: np.ndarray, n_actions: int) -> set[int]:
    """States reachable from the start distribution without passing through a termination."""
    seen = set(np.flatnonzero(start).tolist())
    frontier = list(seen)
    while frontier:
        s = frontier.pop()
        for a in range(n_actions):
            for prob, s2, _, done in P[s][a]:
                if prob > 0 and not done and s2 not in seen:
                    seen.add(s2)
                    frontier.append(s2)
    return seen


TABLE_CASES = [
    ("FrozenLake-v1", {}, lambda: frozen_lake()),
    ("FrozenLake-v1", {"is_slippery": False}, lambda: frozen_lake(is_slippery=False)),
    ("FrozenLake8x8-v1", {}, lambda: make("FrozenLake8x8-v1")),
    (
        "FrozenLake8x8-v1",
        {"is_slippery": False},
        lambda: frozen_lake(map_name="8x8", is_slippery=False),
    ),
    (
        "FrozenLake-v1",
        {
            "desc": ["SFFHF", "FHFFG", "HFSFH"],
            "success_rate": 0.75,
            "reward_schedule": (5, -2, 0.5),
        },
        lambda: frozen_lake(
            desc=["SFFHF", "FHFFG", "HFSFH"], success_rate=0.75, reward_schedule=(5, -2, 0.5)
        ),
    ),
    ("CliffWalking-v1", {}, lambda: cliff_walking()),
    ("CliffWalkingSlippery-v1", {}, lambda: make("CliffWalkingSlippery-v1")),
    ("Taxi-v4", {}, lambda: taxi()),
    ("Taxi-v4", {"is_rainy": True}, lambda: taxi(is_rainy=True)),
    ("Taxi-v4", {"is_rainy": True, "rainy_probability": 0.6}, lambda: taxi(True, False, 200, 0.6)),
]


@pytest.mark.parametrize(("gym_id", "kwargs", "build"), TABLE_CASES)
def test_tables_equal_gymnasium_P(gym_id, kwargs, build):
    env = gymnasium.make(gym_id, **kwargs).unwrapped
    mdp = build()
    S, A = env.observation_space.n, env.action_space.n
    assert (mdp.n_states, mdp.n_actions) == (S, A)
    p, r, entered_done = gym_dense(env.P, S, A)
    np.testing.assert_allclose(mdp.p, p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mdp.r, r, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mdp.start, env.initial_state_distrib, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(mdp.terminal, entered_done)
    # Along every transition an episode can take, Gymnasium's terminated flag is terminal[s2].
    for s in reachable(env.P, env.initial_state_distrib, A):
        for a in range(A):
            for prob, s2, _, done in env.P[s][a]:
                assert prob == 0 or bool(done) == mdp.terminal[s2], (s, a, s2)


def test_time_limits_follow_gymnasium_registration():
    for gym_id in ["FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1", "Taxi-v4"]:
        limit = gymnasium.spec(gym_id).max_episode_steps
        assert make(gym_id).max_steps == (limit or 0), gym_id
    assert make("CliffWalkingSlippery-v1").max_steps == 0
    assert make("Blackjack-v1").max_steps == 0
    assert gymnasium.spec("Blackjack-v1").max_episode_steps is None


def test_taxi_encoding_matches_gymnasium():
    env = gymnasium.make("Taxi-v4").unwrapped
    for s in range(500):
        assert taxi_decode(s) == tuple(env.decode(s))
        assert taxi_encode(*taxi_decode(s)) == s


def test_random_map_matches_gymnasium():
    for seed in range(5):
        ours = generate_random_map(size=6, p=0.7, seed=seed)
        assert ours == gym_frozen_lake.generate_random_map(size=6, p=0.7, seed=seed)
    desc = generate_random_map(size=5, seed=3)
    env = gymnasium.make("FrozenLake-v1", desc=desc).unwrapped
    p, r, _ = gym_dense(env.P, 25, 4)
    mdp = frozen_lake(desc=desc)
    np.testing.assert_allclose(mdp.p, p, atol=1e-12)
    np.testing.assert_allclose(mdp.r, r, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Seeded trajectories


def ours_trajectory(mdp, seed: int, actions: np.ndarray) -> list:
    rng = np.random.default_rng(seed)
    s = int(reset(mdp, rng))
    out, t = [("reset", s)], 0
    for a in actions:
        s, rew, terminated = step(mdp, s, int(a), rng)
        t += 1
        truncated = mdp.max_steps > 0 and t >= mdp.max_steps  # Gymnasium's TimeLimit rule
        out.append((int(s), float(rew), bool(terminated), bool(truncated)))
        if terminated or truncated:
            s, t = int(reset(mdp, rng)), 0
            out.append(("reset", s))
    return out


def gym_trajectory(gym_id: str, kwargs: dict, seed: int, actions: np.ndarray) -> list:
    env = gymnasium.make(gym_id, **kwargs)
    s, _ = env.reset(seed=seed)
    out = [("reset", int(s))]
    for a in actions:
        s, rew, terminated, truncated, _ = env.step(int(a))
        out.append((int(s), float(rew), bool(terminated), bool(truncated)))
        if terminated or truncated:
            s, _ = env.reset()
            out.append(("reset", int(s)))
    return out


@pytest.mark.parametrize(
    ("gym_id", "kwargs", "n_steps", "action_probs"),
    [
        ("FrozenLake8x8-v1", {}, 4000, None),
        ("FrozenLake-v1", {"success_rate": 0.6}, 2000, None),
        # Drift right (0=up, 1=right, 2=down, 3=left) so the goal is reached, not only the cliff.
        ("CliffWalkingSlippery-v1", {}, 3000, [0.3, 0.45, 0.2, 0.05]),
        ("Taxi-v4", {"is_rainy": True}, 3000, None),
        ("Taxi-v4", {}, 1000, None),
    ],
)
def test_seeded_trajectories_equal_gymnasium(gym_id, kwargs, n_steps, action_probs):
    mdp = make(gym_id, **kwargs)
    for seed in (0, 12345):
        action_rng = np.random.default_rng(seed + 1)
        actions = action_rng.choice(mdp.n_actions, n_steps, p=action_probs)
        ours = ours_trajectory(mdp, seed, actions)
        theirs = gym_trajectory(gym_id, kwargs, seed, actions)
        assert ours == theirs
        # The comparison covers termination (or truncation) and the resets after it.
        assert sum(1 for x in ours if x[0] == "reset") > 1


# ---------------------------------------------------------------------------------------------
# Blackjack

SETTINGS = {
    "sab": {"sab": True, "natural": False},
    "natural": {"sab": False, "natural": True},
    "plain": {"sab": False, "natural": False},
}


def live_states() -> list[int]:
    """The states an episode can be in before it ends: observations plus natural first hands."""
    mdp = blackjack()
    return [s for s in range(BLACKJACK_N_STATES) if not mdp.terminal[s]]


def hand_for(s: int) -> list[int]:
    """A player hand whose Gymnasium observation (and natural status) is that of state s."""
    player_sum, _, usable = blackjack_decode(s)
    if s >= BLACKJACK_NATURAL:
        return [1, 10]
    if usable:
        return [1, player_sum - 11] if player_sum < 21 else [1, 5, 5]
    if player_sum <= 11:
        return [2, player_sum - 2]
    return [10, player_sum - 10] if player_sum <= 20 else [10, 9, 2]


def obs_to_state(obs, first_hand: bool) -> int:
    player_sum, dealer_card, usable = (int(x) for x in obs)
    natural = first_hand and (player_sum, usable) == (21, 1)  # a two-card 21 is a natural
    return blackjack_state(player_sum, dealer_card, usable, natural=natural)


def outcome_key(s2: int, rew: float) -> tuple[int, float]:
    return (s2, float(rew))


def exact_outcomes(mdp, s: int, a: int) -> dict:
    """Our exact {(next state, reward): probability} from the sampling tables."""
    out: dict = {}
    prev = 0.0
    for j in range(mdp.cum_prob.shape[2]):
        c = min(mdp.cum_prob[s, a, j], 1.0)
        if c > prev:
            key = outcome_key(int(mdp.next_state[s, a, j]), mdp.reward[s, a, j])
            out[key] = out.get(key, 0.0) + c - prev
            prev = c
    return out


def chi_square(pairs, mdp, env, n: int) -> tuple[float, int, list]:
    """Pooled Pearson chi-square over (state, action) pairs of Gymnasium's (next state or end,
    reward) counts against our exact probabilities; outcomes Gymnasium produced that we give
    probability 0 are returned as failures."""
    stat, dof, impossible = 0.0, 0, []
    for s, a in pairs:
        d = blackjack_decode(s)[1]
        counts: dict = {}
        for _ in range(n):
            env.player = list(hand_for(s))
            env.dealer = [d, draw_card(env.np_random)]
            obs, rew, terminated, _, _ = env.step(a)
            s2 = BLACKJACK_END if terminated else obs_to_state(obs, first_hand=False)
            key = outcome_key(s2, rew)
            counts[key] = counts.get(key, 0) + 1
        exact = exact_outcomes(mdp, s, a)
        impossible += [(s, a, key) for key in counts if key not in exact]
        for key, prob in exact.items():
            expected = n * prob
            assert expected >= 5, (s, a, key)  # Pearson's approximation holds
            stat += (counts.get(key, 0) - expected) ** 2 / expected
        dof += len(exact) - 1
    return stat, dof, impossible


def test_blackjack_numbering_and_extra_states():
    assert (BLACKJACK_N_OBS, BLACKJACK_END, BLACKJACK_N_STATES) == (704, 704, 715)
    for obs in [(4, 1, 0), (21, 10, 1), (31, 10, 1), (13, 7, 0)]:
        s = blackjack_state(*obs)
        assert s == np.ravel_multi_index(obs, (32, 11, 2))
        assert blackjack_decode(s) == obs
    for d in range(1, 11):
        s = blackjack_state(21, d, 1, natural=True)
        assert s == 704 + d and blackjack_decode(s) == (21, d, 1)
    mdp = make("Blackjack-v1")
    assert mdp.terminal[BLACKJACK_END] and mdp.p[BLACKJACK_END, :, BLACKJACK_END].tolist() == [1, 1]
    # Every terminating transition enters the end state, and only from there is there no play.
    live = live_states()
    assert len(live) == 10 * (18 + 10) + 10
    assert mdp.p[live][:, :, mdp.terminal].sum(axis=2).max() <= 1.0
    entered = mdp.p[live].sum(axis=(0, 1)) > 0
    assert set(np.flatnonzero(entered & mdp.terminal)) == {BLACKJACK_END}
    # Natural states are entered only at the start.
    assert not entered[BLACKJACK_NATURAL:].any() and mdp.start[BLACKJACK_NATURAL:].all()
    with pytest.raises(ValueError, match="end of the game"):
        blackjack_decode(BLACKJACK_END)
    with pytest.raises(ValueError, match="natural state"):
        blackjack_state(20, 3, 1, natural=True)


def test_blackjack_registry_uses_gymnasium_defaults():
    mdp = make("Blackjack-v1")
    ref = blackjack(sab=True)
    np.testing.assert_array_equal(mdp.r, ref.r)
    np.testing.assert_array_equal(mdp.p, ref.p)


def test_blackjack_exact_hand_facts():
    mdp = blackjack(sab=True)
    hit, stick = 1, 0
    # From hard 20, hitting busts unless an ace (1/13) arrives.
    s = blackjack_state(20, 5, 0)
    assert mdp.p[s, hit, BLACKJACK_END] == pytest.approx(12 / 13)
    assert mdp.p[s, hit, blackjack_state(21, 5, 0)] == pytest.approx(1 / 13)
    # Soft hands never bust on one card; soft 16 + 10 is hard 16.
    s = blackjack_state(16, 5, 1)
    assert mdp.p[s, hit, BLACKJACK_END] == 0
    assert mdp.p[s, hit, blackjack_state(16, 5, 0)] == pytest.approx(4 / 13)
    # sab natural: +1 unless the dealer's hidden card completes a natural.
    for d, dealer_nat in [(1, 4 / 13), (10, 1 / 13), (6, 0.0)]:
        s = blackjack_state(21, d, 1, natural=True)
        assert mdp.r[s, stick] == pytest.approx(1 - dealer_nat)
    assert blackjack(natural=True).r[blackjack_state(21, 6, 1, natural=True), stick] > 1.0
    # Start: P(natural) = 2 * (1/13) * (4/13), P(player's first two cards are aces) = 1/169.
    assert mdp.start[BLACKJACK_NATURAL:].sum() == pytest.approx(8 / 169)
    soft12 = [blackjack_state(12, d, 1) for d in range(1, 11)]
    assert mdp.start[soft12].sum() == pytest.approx(1 / 169)  # only ace, ace
    assert mdp.start[[blackjack_state(21, d, 1) for d in range(1, 11)]].sum() == 0


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_blackjack_settings_differ_only_in_natural_stick(setting):
    base = blackjack(sab=True)
    mdp = blackjack(**SETTINGS[setting])
    np.testing.assert_array_equal(mdp.p, base.p)
    np.testing.assert_array_equal(mdp.start, base.start)
    np.testing.assert_array_equal(mdp.terminal, base.terminal)
    diff = np.argwhere(mdp.r != base.r)
    assert all(s >= BLACKJACK_NATURAL and a == 0 for s, a in diff)
    if setting == "plain":  # a natural is an ordinary soft 21
        for d in range(1, 11):
            nat, soft21 = blackjack_state(21, d, 1, natural=True), blackjack_state(21, d, 1)
            np.testing.assert_array_equal(mdp.r[nat], mdp.r[soft21])
            np.testing.assert_array_equal(mdp.p[nat], mdp.p[soft21])


def test_blackjack_transitions_match_gymnasium_sab():
    """Every live state and action, 300 Gymnasium steps each from a hand with that observation;
    pooled chi-square over ~1,300 cells."""
    mdp = blackjack(sab=True)
    env = BlackjackEnv(sab=True)
    env.reset(seed=2024)
    pairs = [(s, a) for s in live_states() for a in (0, 1)]
    stat, dof, impossible = chi_square(pairs, mdp, env, n=300)
    assert impossible == []
    assert stats.chi2.sf(stat, dof) > P_MIN, (stat, dof)


@pytest.mark.parametrize("setting", ["natural", "plain", "sab"])
def test_blackjack_natural_hands_match_gymnasium(setting):
    """The rows where the settings differ, with more samples: sticking and hitting on a natural."""
    mdp = blackjack(**SETTINGS[setting])
    env = BlackjackEnv(**SETTINGS[setting])
    env.reset(seed=7)
    pairs = [(blackjack_state(21, d, 1, natural=True), a) for d in range(1, 11) for a in (0, 1)]
    stat, dof, impossible = chi_square(pairs, mdp, env, n=2000)
    assert impossible == []
    assert stats.chi2.sf(stat, dof) > P_MIN, (stat, dof)


def test_blackjack_start_distribution_matches_gymnasium_resets():
    mdp = blackjack(sab=True)
    env = BlackjackEnv(sab=True)
    env.reset(seed=99)
    n = 40_000
    counts = np.zeros(BLACKJACK_N_STATES)
    for _ in range(n):
        obs, _ = env.reset()
        counts[obs_to_state(obs, first_hand=True)] += 1
    support = mdp.start > 0
    assert counts[~support].sum() == 0
    expected = n * mdp.start[support]
    assert expected.min() > 5  # Pearson's approximation holds
    _, pvalue = stats.chisquare(counts[support], expected)
    assert pvalue > P_MIN


def stick_on_20_value(mdp) -> float:
    """Exact expected return of 'stick on 20 or 21, else hit' by solving (I - P_pi) v = r_pi."""
    live = np.array(live_states())
    action = np.array([0 if blackjack_decode(s)[0] >= 20 else 1 for s in live])
    p_pi = mdp.p[live, action][:, live]
    r_pi = mdp.r[live, action]
    v = np.linalg.solve(np.eye(len(live)) - p_pi, r_pi)
    return float(mdp.start[live] @ v)


@pytest.mark.parametrize(("setting", "seed"), [("sab", 1), ("natural", 2), ("plain", 3)])
def test_blackjack_stick_on_20_return_matches_gymnasium_monte_carlo(setting, seed):
    exact = stick_on_20_value(blackjack(**SETTINGS[setting]))
    env = BlackjackEnv(**SETTINGS[setting])
    env.reset(seed=seed)
    n = 15_000
    returns = np.zeros(n)
    for i in range(n):
        obs, _ = env.reset()
        done = False
        while not done:
            obs, rew, done, _, _ = env.step(0 if obs[0] >= 20 else 1)
            returns[i] += rew
    se = returns.std(ddof=1) / np.sqrt(n)
    assert abs(returns.mean() - exact) < 4 * se, (exact, returns.mean(), se)


def test_blackjack_stick_on_20_exact_value_separates_settings():
    mdps = {k: blackjack(**v) for k, v in SETTINGS.items()}
    values = {k: stick_on_20_value(m) for k, m in mdps.items()}
    # The natural bonus adds 0.5 * P(natural wins); sab adds P(natural, dealer 21 without one).
    assert values["natural"] > values["sab"] > values["plain"]
    # Natural states occur only at the start and the policy sticks there, so the gaps are the
    # start-weighted differences of the natural stick rewards.
    nat = np.arange(BLACKJACK_NATURAL, BLACKJACK_N_STATES)
    for k in ("natural", "sab"):
        gap = mdps[k].start[nat] @ (mdps[k].r[nat, 0] - mdps["plain"].r[nat, 0])
        assert values[k] - values["plain"] == pytest.approx(gap, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"desc": ["FFF", "FFG"]}, "start tile 'S'"),
        ({"desc": ["SFF", "FFF"]}, "goal tile 'G'"),
        ({"desc": ["SFF", "FG"]}, "same length"),
        ({"desc": ["SFX", "FFG"]}, r"only 'S' .*'X'"),
        ({"desc": "SFFG"}, "list of strings"),
        ({"desc": []}, "at least one"),
        ({"map_name": "5x5"}, r"map_name must be one of \['4x4', '8x8'\]"),
        ({"map_name": None}, "map_name must be one of"),
        ({"success_rate": 1.5}, r"success_rate must be in \[0.0, 1.0\]"),
        ({"success_rate": -0.1}, "success_rate"),
        ({"success_rate": float("nan")}, "success_rate"),
        ({"is_slippery": "yes"}, "is_slippery must be True or False"),
        ({"reward_schedule": (1, 0)}, "reward_schedule must be 3 numbers"),
        ({"max_steps": 1.5}, "max_steps must be an integer"),
    ],
)
def test_frozen_lake_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        frozen_lake(**kwargs)


def test_other_bad_input():
    with pytest.raises(ValueError, match="fickle_passenger=True cannot be represented exactly"):
        make("Taxi-v4", fickle_passenger=True)
    with pytest.raises(ValueError, match=r"rainy_probability must be in \[0.0, 1.0\]"):
        taxi(is_rainy=True, rainy_probability=2.0)
    with pytest.raises(ValueError, match="is_slippery must be True or False"):
        cliff_walking(is_slippery=1)
    with pytest.raises(ValueError, match="sab must be True or False"):
        blackjack(sab="yes")
    with pytest.raises(ValueError, match="unknown option"):
        make("FrozenLake-v1", slippery=True)
    # fickle_probability=0 is the plain Taxi, which is representable.
    np.testing.assert_array_equal(taxi(fickle_passenger=True, fickle_probability=0.0).p, taxi().p)
