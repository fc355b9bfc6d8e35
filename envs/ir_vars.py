"""Numba lists the variables of an IR statement without a call per attribute.

Numba's analyses (variable lifetimes, use-def chains, liveness, dead-code removal; run after
every inlining and rewrite) ask each statement for its variables (``ir.Inst.list_vars``), which
walks the statement's attribute dict recursively (``Inst._rec_list_vars``): one Python call and
up to four ``isinstance`` checks for every attribute, its source location and name strings
included. In a cold TRPO start that walk made 1.3 million calls, about a tenth of the Python
calls of the compile (cProfile).

While this module is imported (``numbarl.envs`` imports it, so every numbarl kernel is covered),
the walk takes a variable, and skips a string, an integer, a source location or ``None``, where
it meets one, and calls itself only for anything else; any other value goes through the original
checks in the original order. The same variables come back in the same order
(tests/test_ir_vars.py compares every statement of compiled functions with the original).
"""

from __future__ import annotations

from typing import Any

from numba.core import ir

_Var, _Inst, _Loc = ir.Var, ir.Inst, ir.Loc
_PLAIN = (str, int, float, bool, type(None), _Loc)  # exact types that hold no variable


def _rec_list_vars(self: Any, val: Any) -> list:
    kind = type(val)
    if kind is _Var:
        return [val]
    if kind is dict:
        values = val.values()
    elif kind is list or kind is tuple:
        values = val
    elif isinstance(val, _Var):
        return [val]
    elif isinstance(val, _Inst):
        return val.list_vars()
    elif isinstance(val, (list, tuple)):
        values = val
    elif isinstance(val, dict):
        values = val.values()
    else:
        return []
    found = []
    for item in values:
        kind = type(item)
        if kind is _Var:
            found.append(item)
        elif kind not in _PLAIN:
            found.extend(self._rec_list_vars(item))
    return found


_original = getattr(_Inst, "_rec_list_vars", None)
if _original is not None and not hasattr(_original, "__wrapped__"):  # once, even if re-imported
    _rec_list_vars.__wrapped__ = _original
    _rec_list_vars.__doc__ = _original.__doc__
    _Inst._rec_list_vars = _rec_list_vars
