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
