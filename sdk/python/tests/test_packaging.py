"""`pip install ./sdk/python` works: the package installs, imports, and ships its type marker. Offline when
the machine has setuptools and wheel (the build backend); otherwise pip fetches them, as it would for a
user."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import baton_worker

try:
    import tomllib
except ImportError:  # Python before 3.11
    import tomli as tomllib  # type: ignore[no-redef]

SDK = Path(__file__).resolve().parents[1]


def test_pip_installs_the_package_with_its_type_marker(short_dir):
    source = Path(short_dir) / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(SDK / name, source / name)  # a copy: pip builds in the source tree
    shutil.copytree(SDK / "baton_worker", source / "baton_worker", ignore=shutil.ignore_patterns("__pycache__"))
    target = Path(short_dir) / "site"
    try:
        import setuptools  # noqa: F401 - offline build with the installed backend
        import wheel  # noqa: F401 - setuptools before 70.1 needs it for bdist_wheel
        isolation = ["--no-build-isolation"]
    except ImportError:
        isolation = []  # pip fetches the build backend
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                             "--no-deps", *isolation, "--target", str(target), str(source)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "baton_worker" / "py.typed").is_file()
    check = subprocess.run([sys.executable, "-c", "import baton_worker; print(baton_worker.__file__, "
                            "baton_worker.__version__, sorted(baton_worker.__all__))"],
                           capture_output=True, text=True, cwd=short_dir, timeout=60,
                           env=dict(os.environ, PYTHONPATH=str(target)))
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(str(target / "baton_worker" / "__init__.py"))
    assert "['ExitReason', 'Session', 'Settings', 'SettingsError', 'Worker']" in check.stdout
    version = check.stdout.split()[1]
    metadata = next(target.glob("baton_worker-*.dist-info")) / "METADATA"
    text = metadata.read_text()
    assert "Requires-Dist: pyzmq" in text and "Requires-Python: >=3.9" in text
    assert f"\nVersion: {version}\n" in text, "the package's version is baton_worker.__version__"
    assert "Project-URL: Source, " in text and "Project-URL: Documentation, " in text
    assert "Provides-Extra: test" in text
    assert re.search(r"Requires-Dist: mypy.*extra == .test.", text), "the test extras bring mypy"


def test_the_version_is_written_in_one_place():
    with open(SDK / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)
    assert "version" not in project["project"], "pyproject.toml reads the version from the package"
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "baton_worker.__version__"}
    written = re.findall(r"^__version__ = \"([^\"]+)\"$", (SDK / "baton_worker" / "__init__.py").read_text(), re.M)
    assert len(written) == 1 and baton_worker.__version__ == written[0]
