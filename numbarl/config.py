"""Config records: build a NamedTuple config from user overrides, with types and ranges checked.

Every algorithm's hyperparameters are one ``NamedTuple`` of scalars. Field types are part of
Numba's compiled signature, so values are cast here, once, to the field's declared type (an ``int``
given for a float field becomes a float; a float given for an int field is an error). Ranges come
from the field name (``alpha*`` > 0, ``gamma``/``epsilon``/``lam`` in [0, 1], counts >= 1) plus any
``_ranges`` the config class declares.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, get_type_hints

from numbarl.validation import AT_LEAST_ONE as _AT_LEAST_ONE
from numbarl.validation import NON_NEGATIVE as _NON_NEGATIVE
from numbarl.validation import POSITIVE as _POSITIVE
from numbarl.validation import UNIT as _UNIT
from numbarl.validation import Range

# Ranges implied by common field names.
NAME_RANGES: dict[str, Range] = {
    "gamma": _UNIT,
    "epsilon": _UNIT,
    "lam": _UNIT,
    "gae_lambda": _UNIT,
    "episodes": _AT_LEAST_ONE,
    "runs": _AT_LEAST_ONE,
    "n": _AT_LEAST_ONE,
    "steps": _AT_LEAST_ONE,
    "total_steps": _AT_LEAST_ONE,
    "batch_size": _AT_LEAST_ONE,
    "max_steps": _NON_NEGATIVE,
}


def field_range(cls: type, field: str) -> Range | None:
    declared = getattr(cls, "_ranges", None)
    if isinstance(declared, dict) and field in declared:
        return declared[field]
    if field.startswith("alpha") or field.startswith("lr") or field == "learning_rate":
        return _POSITIVE
    return NAME_RANGES.get(field)


def describe_range(rng: Range) -> str:
    lo, hi, lo_inc, hi_inc = rng
    if lo is not None and hi is not None:
        return f"{'[' if lo_inc else '('}{lo:g}, {hi:g}{']' if hi_inc else ')'}"
    if lo is not None:
        return f"{'>=' if lo_inc else '>'} {lo:g}"
    if hi is not None:
        return f"{'<=' if hi_inc else '<'} {hi:g}"
    return "any value"


def field_types(cls: type) -> dict[str, type]:
    hints = get_type_hints(cls)
    return {f: hints.get(f, type(cls._field_defaults.get(f))) for f in cls._fields}


def _cast(cls: type, field: str, kind: type, value: Any) -> Any:
    name = f"{cls.__name__}.{field}"
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
            return value.lower() in {"true", "1", "yes"}
        raise TypeError(f"{name} must be a bool, got {value!r}")
    if kind is int:
        if isinstance(value, bool):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                raise TypeError(f"{name} must be an integer, got {value!r}") from None
        if hasattr(value, "__index__"):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if kind is float:
        if isinstance(value, bool):
            raise TypeError(f"{name} must be a number, got {value!r}")
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a number, got {value!r}") from None
        if math.isnan(out):
            raise ValueError(f"{name} must not be NaN")
        return out
    if kind is str:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {value!r}")
        return value
    return value


def make_config(cls: type[NamedTuple], overrides: dict[str, Any] | None = None, **more: Any):
    """``cls(**defaults | overrides)`` with unknown fields, types and ranges checked.

    Raises ValueError for unknown fields or out-of-range values and TypeError for wrong types,
    each naming the field and what is allowed."""
    values = dict(overrides or {})
    values.update(more)
    unknown = sorted(set(values) - set(cls._fields))
    if unknown:
        raise ValueError(
            f"{cls.__name__}: unknown field(s) {', '.join(unknown)}; "
            f"fields: {', '.join(cls._fields)}"
        )
    types = field_types(cls)
    out = dict(cls._field_defaults)
    for field, value in values.items():
        out[field] = _cast(cls, field, types[field], value)
    missing = [f for f in cls._fields if f not in out]
    if missing:
        raise ValueError(f"{cls.__name__}: missing field(s) {', '.join(missing)}")
    for field in cls._fields:
        value = out[field]
        choices = getattr(cls, "_choices", {}).get(field)
        if choices is not None and value not in choices:
            raise ValueError(
                f"{cls.__name__}.{field} must be one of {', '.join(map(repr, choices))}, "
                f"got {value!r}"
            )
        rng = field_range(cls, field)
        if rng is None or isinstance(value, bool | str):
            continue
        lo, hi, lo_inc, hi_inc = rng
        ok = (lo is None or (value >= lo if lo_inc else value > lo)) and (
            hi is None or (value <= hi if hi_inc else value < hi)
        )
        if not ok or (
            isinstance(value, float)
            and not math.isfinite(value)
            and hi is None
            and lo is not None
            and value < 0
        ):
            raise ValueError(f"{cls.__name__}.{field} must be {describe_range(rng)}, got {value!r}")
    return cls(**out)


def env_id(env: Any) -> str | None:
    """The registered id of an env: the string itself, a Gymnasium env's ``spec.id`` or a
    numbarl env's ``id`` (None if it has none)."""
    if isinstance(env, str):
        return env
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or getattr(env, "id", None)


def merge_config(
    cls: type, tuned: dict[str, dict[str, Any]], env: Any, cfg: Any, overrides: dict[str, Any]
):
    """A checked ``cls`` config: its defaults, then ``tuned[env id]`` when ``cfg`` is None or a
    dict (dict values and ``overrides`` win). A ``cls`` instance given is re-checked as is."""
    if isinstance(cfg, cls):
        values = cfg._asdict()
    else:
        if cfg is not None and not isinstance(cfg, dict):
            article = "an" if cls.__name__[0] in "AEIOU" else "a"
            raise TypeError(
                f"cfg must be {article} {cls.__name__}, a dict or None, got {type(cfg).__name__}"
            )
        values = dict(tuned.get(env_id(env) or "", {}))
        values.update(cfg or {})
    values.update(overrides)
    return make_config(cls, values)


def config_table(cls: type[NamedTuple]) -> list[tuple[str, str, Any]]:
    """(field, type name, default) rows for listings."""
    types = field_types(cls)
    return [(f, types[f].__name__, cls._field_defaults.get(f)) for f in cls._fields]
