"""The Ray backend: a real local Ray writes the same bytes as local workers, and runs a check
suite whose user env exists in the Ray workers only through the suite's import list."""

import json
import time
from pathlib import Path

import pytest

from numbarl.check import run_suite
from numbarl.cli import main
from numbarl.sweep import sweep

GRID = {"alpha": [0.2, 0.5]}
CATCH = Path(__file__).resolve().parent.parent / "examples" / "catch.py"  # registers Catch-v0


@pytest.fixture(scope="module")
def local_ray():
    """One real local Ray (2 CPUs) for the module's Ray tests: starting one takes seconds."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _bytes(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_ray_sweep_writes_the_local_bytes_and_resumes(tmp_path, local_ray):
    local = sweep("q_learning", "CliffWalking-v1", [0, 1], tmp_path / "local", GRID, episodes=50)
    out = tmp_path / "ray"
    df = sweep("q_learning", "CliffWalking-v1", [0, 1], out, GRID, backend="ray", episodes=50)
    assert _bytes(out) == _bytes(tmp_path / "local")
    assert df.equals(local)
    lost = sorted(out.glob("*.csv"))[0]
    lost.unlink()  # an interrupted sweep; rerunning on Ray completes it
    sweep("q_learning", "CliffWalking-v1", [0, 1], out, GRID, backend="ray", episodes=50)
    assert _bytes(out) == _bytes(tmp_path / "local")


def test_check_suite_on_ray_with_a_user_env(tmp_path, local_ray):
    suite = tmp_path / "ray.toml"
    suite.write_text(
        f'name = "on-ray"\nimport = [{json.dumps(str(CATCH))}]\n'
        '[[case]]\nalgo = "ppo"\nenv = "Catch-v0"\nseeds = 2\nthreshold = 0.9\n'
        '[[case]]\nalgo = "q_learning"\nenv = "CliffWalking-v1"\nseeds = 2\nthreshold = -13.0\n'
        "eval_episodes = 1\n"
    )
    report = run_suite(suite, backend="ray", out=tmp_path / "out")
    assert report.ok, report.text()
    assert list(report.table["passing"]) == [2, 2]


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
