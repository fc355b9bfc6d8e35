"""Every ```python block of README.md runs as written (saved as a script in a scratch directory,
as a user would, so its own @njit(cache=True) functions have a file to cache beside)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "block.py").write_text(BLOCKS[index])
    res = subprocess.run(
        [sys.executable, "block.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, f"README block {index} failed:\n{BLOCKS[index]}\n{res.stderr}"
