"""experiments/record_vs_structref.py: a record of arrays passed by value against a structref,
measured on one synthetic kernel compiled cold in each form (docs/cold_compile.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.experiment_helpers import common


def test_the_structref_form_compiles_less_code_and_computes_the_same(tmp_path: Path) -> None:
    script = common.load("record_vs_structref")
    table = script.main(["--arrays", "8", "--repeats", "1", "--out", str(tmp_path)])
    rows = {row.form: row for row in table.itertuples()}
    assert set(rows) == {"tuple", "struct"}
    tuple_, struct = rows["tuple"], rows["struct"]
    assert struct.result == tuple_.result  # the same arithmetic on the same arrays
    # the line counts are deterministic: a pointer to the record against the record's moves
    assert struct.raw_lines < tuple_.raw_lines
    assert struct.optimised_lines < tuple_.optimised_lines
    assert struct.wrapper_lines < tuple_.wrapper_lines  # one pointer unboxed, not 8 arrays
    assert struct.constructor_cpu_s > 0 and tuple_.constructor_cpu_s == 0
    assert (tmp_path / "record_vs_structref.csv").exists()


def test_bad_input_is_refused_before_a_child_runs() -> None:
    script = common.load("record_vs_structref")
    with pytest.raises(ValueError, match="form"):
        script.measure("list", 8)
    with pytest.raises(ValueError, match="arrays"):
        script.measure("tuple", 1)
