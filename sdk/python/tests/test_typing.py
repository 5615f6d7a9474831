"""The package type-checks under ``mypy --strict`` (it ships ``py.typed``, so its users' checkers read its
annotations). mypy comes with the test extras (``pip install './sdk/python[test]'``) and
``scripts/ensure-deps --test``."""

import subprocess
import sys
from pathlib import Path

SDK = Path(__file__).resolve().parents[1]


def test_the_package_passes_mypy_strict(tmp_path):
    try:
        import mypy  # noqa: F401 - only whether it is installed
    except ImportError:
        raise AssertionError("mypy is missing: pip install './sdk/python[test]' or run scripts/ensure-deps --test")
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
                             "baton_worker"], cwd=SDK, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
