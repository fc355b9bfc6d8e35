"""numbarl.envs.compile_gc: Numba compiles with the collector's full collections paused, the
caller's thresholds back after the outermost compile (also when it fails)."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from numba import njit
from numba.core import event
from numba.core.errors import TypingError

from numbarl.envs import compile_gc
from numbarl.envs.compile_gc import COMPILE_GC_THRESHOLDS, pause_full_gc_while_compiling

SEEN: list[tuple[int, int, int]] = []


class _Record(event.Listener):
    """Registered after numbarl's listener: sees the thresholds each compile starts with."""

    def on_start(self, evt: event.Event) -> None:  # noqa: ARG002
        SEEN.append(gc.get_threshold())

    def on_end(self, evt: event.Event) -> None:  # noqa: ARG002
        pass


def _fresh_kernel():  # noqa: ANN202 - new functions each time: nothing compiled yet
    @njit
    def inner(x):  # noqa: ANN001, ANN202
        return x + 1

    @njit
    def outer(x):  # noqa: ANN001, ANN202
        return inner(x) * 2

    return outer


@pytest.fixture(autouse=True)
def _restore():  # noqa: ANN202
    saved = gc.get_threshold()
    SEEN.clear()
    with event.install_listener("numba:compile", _Record()):
        yield
    pause_full_gc_while_compiling(True)
    gc.set_threshold(*saved)


def test_a_compile_runs_with_the_compile_thresholds_and_restores_the_callers() -> None:
    gc.set_threshold(700, 10, 10)
    assert _fresh_kernel()(np.int64(3)) == 8
    # ``outer``'s compile, then ``inner``'s inside it: both with the compile thresholds
    assert SEEN == [COMPILE_GC_THRESHOLDS, COMPILE_GC_THRESHOLDS]
    assert gc.get_threshold() == (700, 10, 10)
    assert compile_gc._COMPILE_GC.depth == 0


def test_the_callers_own_thresholds_come_back() -> None:
    gc.set_threshold(1234, 5, 6)
    _fresh_kernel()(np.int64(1))
    assert SEEN == [COMPILE_GC_THRESHOLDS] * 2
    assert gc.get_threshold() == (1234, 5, 6)


def test_a_collector_turned_off_by_threshold_stays_off() -> None:
    gc.set_threshold(0, 10, 10)
    _fresh_kernel()(np.int64(1))
    assert SEEN == [(0, 10, 10)] * 2
    assert gc.get_threshold() == (0, 10, 10)


def test_turned_off_the_thresholds_are_left_alone() -> None:
    pause_full_gc_while_compiling(False)
    gc.set_threshold(700, 10, 10)
    _fresh_kernel()(np.int64(1))
    assert SEEN == [(700, 10, 10)] * 2
    assert gc.get_threshold() == (700, 10, 10)


def test_a_failed_compile_restores_the_thresholds() -> None:
    gc.set_threshold(700, 10, 10)

    @njit
    def broken(x):  # noqa: ANN001, ANN202
        return x + "text"  # int + str: a typing error inside the compile

    with pytest.raises(TypingError):
        broken(np.int64(1))
    assert SEEN == [COMPILE_GC_THRESHOLDS]
    assert gc.get_threshold() == (700, 10, 10)
    assert compile_gc._COMPILE_GC.depth == 0
