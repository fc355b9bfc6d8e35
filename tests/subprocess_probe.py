"""Run a probe script in a fresh Python process and read the JSON line it prints last: for tests
that compare what Numba compiles with one of numbarl's changes to it on and off."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run_probe(script: str, mode: str) -> dict:
    """``python -c script mode`` with ``PYTHONHASHSEED=0`` (the same set orders in every
    process); the last line of its output parsed as JSON."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [sys.executable, "-c", script, mode], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
