"""Parallel sweeps: same bytes whatever the worker count; interruptions keep finished runs whole."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from numbarl.cli import main
from numbarl.sweep import Job, ModuleRef, open_runner, sweep

GRID = {"alpha": [0.2, 0.5]}
CATCH = Path(__file__).resolve().parent.parent / "examples" / "catch.py"  # registers Catch-v0
# epsilon = 1 walks at random on the cliff: ~0.1 s per run, long enough to interrupt mid-sweep.
SLOW = ["--set", "episodes=300", "--set", "epsilon=1.0", "--grid", "alpha=0.2,0.5"]


def _bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_one_and_two_workers_write_identical_bytes(tmp_path):
    one = sweep(
        "q_learning", "CliffWalking-v1", range(3), tmp_path / "one", GRID, workers=1, episodes=30
    )
    two = sweep(
        "q_learning", "CliffWalking-v1", range(3), tmp_path / "two", GRID, workers=2, episodes=30
    )
    a, b = _bytes(tmp_path / "one"), _bytes(tmp_path / "two")
    assert len(a) == 6 and a == b
    assert one.equals(two)


def test_workers_start_from_a_forkserver_while_other_threads_run(tmp_path):
    # Forking a process that runs other threads can deadlock the child: while one runs, the
    # workers come from a forkserver, and the files are the same bytes as forked workers give.
    from numbarl.sweep import _start_context

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert _start_context().get_start_method() != "fork"
        sweep("q_learning", "CliffWalking-v1", [0, 1], tmp_path / "a", GRID, workers=2, episodes=30)
    finally:
        stop.set()
        thread.join()
    sweep("q_learning", "CliffWalking-v1", [0, 1], tmp_path / "b", GRID, workers=2, episodes=30)
    a, b = _bytes(tmp_path / "a"), _bytes(tmp_path / "b")
    assert len(a) == 4 and a == b


def test_final_policy_evaluation_adds_run_columns(tmp_path):
    df = sweep(
        "q_learning", "CliffWalking-v1", [0, 1], tmp_path, workers=2, eval_episodes=3, episodes=300
    )
    finals = df.groupby("seed")[["final_return", "final_episodes"]].nunique()
    assert (finals == 1).all().all()  # one value per run, repeated on its rows
    assert set(df["final_episodes"]) == {3}
    assert df["final_return"].between(-17.0, -13.0).all()  # greedy: the shortest path costs 13


def test_worker_processes_import_the_user_env_modules_they_are_given(tmp_path):
    # A worker process knows only the built-in envs: Catch-v0 exists there because each worker
    # imports the sweep's `imports` (the CLI's --import) before its first run.
    args = ["sweep", "ppo", "Catch-v0", "--import", str(CATCH), "--seeds", "2"]
    args += ["--set", "total_steps=1024", "--eval-episodes", "2"]
    assert main([*args, "--workers", "2", "--out", str(tmp_path / "two")]) == 0
    one = sweep(
        "ppo",
        "Catch-v0",
        range(2),
        tmp_path / "one",
        workers=1,
        imports=[str(CATCH)],
        eval_episodes=2,
        total_steps=1024,
    )
    assert set(one["env"]) == {"Catch-v0"} and set(one["seed"]) == {0, 1}
    assert _bytes(tmp_path / "two") == _bytes(tmp_path / "one")
    # a worker that cannot import a module says which, where it looked, and what to do
    job = Job("ppo", "Catch-v0", 0, {}, imports=(ModuleRef("no_such_env_mod", str(tmp_path)),))
    with open_runner("local", 2, jobs=2) as runner:
        results = dict(runner.run([job, job]))
    assert all(isinstance(r, ValueError) for r in results.values())
    assert "cannot import 'no_such_env_mod'" in str(results[0]) and str(tmp_path) in str(results[0])


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            out.setdefault(ppid, []).append(int(entry.name))
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def _workers(pid: int) -> list[int]:
    """The sweep's worker processes: children of ``pid`` forked from it (same command line),
    or children of its forkserver (a child of ``pid``)."""
    tree = _children()
    workers = []
    for child in tree.get(pid, []):
        if _cmdline(child) == _cmdline(pid):
            workers.append(child)
        elif b"forkserver" in _cmdline(child):
            workers += tree.get(child, [])
    return workers


def _start_sweep(out: Path, seeds: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "numbarl", "sweep", "q_learning", "CliffWalking-v1"]
    cmd += ["--seeds", str(seeds), *SLOW, "--workers", "2", "--out", str(out)]
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    """In the child before it starts: SIGINT back to its default, so Python installs its
    Ctrl-C handler even when this test runs with SIGINT ignored (a background job of a
    non-interactive shell, nohup), which the child would inherit and never be interrupted."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_files(proc: subprocess.Popen, out: Path, n: int) -> None:
    deadline = time.monotonic() + 120
    while len(list(out.glob("*.csv"))) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _check_resumes(out: Path, reference: dict[str, bytes], seeds: int) -> None:
    assert not [p for p in out.iterdir() if not p.name.endswith(".csv")]  # no temporary file
    kept = _bytes(out)
    assert 0 < len(kept) < len(reference), "the interruption should land mid-sweep"
    assert all(kept[name] == reference[name] for name in kept)  # every kept file is whole
    args = ["sweep", "q_learning", "CliffWalking-v1", "--seeds", str(seeds), *SLOW]
    assert main([*args, "--workers", "1", "--out", str(out)]) == 0
    assert _bytes(out) == reference


