"""What an interrupted build leaves behind, and the lock that tells it from a build still running.

TFDS writes a build into `D/mpii_pose/incomplete.<random>_<version>/`, downloads into
`D/downloads/mpii_pose/<file>.tmp.<uuid>/` and extracts into
`D/downloads/extracted/incomplete.<uuid>_<METHOD>.<file>/`, and renames each when it is complete.
A run killed outright (SIGKILL, a power cut) leaves them behind. A build holds an exclusive lock on
`D/mpii_pose` while it runs, so the next build of the same data dir knows that whatever of these
it finds is stale, and removes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import pathlib
import re
from collections.abc import Iterable, Iterator

from etils import epath
from tensorflow_datasets.core import constants

_LOG = logging.getLogger(__name__)
_UUID = "[0-9a-f]{32}"
_PREFIX = re.escape(constants.INCOMPLETE_PREFIX)  # TFDS's "incomplete."
_INCOMPLETE = re.compile(rf"^{_PREFIX}[A-Za-z0-9]+_")  # TFDS: 6 letters or digits
_DOWNLOADING = re.compile(rf"\.tmp\.{_UUID}$")
_EXTRACTING = re.compile(rf"^{_PREFIX}{_UUID}_[A-Z0-9_]+\.(?P<file>.+)$")


def _is_local(path: epath.PathLike) -> bool:
    """True for a path of this machine's file system, where a lock can be taken."""
    return "://" not in os.fspath(path)


@dataclasses.dataclass(frozen=True)
class Lock:
    """The build lock as taken: whether it is held, and whether another build held it first."""

    held: bool
    waited: bool = False
    holder: int | None = None  # the pid of the build waited for, when the system tells it


@contextlib.contextmanager
def build_lock(dataset_dir: epath.Path) -> Iterator[Lock]:
    """Holds an exclusive lock on `dataset_dir` (D/mpii_pose), waiting for another build to
    finish, and saying so at once; not held on a bucket or a file system that cannot lock."""
    opened = _lock(dataset_dir) if _is_local(dataset_dir) else None
    if opened is None:
        yield Lock(held=False)
        return
    fd, lock = opened
    try:
        yield lock
    finally:
        os.close(fd)  # releases the lock


def _lock(dataset_dir: epath.Path) -> tuple[int, Lock] | None:
    """Opens `dataset_dir`, made if need be, and locks it; returns its descriptor and the lock,
    or None when it cannot be opened."""
    waited, holder = False, None
    while True:
        try:
            dataset_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(dataset_dir, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            if not _locked_at_once(fd):
                holder = lock_holder(dataset_dir)
                if not waited:
                    _LOG.warning(
                        "waiting for another build of %s (%s) to finish",
                        dataset_dir,
                        "pid unknown" if holder is None else f"pid {holder}",
                    )
                waited = True
                fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # e.g. a network file system without locks
            return fd, Lock(held=False)
        except BaseException:  # Ctrl-C or SIGTERM while waiting
            os.close(fd)
            raise
        if _is_folder_at(fd, dataset_dir):
            return fd, Lock(held=True, waited=waited, holder=holder)
        os.close(fd)  # a failed build removed the folder while this one waited: lock the new one


def _locked_at_once(fd: int) -> bool:
    """Takes the lock if it is free; False when another holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def lock_holder(path: epath.Path, locks: str = "/proc/locks") -> int | None:
    """The pid that holds a lock on `path`, from Linux's table of locks; None when unknown."""
    try:
        status = os.stat(path)
        table = pathlib.Path(locks).read_text()
    except OSError:
        return None
    file_id = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    for line in table.splitlines():
        fields = line.split()
        # "1: FLOCK ADVISORY WRITE 4242 fd:01:1234 0 EOF"; waiting requests have "->" after "1:"
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == file_id:
            return int(fields[4])
    return None


def _is_folder_at(fd: int, path: epath.Path) -> bool:
    """Whether the open folder `fd` still is the one at `path`."""
    try:
        there = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def absent(folders: Iterable[epath.Path]) -> list[epath.Path]:
    """Those of `folders` that do not exist (yet)."""
    return [folder for folder in folders if not folder.exists()]


@contextlib.contextmanager
def removed_if_empty_on_failure(folders: Iterable[epath.Path]) -> Iterator[None]:
    """When the block fails, removes those of `folders` that are empty, in the order given
    (children first): the folders a build made, so that a failed build leaves none behind."""
    try:
        yield
    except BaseException:
        for folder in folders:
            if _is_local(folder):  # a bucket has no empty folders
                with contextlib.suppress(OSError):  # not empty, or not there
                    os.rmdir(folder)
        raise


@contextlib.contextmanager
def removed_on_failure(made: Iterable[epath.Path]) -> Iterator[None]:
    """When the block fails, removes `made` (folders with what they hold): what a build made
    beside its own folder, which no other build finished since it began."""
    try:
        yield
    except BaseException:
        for path in made:
            with contextlib.suppress(OSError):  # already gone
                path.rmtree()
        raise


def stale_builds(dataset_dir: epath.Path) -> list[epath.Path]:
    """The folders of builds under way or interrupted in `dataset_dir` (D/mpii_pose)."""
    return list(_matching(dataset_dir, _INCOMPLETE))


def unfinished_builds(name_dir: epath.Path) -> list[epath.Path]:
    """The folders of builds under way or interrupted of every config of a dataset: in
    D/mpii_pose/CONFIG (and in D/mpii_pose, from releases without configs)."""
    folders = [name_dir, *(sorted(name_dir.iterdir()) if name_dir.is_dir() else [])]
    return [
        build
        for folder in folders
        if folder.is_dir() and not _INCOMPLETE.match(folder.name)
        for build in stale_builds(folder)
    ]


def partial_downloads(downloads_dir: epath.Path, dataset: str) -> list[epath.Path]:
    """TFDS's downloads of `dataset` under way or interrupted (in `downloads_dir/<dataset>`), and
    extractions of its downloaded files (in `downloads_dir/extracted`, which datasets share).
    A resumable download's `.part` is not among them: the next run continues it."""
    downloaded = downloads_dir / dataset
    found = list(_matching(downloaded, _DOWNLOADING))
    mine = {p.name for p in downloaded.iterdir()} if downloaded.is_dir() else set()
    for path in _matching(downloads_dir / "extracted", _EXTRACTING):
        match = _EXTRACTING.match(path.name)
        if match and match["file"] in mine:
            found.append(path)
    return found


def remove(paths: Iterable[epath.Path]) -> list[epath.Path]:
    """Deletes `paths` (folders with what they hold); returns those that were there."""
    removed = []
    for path in paths:
        if path.is_dir():
            path.rmtree()
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed


def remove_stale(dataset_dir: epath.Path, downloads_dir: epath.Path) -> None:
    """Removes what killed runs left, saying what; call it only while holding `build_lock`."""
    removed = remove(
        unfinished_builds(dataset_dir) + partial_downloads(downloads_dir, dataset_dir.name)
    )
    if removed:
        _LOG.warning(
            "removed what an interrupted earlier run left: %s", ", ".join(map(str, removed))
        )


def _matching(folder: epath.Path, pattern: re.Pattern[str]) -> Iterator[epath.Path]:
    if folder.is_dir():
        yield from (p for p in folder.iterdir() if pattern.search(p.name))
