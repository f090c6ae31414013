"""A data dir too small for the build: stopped before the first shard, saying what is needed, what
is free and where; forced, or filled by another writer, a full disk mid-build fails with the same
kind of message, nothing left behind, and a rerun elsewhere succeeds."""

import subprocess

import pytest
import tensorflow_datasets as tfds

from mpii_pose import Builder
from mpii_pose.base.errors import DiskSpaceError
from mpii_pose.sources.manual_dir import SAMPLE_DIR
from tests.helpers import BIN, DATASET, ENV, checked, digests, leftovers, run

BUILD = [BIN / "mpii-pose", "build", "--manual_dir", SAMPLE_DIR, "--quiet"]


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


def test_a_build_that_cannot_fit_stops_before_the_first_shard(small_disk):
    result = run([*BUILD, "--engine", "local", "--data_dir", small_disk])
    assert result.returncode == 1, result.stderr[-2000:]
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(
        f"mpii-pose: error: not enough space for the build in {small_disk / DATASET}: it needs "
        "about 0."
    ), message
    assert "MB (" in message and "bytes) free; nothing was written" in message
    assert "--skip_space_check" in message and "Traceback" not in result.stderr
    assert leftovers(small_disk) == []


def test_the_builder_raises_before_writing_with_what_is_needed_and_free(small_disk):
    """In Python (`tfds.load`, `tfds build`): the error holds the folder and both sizes, and no
    engine ran."""
    builder = Builder(data_dir=str(small_disk), engine="local")
    with pytest.raises(DiskSpaceError, match="not enough space for the build") as raised:
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(SAMPLE_DIR))
        )
    error = raised.value
    assert error.folder == str(small_disk / DATASET)
    assert 300 * 1024 >= error.free > 0 and error.needed > 2 * error.free
    assert builder.last_write is None and leftovers(small_disk) == []


@pytest.mark.parametrize("engine", [
    "local",
    "beam",
    pytest.param("ray", marks=pytest.mark.slow),
    pytest.param("tfds", marks=pytest.mark.slow),
])  # fmt: skip
def test_forced_a_full_disk_fails_cleanly_naming_the_folder(small_disk, engine, tmp_path):
    """--skip_space_check builds anyway; the disk fills mid-build, as when another writer takes
    the space: the same kind of message, every engine, nothing half-written."""
    result = run([*BUILD, "--engine", engine, "--skip_space_check", "--data_dir", small_disk])
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(
        f"mpii-pose: error: No space left on device in {small_disk / DATASET}: the build needs "
        "about 0."
    ), message
    assert "were free when it started;" in message and "nothing was left half-written" in message
    assert leftovers(small_disk) == []
    checked([*BUILD, "--engine", engine, "--data_dir", tmp_path / "roomy"])
    assert len(digests(tmp_path / "roomy")) > 2


def test_the_environment_variable_forces_a_build_too(small_disk):
    """For `tfds build` and `tfds.load`, which take no mpii-pose option."""
    env = {**ENV, "MPII_POSE_SKIP_SPACE_CHECK": "1"}
    result = run([*BUILD, "--engine", "local", "--data_dir", small_disk], env=env)
    assert result.returncode == 1
    assert "No space left on device in " in result.stderr and "not enough" not in result.stderr
    assert leftovers(small_disk) == []
