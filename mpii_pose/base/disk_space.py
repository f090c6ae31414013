"""A build's disk space: the free space where it writes, and the error when it cannot fit.

Before the first shard the builder compares its estimate of the bytes it will write with the
free space of the data dir's file system (`check_space`); a file system that fills anyway (another
writer) is reported the same way (`full_disk_error`), naming the folder, so that a user reads
what was needed, what was free and where, in one kind of message, whichever engine wrote.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil

from mpii_pose.base.errors import DiskSpaceError

# How a user builds anyway, told in the error.
FORCE = "--skip_space_check (or MPII_POSE_SKIP_SPACE_CHECK=1, or skip_space_check=True)"
_NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"


@dataclasses.dataclass(frozen=True)
class SpaceNeed:
    """What a build needs where it writes, and what its file system had free when it started."""

    folder: str  # the build's folder (its final path: TFDS writes beside it, same file system)
    needed: int  # bytes, the estimate with its margin
    free: int | None  # bytes free before writing; None where it cannot be known (a bucket)


def free_bytes(path: os.PathLike | str) -> int | None:
    """Free bytes (for an unprivileged writer) of the file system holding `path`, or of its
    nearest existing parent when it is not made yet; None for a bucket path (gs://, s3://)."""
    text = os.fspath(path)
    if "://" in text:
        return None
    folder = os.path.abspath(text)
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    return shutil.disk_usage(folder).free


def human(num_bytes: int) -> str:
    """`num_bytes` in GB with one decimal (MB below 0.1 GB) and in bytes, e.g. '16.1 GB
    (16,118,554,624 bytes)' or '0.8 MB (785,140 bytes)'."""
    amount = f"{num_bytes / 1e9:.1f} GB" if num_bytes >= 10**8 else f"{num_bytes / 1e6:.1f} MB"
    return f"{amount} ({num_bytes:,} bytes)"


def check_space(need: SpaceNeed) -> None:
    """Raises DiskSpaceError, before anything is written, when `need.needed` exceeds the free
    space measured (a bucket's, unknown, is not checked)."""
    if need.free is None or need.needed <= need.free:
        return
    raise DiskSpaceError(
        f"not enough space for the build in {need.folder}: it needs about {human(need.needed)} "
        f"and its file system has {human(need.free)} free; nothing was written. Free some space "
        f"or build into another data dir (--data_dir); {FORCE} builds anyway.",
        need.folder,
        need.needed,
        need.free,
    )


def is_disk_full(err: BaseException) -> bool:
    """Whether `err`, or an error it was raised from or during, is a full file system (ENOSPC;
    an error that a runner passed on as text says so in its message)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "errno", None) == errno.ENOSPC or _NO_SPACE in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def shard_disk_full(path: str) -> DiskSpaceError:
    """The error of a shard write that found its file system full."""
    folder = os.path.dirname(path)
    return DiskSpaceError(f"{_NO_SPACE} in {folder}, writing {os.path.basename(path)}", folder)


def full_disk_error(need: SpaceNeed) -> DiskSpaceError:
    """The error of a file system that filled during the build (another writer took the space,
    or the check was skipped): the folder, what the build needs, what was and is free."""
    free_now = free_bytes(need.folder)
    now = "" if free_now is None else f"; {human(free_now)} free now"
    before = "" if need.free is None else f", and {human(need.free)} were free when it started"
    needed = f"about {human(need.needed)}" if need.needed else "an unknown amount"
    return DiskSpaceError(
        f"{_NO_SPACE} in {need.folder}: the build needs {needed}{before}{now}; nothing was left "
        "half-written. Free some space (another program may be filling this file system) or "
        "build into another data dir (--data_dir), and run the build again.",
        need.folder,
        need.needed,
        free_now,
    )
