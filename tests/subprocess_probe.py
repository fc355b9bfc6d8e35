"""Run a probe script in a fresh Python process and read the JSON line it prints last: for tests
that compare what Numba compiles with one of numbarl's changes to it on and off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_probe(script: str, mode: str) -> dict:
    """``python -c script mode`` with ``PYTHONHASHSEED=0`` (the same set orders in every
    process); the last line of its output parsed as JSON."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [sys.executable, "-c", script, mode], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_on_and_off(
    script: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> tuple[dict, dict]:
    """``run_probe(script, mode)`` with a change on, then off, each compiling on an empty Numba
    cache of its own under ``tmp_path`` (numbarl's generated modules in it too), ``env`` set,
    and ``PROBE_OUT`` a file stem of the mode's own for a probe that writes files."""
    result = {}
    for mode in ("on", "off"):
        cache = tmp_path / f"cache_{mode}"
        monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
        monkeypatch.setenv("NUMBARL_CACHE_DIR", str(cache / "numbarl"))
        monkeypatch.setenv("PROBE_OUT", str(tmp_path / mode))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        result[mode] = run_probe(script, mode)
    return result["on"], result["off"]


def train_digest_script(setup: str, algo: str) -> str:
    """A probe that runs ``setup`` (code that turns a change off when the probe's argument,
    ``sys.argv[1]``, is "off"), then trains ``algo`` on CartPole-v1 for 4,096 steps through the
    CLI and prints a digest of the saved parameters and the history."""
    return f"""
import hashlib, json, os, sys
{setup}
from numbarl import cli

out = os.environ["PROBE_OUT"]
cli.main(["train", "{algo}", "CartPole-v1", "--steps", "4096", "--seed", "3",
          "--out", out + ".csv", "--save", out + ".npz"])
digest = hashlib.sha1(open(out + ".npz", "rb").read() + open(out + ".csv", "rb").read())
print(json.dumps({{"digest": digest.hexdigest()}}))
"""


def assert_trains_to_the_same_bytes(
    setup: str, algo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``algo`` trained in fresh processes (empty caches, two compile workers) with a change on
    and off (``setup``: ``train_digest_script``) saves the same bytes."""
    script = train_digest_script(setup, algo)
    on, off = run_on_and_off(script, tmp_path, monkeypatch, NUMBARL_COMPILE_WORKERS="2")
    assert on["digest"] == off["digest"]
