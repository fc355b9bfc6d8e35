"""The TabularMDP builder, its validation, the registry and the compiled sampler."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from numbarl.envs import from_arrays, from_transitions, make, names, reset, step, validate
from numbarl.envs.tabular import rollout_random


def tiny_table():
    # state 0: action 0 -> 1 (p .5, r 1) or terminal 2 (p .5, r 0); action 1 -> 0 with N(-1, 2)
    return {
        0: {0: [(0.5, 1, 1.0, False), (0.5, 2, 0.0, True)], 1: [(1.0, 0, -1.0, False, 2.0)]},
        1: {0: [(1.0, 2, 1.0, True)], 1: [(1.0, 0, 0.0, False)]},
        2: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, 0.0, True)]},
    }


def test_dense_views_of_a_small_table():
    mdp = from_transitions(tiny_table(), 3, 2, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(mdp.p[0, 0], [0.0, 0.5, 0.5])
    np.testing.assert_array_equal(mdp.r, [[0.5, -1.0], [1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(mdp.terminal, [False, False, True])
    assert mdp.n_states == 3 and mdp.n_actions == 2


def test_sampler_frequencies_match_p_and_rewards_match_r():
    mdp = from_transitions(tiny_table(), 3, 2, [1.0, 0.0, 0.0])
    rng = np.random.default_rng(0)
    n = 40_000
    for s in range(2):
        for a in range(2):
            counts = np.zeros(3)
            rewards = np.empty(n)
            for i in range(n):
                s2, r, done = step(mdp, s, a, rng)
                counts[s2] += 1
                rewards[i] = r
                assert done == mdp.terminal[s2]
            freq = counts / n
            se = np.sqrt(mdp.p[s, a] * (1 - mdp.p[s, a]) / n)
            assert np.all(np.abs(freq - mdp.p[s, a]) <= 5 * se + 1e-12)
            sd = rewards.std()
            assert abs(rewards.mean() - mdp.r[s, a]) <= 5 * max(sd, 1e-12) / np.sqrt(n)
    # The Gaussian reward's spread is the declared one.
    draws = np.array([step(mdp, 0, 1, rng)[1] for _ in range(20_000)])
    assert abs(draws.std() - 2.0) < 0.05


def test_sampler_follows_categorical_sample_draws():
    """One uniform per step and the first cumulative probability above it (Gymnasium's rule)."""
    mdp = from_transitions(tiny_table(), 3, 2, [0.25, 0.75, 0.0])
    rng, ref = np.random.default_rng(3), np.random.default_rng(3)
    for _ in range(200):
        s = reset(mdp, rng)
        assert s == int(np.argmax(np.cumsum(mdp.start) > ref.random()))
        s2, _, _ = step(mdp, 0, 0, rng)
        assert s2 == (1 if ref.random() < 0.5 else 2)


def test_rollout_resets_at_termination_and_time_limit():
    mdp = from_transitions(tiny_table(), 3, 2, [1.0, 0.0, 0.0], max_steps=3)
    s, a, r, s2, term, trunc = rollout_random(mdp, 5_000, np.random.default_rng(1))
    ends = np.flatnonzero(term | trunc)
    assert np.all(s[ends[:-1] + 1] == 0)  # every episode restarts from the start state
    assert not np.any(term & trunc)
    lengths = np.diff(np.concatenate([[-1], ends]))
    assert lengths.max() <= 3 and np.any(trunc)
    assert np.all(mdp.terminal[s2[term]])


def test_same_seed_same_samples():
    mdp = from_transitions(tiny_table(), 3, 2, [1.0, 0.0, 0.0])
    a = rollout_random(mdp, 1000, np.random.default_rng(9))
    b = rollout_random(mdp, 1000, np.random.default_rng(9))
    for x, y in zip(a, b, strict=True):
        assert x.tobytes() == y.tobytes()


@pytest.mark.parametrize(
    "table, match",
    [
        ({0: {0: [(0.7, 0, 0.0, False)]}}, "sum to"),
        ({0: {0: [(float("nan"), 0, 0.0, False)]}}, "probability"),
        ({0: {0: [(1.0, 5, 0.0, False)]}}, "next state"),
        ({0: {0: [(1.0, 0, float("nan"), False)]}}, "reward"),
        ({0: {0: [(1.0, 0)]}}, "must be"),
    ],
)
def test_malformed_tables_raise(table, match):
    with pytest.raises(ValueError, match=match):
        from_transitions(table, 1, 1, [1.0])


def test_malformed_arrays_raise():
    p = np.zeros((2, 1, 2))
    p[:, 0, 1] = 1.0
    r = np.zeros((2, 1))
    term = np.array([False, True])
    mdp = from_arrays(p, r, term, [1.0, 0.0])
    assert mdp.terminal[1]
    with pytest.raises(ValueError, match="shape"):
        from_arrays(p[:, :, :1], r, term, [1.0, 0.0])
    with pytest.raises(ValueError, match="NaN"):
        from_arrays(np.where(p > 0, np.nan, 0.0), r, term, [1.0, 0.0])
    with pytest.raises(ValueError, match="sum to"):
        from_arrays(p * 0.5, r, term, [1.0, 0.0])
    with pytest.raises(ValueError, match="start"):
        from_arrays(p, r, term, [0.5, 0.0])
    with pytest.raises(ValueError, match="terminal"):
        from_arrays(p, r, term[:1], [1.0, 0.0])
    with pytest.raises(ValueError, match="sum to 1"):
        validate(mdp._replace(p=mdp.p * 2))


def test_terminal_must_end_the_episode():
    table = {0: {0: [(1.0, 1, 0.0, False)]}, 1: {0: [(1.0, 1, 0.0, True)]}}
    with pytest.raises(ValueError, match="terminal"):
        from_transitions(table, 2, 1, [1.0, 0.0], terminal=[False, True])


def test_unknown_env_and_option_name_what_is_allowed():
    with pytest.raises(ValueError, match="known: .*FrozenLake-v1"):
        make("FrozenLake-v9")
    with pytest.raises(ValueError, match="unknown option"):
        make("CliffWalking-v1", slippery=True)
    assert "Taxi-v4" in names("tabular") and "CartPole-v1" in names("control")
    with pytest.raises(ValueError, match="kind"):
        names("atari")


@pytest.mark.parametrize("name", [n for n in names("tabular")])
def test_every_tabular_env_samples_like_its_p(name):
    """Empirical next-state frequencies of the compiled sampler agree with the dense view p."""
    mdp = make(name)
    rng = np.random.default_rng(0)
    live = np.flatnonzero(~mdp.terminal)
    pairs = [(s, a) for s in live for a in np.flatnonzero(mdp.allowed[s])]
    idx = rng.choice(len(pairs), size=min(12, len(pairs)), replace=False)
    n = 6_000
    for i in idx:
        s, a = pairs[i]
        counts = np.bincount(
            [step(mdp, int(s), int(a), rng)[0] for _ in range(n)], minlength=mdp.n_states
        )
        p = mdp.p[s, a]
        se = np.sqrt(p * (1 - p) / n)
        assert np.all(np.abs(counts / n - p) <= 5 * se + 1e-12), (name, s, a)


def test_second_process_loads_the_sampler_from_numbas_disk_cache():
    """Numba's disk cache serves the sampler: a second process compiles nothing for it (its
    start-up time is measured in tests/benchmarks/test_bench_startup.py)."""
    code = textwrap.dedent(
        """
        import numpy as np
        from numbarl.envs import make
        from numbarl.envs.tabular import rollout_random
        rollout_random(make("FrozenLake8x8-v1"), 1000, np.random.default_rng(0))
        print(len(rollout_random.stats.cache_hits), len(rollout_random.stats.cache_misses))
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)  # warm cache
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    hits, misses = map(int, res.stdout.split())
    assert hits == 1 and misses == 0, res.stdout