SEEDS = 10  # 20 runs


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    ref = tmp_path_factory.mktemp("reference")
    sweep(
        "q_learning",
        "CliffWalking-v1",
        range(SEEDS),
        ref,
        GRID,
        workers=1,
        episodes=300,
        epsilon=1.0,
    )
    return _bytes(ref)


@pytest.mark.skipif(not Path("/proc").exists(), reason="finds worker processes through /proc")
@pytest.mark.parametrize("how", ["kill_worker", "sigterm", "sigint"])
def test_interrupted_sweep_keeps_whole_files_and_resumes(tmp_path, how, reference):
    seeds = SEEDS
    out = tmp_path / "out"
    proc = _start_sweep(out, seeds)
    _wait_for_files(proc, out, 3)
    if how == "kill_worker":
        workers = _workers(proc.pid)
        assert workers, "no worker process found"
        os.kill(workers[-1], signal.SIGKILL)
    elif how == "sigterm":
        proc.send_signal(signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=180)  # generous: a loaded CI machine
    assert proc.returncode == (1 if how == "kill_worker" else 130), err
    assert "rerun the same command to resume" in err
    _check_resumes(out, reference, seeds)


def test_bad_sweep_input_exits_2_naming_the_problem(tmp_path, capsys):
    base = ["sweep", "q_learning", "CliffWalking-v1", "--seeds", "2", "--out", str(tmp_path / "o")]
    assert main([*base, "--grid", "alhpa=0.1,0.2"]) == 2
    assert "unknown field(s) alhpa" in capsys.readouterr().err
    assert main([*base, "--grid", "alpha="]) == 2
    assert "--grid expects key=v1,v2" in capsys.readouterr().err
    assert main([*base, "--workers", "0"]) == 2
    assert "workers must be an integer >= 1" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing written
    with pytest.raises(ValueError, match="is empty"):
        sweep("q_learning", "CliffWalking-v1", [0], tmp_path / "o", {"alpha": []})
    assert main([*base, "--import", "no_such_env_mod"]) == 2
    assert "no module named 'no_such_env_mod'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no module named 'no_such_env_mod'"):
        sweep("q_learning", "CliffWalking-v1", [0], tmp_path / "o", imports=["no_such_env_mod"])
    assert not (tmp_path / "o").exists()


def test_a_dead_writers_temporary_file_is_removed(tmp_path):
    """A parent killed with SIGKILL mid-write leaves `.NAME.PID.HEX.tmp`; the rerun drops it."""
    stale = tmp_path / ".q-learning__CliffWalking-v1__seed-0.csv.4194305.0a1b.tmp"  # > pid_max
    stale.write_text("algorithm,env\nq_lear")
    mine = tmp_path / f".other.csv.{os.getpid()}.0a1b.tmp"  # a live writer's file stays
    mine.write_text("")
    sweep("q_learning", "CliffWalking-v1", [0], tmp_path, workers=1, episodes=5)
    assert not stale.exists() and mine.exists()


def test_a_failed_run_does_not_stop_the_others(tmp_path, monkeypatch):
    import numbarl.api
    from numbarl.errors import TrainingDiverged
    from numbarl.sweep import RunsFailed

    train = numbarl.api.train

    def flaky(algo, env, seed=0, **kw):
        if seed == 1:
            raise TrainingDiverged("Q became NaN in episode 3")
        return train(algo, env, seed=seed, **kw)

    monkeypatch.setattr(numbarl.api, "train", flaky)
    with pytest.raises(RunsFailed, match=r"1 of 3 runs failed.*seed 1: TrainingDiverged"):
        sweep("q_learning", "CliffWalking-v1", range(3), tmp_path, workers=1, episodes=5)
    assert len(list(tmp_path.glob("*.csv"))) == 2  # seeds 0 and 2
    # in worker processes too: the failing job comes back as its exception
    jobs = [Job("q_learning", "CliffWalking-v1", 0, {"episodes": 5}), Job("sarsa", "nope", 0, {})]
    with open_runner("local", 2, jobs=2) as runner:
        results = dict(runner.run(jobs))
    assert len(results[0].history) == 5 and isinstance(results[1], ValueError)
