"""The timing harnesses' ``--pythonpath``: a child process times another checkout's numbarl,
``numbarl.envs`` (the repository's ``envs/`` folder mapped into the package) included."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.experiment_helpers import common

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
import numbarl.envs.control.core
import numbarl.deep.rollout
print(sys.modules["numbarl"].__file__)
print(sys.modules["numbarl.envs"].__file__)
print(sys.modules["numbarl.envs.control.core"].__file__)
"""


def test_a_child_times_the_other_checkouts_envs_too(tmp_path: Path) -> None:
    tree = tmp_path / "other"
    tree.mkdir()
    (tree / "numbarl").symlink_to(ROOT / "numbarl", target_is_directory=True)
    shutil.copytree(ROOT / "envs", tree / "envs", ignore=shutil.ignore_patterns("__pycache__"))
    env = common.checkout_env(dict(os.environ, NUMBARL_CHECKOUT_ENVS="stale"), str(tree))
    assert env["PYTHONPATH"] == str(tree)
    assert env["NUMBARL_CHECKOUT_ENVS"] == str(tree / "envs")
    out = subprocess.run(
        [sys.executable, "-c", common.CHECKOUT_PREAMBLE + PROBE],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [
        str(tree / "numbarl" / "__init__.py"),
        str(tree / "envs" / "__init__.py"),
        str(tree / "envs" / "control" / "core.py"),
    ]


def test_without_a_checkout_the_child_keeps_the_installed_numbarl() -> None:
    env = common.checkout_env(dict(os.environ, NUMBARL_CHECKOUT_ENVS="stale"), None)
    assert "NUMBARL_CHECKOUT_ENVS" not in env
    out = subprocess.run(
        [sys.executable, "-c", common.CHECKOUT_PREAMBLE + PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[1] == str(ROOT / "envs" / "__init__.py")
