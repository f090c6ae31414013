"""Packaging: the wheel holds the package, and the installed package finds its data files.

The wheel is built from a clean copy of the checkout and installed with `pip install --no-index`
into a new virtual environment (the `wheel` and `fresh` fixtures of conftest.py). README's code
blocks run from that environment in tests/test_readme.py.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO, fresh_env, run_in


def test_the_wheel_holds_every_module_and_data_file_of_the_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    package = REPO / "mpii_pose"
    files = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert {p.relative_to(REPO).as_posix() for p in files} <= names
    assert "mpii_pose/engines/ray_engine.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "examples/"))]
    checksums = zipfile.ZipFile(wheel).read("mpii_pose/checksums.tsv")
    assert checksums == (REPO / "checksums.tsv").read_bytes()  # a copy of the root file, not a link


_PRINT_CHECKSUMS = (
    "import mpii_pose, pathlib; b = mpii_pose.Builder; "
    "print(pathlib.Path(mpii_pose.__file__).parent); print(b._checksums_path.read_text()); "
    "print(sorted(b.url_infos))"
)


def _assert_root_checksums(printed: str, package_root: Path) -> None:
    """`_PRINT_CHECKSUMS` ran from `package_root` and found the repository's checksums.tsv."""
    package_dir, rest = printed.split("\n", 1)
    assert Path(package_dir).is_relative_to(package_root)
    assert rest.startswith((REPO / "checksums.tsv").read_text())
    assert "mpii_human_pose_v1.tar.gz" in rest.splitlines()[-1]


@pytest.mark.slow
def test_the_installed_builder_reads_the_packaged_checksums(fresh, tmp_path):
    out = run_in(fresh_env(fresh), f'python -c "{_PRINT_CHECKSUMS}"', tmp_path).stdout
    _assert_root_checksums(out, fresh.parent / "lib")


def test_the_checkout_builder_reads_the_root_checksums():
    printed = subprocess.run(
        [sys.executable, "-c", _PRINT_CHECKSUMS], cwd=REPO, check=True, capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    _assert_root_checksums(printed, REPO)
