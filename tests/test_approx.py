"""numbarl.approx kernels: tile coding equals the book's reference tiles() (Sutton's tiles3),
Mountain Car equals Gymnasium's MountainCar-v0, hand-computed feature tables and values,
compiled kernels equal their ``.py_func`` on tiny cases, and identities between the Sarsa
variants (Sarsa(lambda) with lambda = 0 is one-step Sarsa, step for step)."""

from __future__ import annotations

from math import floor

import numpy as np
import pytest

from numbarl.approx import control, features, mountain_car, prediction

# ---------------------------------------------------------------------------------------------
# The book's tile-coding software, in plain Python from its published description (tiles3:
# IHT numbers tuples in order of first appearance and, once full, returns hash(tuple) % size;
# tiles() quantises each float to floor(f * numtilings) and offsets tiling t by t * (1 + 2 i)
# in dimension i).


class RefIHT:
    def __init__(self, size: int) -> None:
        self.size = size
        self.overfull_count = 0
        self.dictionary: dict[tuple, int] = {}

    def getindex(self, obj: tuple, readonly: bool = False):
        d = self.dictionary
        if obj in d:
            return d[obj]
        if readonly:
            return None
        if len(d) >= self.size:
            self.overfull_count += 1
            return hash(obj) % self.size
        d[obj] = len(d)
        return d[obj]


def ref_tiles(iht: RefIHT, numtilings: int, floats, ints=(), readonly: bool = False) -> list:
    qfloats = [floor(f * numtilings) for f in floats]
    out = []
    for tiling in range(numtilings):
        tiling_x2 = tiling * 2
        coords = [tiling]
        b = tiling
        for q in qfloats:
            coords.append((q + b) // numtilings)
            b += tiling_x2
        coords.extend(ints)
        out.append(iht.getindex(tuple(coords), readonly))
    return out


@pytest.mark.parametrize("size", [4096, 40])  # 40: the table fills and falls back to hashing
@pytest.mark.parametrize("n_floats", [1, 2, 3])
def test_tiles_equal_the_reference_implementation(size: int, n_floats: int) -> None:
    rng = np.random.default_rng(size + n_floats)
    ref = RefIHT(size)
    ours = features.make_iht(size, 1 + n_floats + 1)
    for _ in range(300):
        floats = rng.uniform(-5.0, 5.0, n_floats)
        ints = [int(rng.integers(-2, 3))]
        expected = ref_tiles(ref, 8, list(floats), ints)
        got = features.tiles(ours, 8, floats, np.array(ints, dtype=np.int64))
        assert list(got) == expected
    assert features.iht_count(ours) == len(ref.dictionary)
    assert ours.state[1] == ref.overfull_count
    if size == 40:
        assert ref.overfull_count > 0  # the hashing branch was exercised


def test_tiles_read_only_leaves_the_table_alone() -> None:
    iht = features.make_iht(64, 3)
    coords = np.empty(3, dtype=np.int64)
    out = np.empty(4, dtype=np.int64)
    features.tiles_into(iht, 4, np.array([0.3, 0.7]), np.zeros(0, np.int64), coords, out, True)
    assert np.all(out == -1) and features.iht_count(iht) == 0
    first = features.tiles(iht, 4, np.array([0.3, 0.7]), np.zeros(0, np.int64))
    assert list(first) == [0, 1, 2, 3]
    features.tiles_into(iht, 4, np.array([0.3, 0.7]), np.zeros(0, np.int64), coords, out, True)
    assert list(out) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "t", [(), (0,), (-1,), (-2,), (1, 2, 3), (-1, -1), (7, -3, 0, 2**40), (5, 0, 2, 1, 9)]
)
def test_tuple_hash_equals_cpython(t: tuple) -> None:
    assert features.py_tuple_hash(np.array(t, dtype=np.int64), len(t)) == hash(t)


def test_tiles_hand_computed_offsets() -> None:
    """Two tilings over one float 0.5: tiling 0 -> floor(1.0) // 2 = 0, tiling 1 ->
    (1 + 1) // 2 = 1; then 0.9: q = 1, tiling 0 -> 0 (seen), tiling 1 -> 1 (seen)."""
    iht = features.make_iht(16, 2)
    none = np.zeros(0, np.int64)
    assert list(features.tiles(iht, 2, np.array([0.5]), none)) == [0, 1]
    assert list(features.tiles(iht, 2, np.array([0.9]), none)) == [0, 1]
    assert list(features.tiles(iht, 2, np.array([1.0]), none)) == [2, 1]  # (2 + 0) // 2 = 1
    assert iht.keys[iht.lengths > 0].shape[0] == 3


# ---------------------------------------------------------------------------------------------
# Mountain Car


