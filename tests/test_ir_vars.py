"""numbarl.envs.ir_vars: every IR statement lists the same variables in the same order as with
Numba's own walk."""

import operator

import numpy as np
import pytest
from numba.core import ir
from numba.core.compiler import run_frontend

import numbarl.envs  # noqa: F401  (installs the shorter walk)
from numbarl.deep import rollout, trpo
from numbarl.envs import ir_vars
from numbarl.nn import mlp


def _sample(a, b, k):  # noqa: ANN001, ANN202
    out = np.empty_like(a)
    total = 0.0
    for i in range(a.shape[0]):
        if a[i] > b[i % b.shape[0]] or k < 0:
            out[i] = max(a[i], b[0], *b[1:2])
        else:
            out[i] = (a[i] ** 2, -b[0])[k % 2]
        total += out[i]
    return out, {"t": total}, [total, k]


def _statements(fn) -> list:  # noqa: ANN001
    func_ir = run_frontend(fn)
    found = []
    for block in func_ir.blocks.values():
        for stmt in block.body:
            found.append(stmt)
            if isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Expr):
                found.append(stmt.value)
    return found


def _names(stmts: list) -> list:
    return [[v.name for v in s.list_vars()] for s in stmts]


def test_installed_once():
    assert ir.Inst._rec_list_vars is ir_vars._rec_list_vars
    assert not hasattr(ir_vars._original, "__wrapped__")


@pytest.mark.parametrize(
    "fn",
    [_sample, rollout._collect, trpo.cg_step.py_func, mlp.mlp_backward_into.py_func],
    ids=["sample", "collect", "cg_step", "mlp_backward_into"],
)
def test_same_variables_as_numbas_walk(fn, monkeypatch):  # noqa: ANN001
    stmts = _statements(fn)
    assert len(stmts) > 10
    fast = _names(stmts)
    monkeypatch.setattr(ir.Inst, "_rec_list_vars", ir_vars._original)
    assert _names(stmts) == fast
    assert any(len(names) > 2 for names in fast)


class _VarLike(ir.Var):
    """A subclass of Var: found through the original checks."""


def test_unusual_values_take_the_original_checks():
    scope = ir.Scope(None, ir.Loc("f", 1))
    loc = ir.Loc("f", 2)
    a, b = ir.Var(scope, "a", loc), _VarLike(scope, "b", loc)
    expr = ir.Expr.binop(fn=operator.add, lhs=a, rhs=b, loc=loc)

    class Listy(list):
        pass

    value = {"x": (a, [b, "s", 3, 2.5, None, loc]), "e": expr, "l": Listy([a]), "d": {"k": b}}
    stmt = ir.Assign(value=expr, target=a, loc=loc)
    fast = [v.name for v in stmt._rec_list_vars(value)]
    original = [v.name for v in ir_vars._original(stmt, value)]
    assert fast == original == ["a", "b", "a", "b", "a", "b"]
