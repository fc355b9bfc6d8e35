"""pytest helpers for learning regressions in your own test suite.

``assert_learns(algo, env, threshold=..., seeds=5, need=4, max_steps=50_000, **config)`` trains
``seeds`` seeds (in parallel worker processes) and fails with the `numbarl check` table unless at
least ``need`` final policies reach ``threshold`` (mean return over ``eval_episodes`` fresh
episodes), within ``max_steps`` env steps if given::

    from numbarl.testing import assert_learns

    def test_ppo_still_solves_cartpole():
        assert_learns("ppo", "CartPole-v1", threshold=475, seeds=5, need=4, max_steps=50_000)

``suite_fixture(path)`` makes a pytest fixture that runs a suite file once (per module by
default) and returns its `numbarl.check.CheckReport`; ``assert_suite(path)`` runs one and fails
with the table unless every case holds::

    from numbarl.testing import suite_fixture

    learning = suite_fixture("tests/learning.toml")

    def test_learning_suite_holds(learning):
        assert learning.ok, learning.text()
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .check import CheckReport, parse_suite, run_suite

__all__ = ["assert_learns", "assert_suite", "suite_fixture"]


def assert_learns(
    algo: str,
    env: str,
    threshold: float,
    seeds: int | list[int] = 5,
    need: int | None = None,
    max_steps: int | None = None,
    *,
    eval_episodes: int = 20,
    first_seed: int = 0,
    env_options: dict[str, Any] | None = None,
    workers: int | None = None,
    imports: Sequence[str] = (),
    **config: Any,
) -> CheckReport:
    """Fail (AssertionError with the table) unless ``need`` of ``seeds`` seeds reach
    ``threshold`` on fresh episodes (default: every seed). ``config`` overrides the algorithm's
    tuned defaults. ``imports``: modules (names or ``.py`` paths) that register a user's
    ``env``; the worker processes import them too. Returns the report (``report.runs`` holds
    one row per seed)."""
    case: dict[str, Any] = {
        "name": f"{algo}-{env}",
        "algo": algo,
        "env": env,
        "seeds": seeds,
        "first_seed": first_seed,
        "threshold": threshold,
        "eval_episodes": eval_episodes,
        "config": config,
        "env_options": env_options or {},
    }
    if need is not None:
        case["need"] = need
    if max_steps is not None:
        case["max_steps"] = max_steps
    modules = [imports] if isinstance(imports, str) else list(imports)
    raw = {"name": "assert_learns", "import": modules, "case": [case]}
    suite = parse_suite(raw, "assert_learns")
    report = run_suite(suite, workers=workers)
    if not report.ok:
        raise AssertionError(f"{algo} does not learn {env}:\n{report.text()}")
    return report


def assert_suite(path: str | Path, **options: Any) -> CheckReport:
    """Run the suite file at ``path`` (options as `numbarl.check.run_suite`); AssertionError
    with the table unless every case holds."""
    report = run_suite(path, **options)
    if not report.ok:
        raise AssertionError(f"suite {report.suite.name!r} does not hold:\n{report.text()}")
    return report


def suite_fixture(path: str | Path, scope: str = "module", **options: Any):
    """A pytest fixture running the suite at ``path`` once per ``scope``; it returns the
    `CheckReport` (``report.ok``, ``report.text()``, ``report.runs``, ``report.table``).
    Assign it to a name in a test module or conftest.py; that name is the fixture's."""
    import pytest

    @pytest.fixture(scope=scope)
    def _suite() -> CheckReport:
        return run_suite(path, **options)

    return _suite