def test_mountain_car_features_equal_the_reference_tiles() -> None:
    """features() (memoised IHT look-ups) gives the reference's tiles(iht, 8, [8x/1.7,
    8v/0.14], [a]) for a = 0, 1, 2 in turn, along a trajectory, with the same IHT order."""
    rng = np.random.default_rng(3)
    ref = RefIHT(4096)
    iht = features.make_iht(4096, 4)
    memo = mountain_car.make_memo(8)
    coords = mountain_car.scratch(8)
    feats = np.empty((3, 8), dtype=np.int64)
    x, v = -0.5, 0.0
    for _ in range(500):
        mountain_car.features(iht, memo, 8, x, v, coords, feats)
        for a in range(3):
            expected = ref_tiles(ref, 8, [8 * x / (0.5 + 1.2), 8 * v / (0.07 + 0.07)], [a])
            assert list(feats[a]) == expected
        x, v, _, done = mountain_car.step(x, v, int(rng.integers(0, 3)))
        if done:
            x, v = -0.5, 0.0
    assert features.iht_count(iht) == len(ref.dictionary) > 100


def test_mountain_car_step_and_reset_equal_gymnasium() -> None:
    """Same start draw from the same seed; same velocity, reward and termination from the same
    state and action; the same position except on reaching the goal, where the book bounds it
    at 0.5 and Gymnasium at 0.6 (the episode ends there either way)."""
    gym = pytest.importorskip("gymnasium")
    env = gym.make("MountainCar-v0").unwrapped
    rng = np.random.default_rng(0)
    for seed in range(5):
        env.reset(seed=seed)  # the observation is float32; env.state is the float64 state
        x, v = mountain_car.reset.py_func(np.random.default_rng(seed))
        assert (x, v) == (float(env.state[0]), float(env.state[1]))
    starts = [(-1.2, -0.02), (-1.19, -0.07), (0.49, 0.07), (-0.5, 0.0), (0.3, -0.05)]
    starts += [(rng.uniform(-1.2, 0.5), rng.uniform(-0.07, 0.07)) for _ in range(30)]
    for x0, v0 in starts:
        for a in range(3):
            env.state = np.array([x0, v0], dtype=np.float64)
            _, r, terminated, _, _ = env.step(a)
            x, v, reward, done = mountain_car.step(x0, v0, a)
            np.testing.assert_allclose([x, v], [min(env.state[0], 0.5), env.state[1]], atol=1e-12)
            assert reward == r and done == terminated


def test_mountain_car_left_wall_zeroes_velocity() -> None:
    x, v, r, done = mountain_car.step(-1.2, -0.07, 0)
    assert (x, v, r, done) == (-1.2, 0.0, -1.0, False)


# ---------------------------------------------------------------------------------------------
# Feature tables and the random walk


def test_feature_tables_hand_computed() -> None:
    idx, val = features.aggregation_table(1000, 10)
    assert idx[1, 0] == 0 and idx[100, 0] == 0 and idx[101, 0] == 1 and idx[1000, 0] == 9
    assert val[0, 0] == 0.0 and val[1001, 0] == 0.0 and val[500, 0] == 1.0
    idx, val = features.polynomial_table(1000, 2)
    np.testing.assert_allclose(val[500], [1.0, 0.5, 0.25])
    idx, val = features.fourier_table(1000, 2)
    np.testing.assert_allclose(val[500], [1.0, 0.0, -1.0], atol=1e-15)
    idx, val, n = features.tile_table_1d(1000, 50, 200, 4)
    assert n == 300 and idx.shape == (1002, 50)
    assert idx[1, 0] == 0 and idx[200, 0] == 0 and idx[201, 0] == 1  # tiling 0: no offset
    assert idx[1, 1] == 6 and idx[197, 1] == 7  # tiling 1: shifted by 4 states
    assert len(set(idx[1:-1].ravel())) <= n


