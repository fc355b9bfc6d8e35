"""The one registry, its light import, and `evaluate` on files that are not numbarl saves."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import numbarl
from numbarl import algos, api
from numbarl.cli import main


def test_every_row_names_an_importable_module_and_config():
    for name, spec in algos.ALGOS.items():
        assert spec.name == name
        family = importlib.import_module(f"numbarl.{spec.family}")
        assert callable(family.run) and callable(family.evaluate)
        assert spec.env_kind in ("tabular", "control", "discrete", "continuous")
        assert api.config_class(name)._fields  # a NamedTuple


def test_deep_train_routes_by_the_registry_row():
    from numbarl.deep import train

    for name, spec in algos.ALGOS.items():
        if spec.family == "deep.train":
            assert train.module(name).__name__ == f"numbarl.{spec.module}"
    with pytest.raises(ValueError, match="unknown deep algorithm 'q_learning'"):
        train.module("q_learning")


def test_import_numbarl_and_listing_algorithms_load_no_algorithm_module():
    code = (
        "import sys, numbarl; numbarl.algorithms(); numbarl.api.algo_spec('ppo');"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(('numba', 'numbarl.')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.strip().split(","))
    assert "numba" not in loaded
    assert not any(
        m.startswith(("numbarl.deep", "numbarl.tabular", "numbarl.tuned")) for m in loaded
    )


def test_tuned_values_load_for_one_algorithm_only():
    assert api.tuned_defaults("q_learning", "Taxi-v4")["episodes"] == 5_000
    assert api.tuned_defaults("ppo_kl", "CartPole-v1")["variant"] == "kl"
    assert api.tuned_defaults("td0", "CliffWalking-v1") == {}


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    res = numbarl.train("q_learning", "CliffWalking-v1", seed=0, episodes=20)
    return res.save(tmp_path / "q.npz")


def test_a_save_round_trips(saved: Path):
    res = numbarl.Result.load(saved)
    assert res.algorithm == "q_learning" and res["q"].shape == (48, 4)


def _not_a_save(path: Path, capsys) -> str:
    with pytest.raises(ValueError, match="is not a numbarl save") as err:
        numbarl.Result.load(path)
    assert str(path) in str(err.value)
    assert "allow_pickle" not in str(err.value)
    assert main(["evaluate", str(path), "CliffWalking-v1"]) != 0
    message = capsys.readouterr().err
    assert str(path) in message and "is not a numbarl save" in message
    return str(err.value)


def test_evaluate_a_text_file_says_it_is_not_a_save(tmp_path: Path, capsys):
    path = tmp_path / "notes.npz"
    path.write_text("hello, not an archive\n")
    assert "not an .npz archive" in _not_a_save(path, capsys)


def test_evaluate_a_foreign_npz_says_it_is_not_a_save(tmp_path: Path, capsys):
    path = tmp_path / "weights.npz"
    np.savez(path, w=np.ones(3))
    assert "no numbarl metadata" in _not_a_save(path, capsys)


def test_loading_never_unpickles(tmp_path: Path, capsys, saved: Path):
    """An object array inside a file (what np.save writes for Python objects) is refused, not
    unpickled: the pickle's payload would create a file if it ran."""
    marker = tmp_path / "pwned"

    class Boom:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.npz"
    with np.load(saved) as data:
        entries = {k: data[k] for k in data.files}
    entries["q"] = np.array([Boom()], dtype=object)
    np.savez(path, **entries)  # allow_pickle is on for saving
    assert "never unpickles" in _not_a_save(path, capsys)
    assert not marker.exists()
    # metadata that names no algorithm numbarl knows is refused too
    bad = tmp_path / "bad.npz"
    np.savez(bad, __meta__=np.array(json.dumps({"algorithm": "nope", "env": "x", "seed": 0})))
    with pytest.raises(ValueError, match="bad.npz"):
        numbarl.Result.load(bad)
    assert zipfile.is_zipfile(bad)
