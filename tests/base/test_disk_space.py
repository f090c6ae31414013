"""Free space where a build writes, the error when it cannot fit, and a full disk recognised."""

import errno
import shutil

import pytest

from mpii_pose.base import disk_space
from mpii_pose.base.errors import DiskSpaceError, MpiiPoseError


def test_free_space_is_the_nearest_existing_folders(tmp_path):
    """A data dir that does not exist yet is on its nearest existing parent's file system."""
    assert disk_space.free_bytes(tmp_path / "not" / "made" / "yet") == pytest.approx(
        shutil.disk_usage(tmp_path).free, rel=0.01
    )
    assert disk_space.free_bytes("gs://bucket/data") is None


@pytest.mark.parametrize("num_bytes, text", [
    (16_118_554_624, "16.1 GB (16,118,554,624 bytes)"),
    (785_140, "0.8 MB (785,140 bytes)"),
    (260_000_000, "0.3 GB (260,000,000 bytes)"),
])  # fmt: skip
def test_sizes_read_in_gb_and_bytes(num_bytes, text):
    assert disk_space.human(num_bytes) == text


def test_a_build_that_cannot_fit_is_refused_naming_folder_need_free_and_force():
    need = disk_space.SpaceNeed("/data/mpii_pose/per_person/3.0.0", 16_000_000_000, 9_500_000_000)
    with pytest.raises(DiskSpaceError) as raised:
        disk_space.check_space(need)
    message = str(raised.value)
    assert message.startswith("not enough space for the build in /data/mpii_pose/per_person/3.0.0")
    assert "needs about 16.0 GB (16,000,000,000 bytes)" in message
    assert "has 9.5 GB (9,500,000,000 bytes) free; nothing was written" in message
    assert "--skip_space_check" in message and "MPII_POSE_SKIP_SPACE_CHECK=1" in message
    assert (raised.value.folder, raised.value.needed, raised.value.free) == (
        need.folder, need.needed, need.free
    )  # fmt: skip
    assert isinstance(raised.value, MpiiPoseError)


@pytest.mark.parametrize("free", [16_000_000_000, None])
def test_a_build_that_fits_or_an_unknown_free_space_passes(free):
    disk_space.check_space(disk_space.SpaceNeed("/data", 16_000_000_000, free))


def test_a_full_disk_is_recognised_however_it_was_passed_on():
    full = OSError(errno.ENOSPC, "No space left on device")
    assert disk_space.is_disk_full(full)
    try:
        try:
            raise full
        except OSError as err:
            raise RuntimeError("a step failed") from err
    except RuntimeError as wrapped:
        assert disk_space.is_disk_full(wrapped)
    # as Beam passes on a worker process's error: its traceback as text
    assert disk_space.is_disk_full(RuntimeError("OSError: [Errno 28] No space left on device"))
    assert not disk_space.is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not disk_space.is_disk_full(DiskSpaceError("not enough space for the build in /d"))


def test_a_disk_that_filled_is_told_with_folder_and_space(tmp_path):
    error = disk_space.full_disk_error(disk_space.SpaceNeed(str(tmp_path), 2_000_000, 1_000_000))
    message = str(error)
    assert message.startswith(f"No space left on device in {tmp_path}: the build needs about")
    assert "2.0 MB (2,000,000 bytes), and 1.0 MB (1,000,000 bytes) were free when it" in message
    assert "free now; nothing was left half-written" in message
    assert error.folder == str(tmp_path) and error.free == disk_space.free_bytes(tmp_path)
