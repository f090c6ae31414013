"""The wheel carries what the builder reads, and CI runs the README's test command."""

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            out,
            REPO,
        ],
        check=True,
        capture_output=True,
        cwd=out,
    )
    (path,) = out.glob("mpii_pose-*.whl")
    return path


def test_wheel_holds_checksums_sample_and_dataset_docs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "checksums.tsv",
        "README.md",
        "CITATIONS.bib",
        "TAGS.txt",
        "dummy_data/train.json",
        "dummy_data/valid.json",
        "dummy_data/gt_valid.mat",
        "dummy_data/mpii_human_pose_v1_u12_2/mpii_human_pose_v1_u12_1.mat",
        "mpii_pose_dataset_builder.py",
    ):
        assert f"mpii_pose/{name}" in names
    sample_images = {n for n in names if n.startswith("mpii_pose/dummy_data/images/")}
    assert len(sample_images) == len(list((REPO / "mpii_pose/dummy_data/images").iterdir()))
    checksums = zipfile.ZipFile(wheel).read("mpii_pose/checksums.tsv")
    assert checksums == (REPO / "checksums.tsv").read_bytes()  # a copy of the root file, not a link


@pytest.mark.parametrize("install", ["wheel", "editable"])
def test_builder_reads_the_root_checksums(wheel, tmp_path, install):
    """From an unpacked wheel and from the source tree, TFDS finds the repository's checksums.tsv."""
    if install == "wheel":
        zipfile.ZipFile(wheel).extractall(tmp_path)
        path = tmp_path
    else:
        path = REPO
    code = (
        "import mpii_pose, pathlib; b = mpii_pose.Builder; "
        "print(pathlib.Path(mpii_pose.__file__).parent); print(b._checksums_path.read_text()); "
        "print(sorted(b.url_infos))"
    )
    env = {**os.environ, "PYTHONPATH": str(path)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    package_dir, rest = out.split("\n", 1)
    assert Path(package_dir) == path / "mpii_pose"
    assert rest.startswith((REPO / "checksums.tsv").read_text())
    assert "mpii_human_pose_v1.tar.gz" in rest.splitlines()[-1]


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, flags=re.S)
    assert len(commands) >= 2
    test_command = commands[1].strip()
    assert "pytest" in test_command
    assert test_command in (REPO / ".ci" / "run").read_text()
