"""The build lock: one build of a data dir at a time, so that leftovers are told from live folders."""

import os
import threading
import time

import pytest
from etils import epath

from mpii_pose.leftovers import absent, build_lock, removed_if_empty_on_failure


def test_a_second_holder_waits_until_the_first_lets_go(tmp_path):
    dataset_dir = epath.Path(tmp_path) / "mpii_pose"
    order = []

    def second() -> None:
        with build_lock(dataset_dir) as held:
            order.append(("second", held))

    with build_lock(dataset_dir) as held:
        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive()  # blocked on the lock, not finished
        order.append(("first", held))
    waiting.join(timeout=30)
    assert order == [("first", True), ("second", True)]


def test_no_lock_on_a_bucket():
    with build_lock(epath.Path("gs://bucket/data/mpii_pose")) as held:
        assert held is False


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
        with build_lock(dataset_dir) as held:
            seen.append((held, dataset_dir.is_dir()))

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
