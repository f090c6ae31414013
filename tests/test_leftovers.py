"""The build lock: one build of a data dir at a time, so that leftovers are told from live folders."""

import threading

from etils import epath

from mpii_pose.leftovers import build_lock


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
