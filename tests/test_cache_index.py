"""numbarl.envs.cache_index: a Numba cache index naming a record type that no longer exists
(an older numbarl's) is treated as stale, so the function compiles and the index is rewritten."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core import caching

from numbarl.envs import cache_index

_MODULE = """
from typing import NamedTuple

import numpy as np
from numba import njit


class {record}(NamedTuple):
    a: np.ndarray


@njit(cache=True)
def total(r):
    return r.a.sum()


def call():
    return total({record}(np.ones(3)))
"""

_CALL = """
import sys
if sys.argv[1] == "numbarl":
    import numbarl.envs  # noqa: F401 - installs the guard
import stalemod
print(stalemod.call())
"""


def _run(tmp_path: Path, guard: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(tmp_path))
    argv = [sys.executable, "-c", _CALL, "numbarl" if guard else "plain"]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


def test_an_index_naming_a_removed_type_is_ignored_and_rewritten(tmp_path: Path) -> None:
    module = tmp_path / "stalemod.py"
    module.write_text(_MODULE.format(record="OldRecord"))
    first = _run(tmp_path, guard=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["3.0"]
    index = list((tmp_path / "cache").rglob("*total*.nbi"))
    assert len(index) == 1, "the first call saves the function's index"

    # The record type is renamed: the index still pickles a reference to ``OldRecord``.
    module.write_text(_MODULE.format(record="NewRecord"))
    guarded = _run(tmp_path, guard=True)
    assert guarded.returncode == 0, guarded.stderr
    assert guarded.stdout.split() == ["3.0"]
    assert b"OldRecord" not in index[0].read_bytes(), "the stale index is rewritten on save"

    # Rewritten, the index loads without the guard, and holds the new compile.
    plain = _run(tmp_path, guard=False)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.split() == ["3.0"]


def test_only_stale_index_errors_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    load = caching.IndexDataCacheFile._load_index
    assert load.__wrapped__ is not None, "numbarl.envs installs the guard on import"

    def failing(error: BaseException):  # noqa: ANN202
        def load(self):  # noqa: ANN001, ANN202
            raise error

        return cache_index._load_index_or_empty(load)

    for error in (AttributeError("x"), ModuleNotFoundError("m"), EOFError()):
        assert failing(error)(None) == {}
    with pytest.raises(OSError, match="disk"):
        failing(OSError("disk"))(None)
