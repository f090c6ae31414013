"""The build lock: one build of a data dir at a time, so that leftovers are told from live folders;
a build that has to wait says so at once, with the pid it waits for."""

import logging
import os
import threading
import time

import pytest
from etils import epath

from mpii_pose.base import build_lock as leftovers
from mpii_pose.base.build_lock import (
    Lock,
    absent,
    build_lock,
    lock_holder,
    removed_if_empty_on_failure,
)


class _Announced(logging.Handler):
    """Sets `event` when the lock says that it waits."""

    def __init__(self) -> None:
        super().__init__()
        self.event = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.event.set()


def test_a_second_holder_says_it_waits_and_waits_until_the_first_lets_go(tmp_path):
    dataset_dir = epath.Path(tmp_path) / "mpii_pose"
    order = []
    announced = _Announced()
    logging.getLogger(leftovers.__name__).addHandler(announced)

    def second() -> None:
        with build_lock(dataset_dir) as lock:
            order.append(("second", lock))

    try:
        with build_lock(dataset_dir) as lock:
            waiting = threading.Thread(target=second)
            waiting.start()
            assert announced.event.wait(timeout=30), "the second holder never said it waits"
            assert waiting.is_alive()  # it said so before it got the lock, not after
            order.append(("first", lock))
        waiting.join(timeout=30)
    finally:
        logging.getLogger(leftovers.__name__).removeHandler(announced)
    pid = os.getpid()  # the lock is held by this process, for both threads
    assert announced.messages == [
        f"waiting for another build of {dataset_dir} (pid {pid}) to finish"
    ]
    assert order == [("first", Lock(held=True)), ("second", Lock(True, waited=True, holder=pid))]


def test_the_holder_is_read_from_the_kernels_table_of_locks(tmp_path):
    folder = tmp_path / "mpii_pose"
    folder.mkdir()
    status = os.stat(folder)
    file_id = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    table = tmp_path / "locks"
    table.write_text(
        f"1: POSIX  ADVISORY  WRITE 11 {file_id} 0 EOF\n"  # another kind of lock
        f"2: FLOCK  ADVISORY  WRITE 22 00:01:{status.st_ino + 1} 0 EOF\n"  # another file
        f"2: -> FLOCK  ADVISORY  WRITE 33 {file_id} 0 EOF\n"  # a request waiting for it
        f"3: FLOCK  ADVISORY  WRITE 44 {file_id} 0 EOF\n"
    )
    assert lock_holder(epath.Path(folder), str(table)) == 44
    assert lock_holder(epath.Path(folder), str(tmp_path / "no-such-table")) is None


def test_no_lock_on_a_bucket():
    with build_lock(epath.Path("gs://bucket/data/mpii_pose")) as lock:
        assert lock == Lock(held=False)


def open_handles(path) -> int:
    """How many descriptors of this process have `path` open."""
    fds = os.listdir("/proc/self/fd")
    return sum(os.path.realpath(f"/proc/self/fd/{fd}") == str(path) for fd in fds)


def test_a_waiting_holder_locks_the_folder_made_anew_when_a_failed_build_removed_it(tmp_path):
    """Otherwise it would hold a lock on a deleted folder, and a third build could lock the new
    one at the same time."""
    dataset_dir = epath.Path(tmp_path) / "mpii_pose"
    seen = []

    def second() -> None:
        with build_lock(dataset_dir) as lock:
            seen.append((lock.held, dataset_dir.is_dir()))

    with build_lock(dataset_dir):
        waiting = threading.Thread(target=second)
        waiting.start()
        deadline = time.monotonic() + 30
        while open_handles(dataset_dir) < 2:  # the second holder has opened the folder
            assert time.monotonic() < deadline and waiting.is_alive()
            time.sleep(0.01)
        os.rmdir(dataset_dir)  # as a failed build that made it does, before letting go
    waiting.join(timeout=30)
    assert seen == [(True, True)]


def test_only_the_empty_folders_a_failed_block_made_are_removed(tmp_path):
    kept, emptied, filled = (tmp_path / name for name in ("kept", "emptied", "filled"))
    kept.mkdir()
    made = absent([epath.Path(p) for p in (emptied / "inner", emptied, filled, kept)])
    assert made == [epath.Path(p) for p in (emptied / "inner", emptied, filled)]
    with pytest.raises(KeyboardInterrupt), removed_if_empty_on_failure(made):
        (emptied / "inner").mkdir(parents=True)
        (filled / "sub").mkdir(parents=True)
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["filled", "kept", "sub"]
    with removed_if_empty_on_failure(made):
        (emptied / "inner").mkdir(parents=True)
    assert (emptied / "inner").is_dir()  # a block that succeeds keeps what it made
