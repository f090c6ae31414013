"""A disk that fills up mid-build: a clear error, nothing left behind, and a rerun that succeeds."""

import subprocess

import pytest

from mpii_pose.sources.manual_dir import SAMPLE_DIR
from tests.helpers import BIN, checked, digests, leftovers, run


@pytest.fixture
def small_disk(tmp_path):
    """A 300 KiB tmpfs (the sample's shards need about 600 KiB); skipped where mounting is denied."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)],
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("engine", ["local", pytest.param("ray", marks=pytest.mark.slow)])
def test_full_disk_fails_cleanly(small_disk, engine, tmp_path):
    args = [BIN / "mpii-pose", "build", "--manual_dir", SAMPLE_DIR, "--engine", engine, "--quiet"]
    result = run([*args, "--data_dir", small_disk])
    assert result.returncode == 1, result.stderr[-2000:]
    assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
    assert leftovers(small_disk) == []
    checked([*args, "--data_dir", tmp_path / "roomy"])
    assert len(digests(tmp_path / "roomy")) > 2
