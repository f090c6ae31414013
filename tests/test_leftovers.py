"""The build lock: one build of a data dir at a time, so that leftovers are told from live folders;
a build that has to wait says so at once, with the pid it waits for."""

import logging
import os
import threading

from etils import epath

from mpii_pose import leftovers
from mpii_pose.leftovers import Lock, build_lock, lock_holder


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