def test_random_walk_truth_small_walk() -> None:
    """3 states, jumps of 1: v = (-0.5, 0, 0.5). The start is state n // 2 = 1; expected
    visits eta = h + P^T eta: eta1 = 1 + eta2 / 2, eta2 = eta1 / 2 + eta3 / 2, eta3 = eta2 / 2,
    so eta = (1.5, 1, 0.5) and mu = (1/2, 1/3, 1/6)."""
    v, mu = prediction.random_walk_truth(3, 1)
    np.testing.assert_allclose(v, [0.0, -0.5, 0.0, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(mu, [0.0, 1 / 2, 1 / 3, 1 / 6, 0.0], atol=1e-12)
    v, mu = prediction.random_walk_truth()
    np.testing.assert_allclose(v[1:-1], -v[1:-1][::-1], atol=1e-12)  # antisymmetric
    assert abs(mu.sum() - 1.0) < 1e-12 and mu.argmax() in (500, 501)


def test_walk_step_jumps_and_terminates() -> None:
    rng = np.random.default_rng(0)
    for _ in range(2000):
        s, r, done = prediction.walk_step(500, 1000, 100, rng)
        assert 400 <= s <= 600 and s != 500 and r == 0.0 and not done
    ends = {prediction.walk_step(1, 1000, 100, rng)[:2] for _ in range(2000)}
    assert (0, -1.0) in ends and all(s > 1 or s == 0 for s, _ in ends)


def test_semi_gradient_td_tabular_converges_on_a_small_walk() -> None:
    """TD(0) with one feature per state on the 5-state walk (jumps of 1) reaches the exact
    values 1/6..5/6 shifted to [-1, 1]: (-2/3, -1/3, 0, 1/3, 2/3)."""
    n = 5
    truth, mu = prediction.random_walk_truth(n, 1)
    idx = np.clip(np.arange(n + 2) - 1, 0, n - 1).reshape(-1, 1).astype(np.int64)
    val = np.ones((n + 2, 1))
    val[0] = val[-1] = 0.0
    w, err, _ = prediction.evaluate_many(
        "semi_gradient_td", (idx, val, n), 1, 0, truth, mu, alpha=0.01, episodes=5000,
        record_every=5000, n_states=n, jump=1,
    )  # fmt: skip
    np.testing.assert_allclose(w[0], [-2 / 3, -1 / 3, 0.0, 1 / 3, 2 / 3], atol=0.06)
    assert err[0, -1] < 0.05


def test_prediction_kernels_equal_their_python() -> None:
    truth, mu = prediction.random_walk_truth()
    idx, val = features.aggregation_table(1000, 10)
    for kernel, n in ((prediction.gradient_mc, 1), (prediction.semi_gradient_td, 3)):
        cfg = prediction.make_config(alpha=1e-3, n=n, episodes=5, record_every=1)
        fast = kernel(idx, val, 10, cfg, truth, mu, np.random.default_rng(7))
        slow = kernel.py_func(idx, val, 10, cfg, truth, mu, np.random.default_rng(7))
        for a, b in zip(fast, slow, strict=True):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# Control


def test_control_kernels_equal_their_python() -> None:
    cfg = control.make_sarsa_config(alpha=0.5 / 8, n=4, episodes=2)
    snaps = np.array([2], dtype=np.int64)
    grid = np.linspace(-0.05, 0.05, 3)
    fast = control.n_step_sarsa(cfg, snaps, grid, grid, np.random.default_rng(1))
    slow = control.n_step_sarsa.py_func(cfg, snaps, grid, grid, np.random.default_rng(1))
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])
    np.testing.assert_array_equal(fast[3], slow[3])
    for trace in control.TRACES:
        cfg = control.make_sarsa_lambda_config(alpha=0.5 / 8, lam=0.9, trace=trace, episodes=1)
        fast = control.sarsa_lambda(cfg, np.random.default_rng(2))
        slow = control.sarsa_lambda.py_func(cfg, np.random.default_rng(2))
        np.testing.assert_array_equal(fast[0], slow[0])
        np.testing.assert_array_equal(fast[1], slow[1])
    cfg = control.make_access_control_config(steps=2000)
    fast = control.differential_sarsa(cfg, np.random.default_rng(3))
    slow = control.differential_sarsa.py_func(cfg, np.random.default_rng(3))
    np.testing.assert_array_equal(fast[0], slow[0])
    assert fast[1] == slow[1]


@pytest.mark.parametrize("trace", ["replacing", "accumulating", "replacing_clearing"])
def test_sarsa_lambda_zero_is_one_step_sarsa(trace: str) -> None:
    """With lambda = 0 the trace is x(S, A) alone, so Sarsa(lambda) makes one-step Sarsa's
    updates and the same greedy choices: identical episode lengths from the same seed."""
    one = control.sarsa_many(4, 5, alpha=0.4 / 8, n=1, episodes=20)
    lam = control.sarsa_lambda_many(4, 5, alpha=0.4 / 8, lam=0.0, trace=trace, episodes=20)
    np.testing.assert_array_equal(one, lam)


def test_greedy_action_breaks_ties_uniformly() -> None:
    rng = np.random.default_rng(0)
    picks = [control.greedy_action(np.array([1.0, 3.0, 3.0]), 0.0, rng) for _ in range(4000)]
    counts = np.bincount(picks, minlength=3)
    assert counts[0] == 0 and abs(counts[1] - 2000) < 4 * np.sqrt(1000)


