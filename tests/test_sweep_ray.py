"""The Ray backend: a real local Ray writes the same bytes as local workers."""

import time

import pytest

from numbarl.cli import main
from numbarl.sweep import sweep

GRID = {"alpha": [0.2, 0.5]}


def _bytes(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_ray_sweep_writes_the_local_bytes_and_resumes(tmp_path):
    ray = pytest.importorskip("ray")
    local = sweep("q_learning", "CliffWalking-v1", [0, 1], tmp_path / "local", GRID, episodes=50)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = tmp_path / "ray"
        df = sweep("q_learning", "CliffWalking-v1", [0, 1], out, GRID, backend="ray", episodes=50)
        assert _bytes(out) == _bytes(tmp_path / "local")
        assert df.equals(local)
        lost = sorted(out.glob("*.csv"))[0]
        lost.unlink()  # an interrupted sweep; rerunning on Ray completes it
        sweep("q_learning", "CliffWalking-v1", [0, 1], out, GRID, backend="ray", episodes=50)
        assert _bytes(out) == _bytes(tmp_path / "local")
    finally:
        ray.shutdown()


def test_ray_address_that_does_not_answer_fails_fast(tmp_path, capsys, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    out = tmp_path / "out"
    t0 = time.perf_counter()
    args = ["sweep", "q_learning", "CliffWalking-v1", "--seeds", "1", "--out", str(out)]
    assert main([*args, "--backend", "ray", "--address", "127.0.0.1:9"]) == 2
    assert time.perf_counter() - t0 < 10.0
    assert "does not answer" in capsys.readouterr().err
    assert not out.exists()  # nothing written
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")
    with pytest.raises(ValueError, match="127.0.0.1:9"):
        sweep("q_learning", "CliffWalking-v1", [0], out, backend="ray")
    assert not out.exists()


def test_without_ray_the_backend_says_how_to_install(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    args = ["sweep", "q_learning", "CliffWalking-v1", "--seeds", "1", "--out", str(tmp_path)]
    assert main([*args, "--backend", "ray"]) == 2
    assert 'pip install "numbarl[ray]"' in capsys.readouterr().err