def test_access_control_step_hand_computed() -> None:
    rng = np.random.default_rng(0)
    assert control.access_control_step(3, 3, control.ACCEPT, 10, 0.0, rng)[::2] == (2, 8.0)
    assert control.access_control_step(3, 0, control.REJECT, 10, 0.0, rng)[::2] == (3, 0.0)
    assert control.access_control_step(0, 3, control.ACCEPT, 10, 0.0, rng)[::2] == (0, 0.0)
    assert control.access_control_step(0, 3, control.ACCEPT, 10, 1.0, rng)[::2] == (10, 0.0)


def test_configs_are_validated_and_cast() -> None:
    with pytest.raises(ValueError, match="alpha"):
        control.make_sarsa_config(alpha=0.0)
    with pytest.raises(ValueError, match="trace"):
        control.make_sarsa_lambda_config(trace="dutch")
    with pytest.raises(ValueError, match="lam"):
        control.make_sarsa_lambda_config(lam=1.5)
    with pytest.raises(ValueError, match="n_groups"):
        features.aggregation_table(1000, 7)
    with pytest.raises(ValueError, match="method"):
        prediction.evaluate_many("td", (None, None, 1), 1, 0, np.zeros(3), np.zeros(3))
    cfg = control.make_sarsa_config(alpha=1, n=np.int32(2))
    assert isinstance(cfg.alpha, float) and type(cfg.n) is int


def _book_sarsa_lambda(cfg: control.SarsaLambdaConfig, rng: np.random.Generator):
    """The book's boxes, densely in NumPy: Sarsa(lambda) with binary features (p. 305; with
    clearing, the other actions' traces at S are zeroed first) and true online Sarsa(lambda)
    (p. 307), every weight and trace updated every step."""
    nt = cfg.num_tilings
    iht, memo = features.make_iht(cfg.iht_size, 4), mountain_car.make_memo(nt)
    coords = mountain_car.scratch(nt)
    w, z = np.zeros(cfg.iht_size), np.zeros(cfg.iht_size)
    fs, fn = np.empty((3, nt), np.int64), np.empty((3, nt), np.int64)
    gl, steps = cfg.gamma * cfg.lam, []
    for _ in range(cfg.episodes):
        x, v = mountain_car.reset(rng)
        mountain_car.features(iht, memo, nt, x, v, coords, fs)
        a = control.greedy_action(w[fs].sum(axis=1), cfg.epsilon, rng)
        z[:], q_old, t = 0.0, 0.0, 0
        while True:
            x, v, r, terminated = mountain_car.step(x, v, a)
            t += 1
            done = terminated or t >= cfg.max_steps
            f, a_next = fs[a].copy(), 0
            if not done:
                mountain_car.features(iht, memo, nt, x, v, coords, fn)
                a_next = control.greedy_action(w[fn].sum(axis=1), cfg.epsilon, rng)
            x_sa = np.zeros_like(w)
            x_sa[f] = 1.0
            if cfg.trace == control.TRUE_ONLINE:
                q, q_next = w[f].sum(), 0.0 if done else w[fn[a_next]].sum()
                delta = r + cfg.gamma * q_next - q
                z = gl * z + (1.0 - cfg.alpha * gl * z[f].sum()) * x_sa
                w = w + cfg.alpha * (delta + q - q_old) * z - cfg.alpha * (q - q_old) * x_sa
                q_old = q_next
            else:
                delta = r - w[f].sum()
                if cfg.trace == control.REPLACING_CLEARING:
                    z[fs[[b for b in range(3) if b != a]].ravel()] = 0.0
                z[f] = z[f] + 1.0 if cfg.trace == control.ACCUMULATING else 1.0
                if not done:
                    delta += cfg.gamma * w[fn[a_next]].sum()
                w = w + cfg.alpha * delta * z
                z = gl * z
            if done:
                break
            fs[:], a = fn, a_next
        steps.append(t)
    return np.array(steps), w


@pytest.mark.parametrize("trace", sorted(control.TRACES))
def test_sarsa_lambda_equals_the_books_dense_algorithm(trace: str) -> None:
    """Same episode lengths and (to rounding) the same weights as the book's algorithm run
    densely, over two episodes (several thousand steps, lambda 0.9)."""
    cfg = control.make_sarsa_lambda_config(alpha=0.5 / 8, lam=0.9, trace=trace, episodes=2)
    steps, w = control.sarsa_lambda(cfg, np.random.default_rng(1))
    ref_steps, ref_w = _book_sarsa_lambda(cfg, np.random.default_rng(1))
    np.testing.assert_array_equal(steps, ref_steps)
    np.testing.assert_allclose(w, ref_w, rtol=0, atol=1e-12)
