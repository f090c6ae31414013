"""A build of a data dir that another build holds says at once that it waits, and for which pid,
then what the other build finished; the summary's "in all" is the whole command's time."""

import fcntl
import logging
import os
import re
import shutil
import subprocess
import sys
import threading

from mpii_pose.base import build_lock
from mpii_pose.base.build_lock import Lock
from mpii_pose.sources import build_record
from mpii_pose.sources.manual_dir import SAMPLE_DIR
from tests.helpers import BIN, DATASET, ENV, build


def test_a_waiting_build_says_for_whom_then_what_the_other_finished(tmp_path):
    other = build(SAMPLE_DIR, tmp_path / "other", max_examples_per_split=4)
    data_dir = tmp_path / "data"
    (data_dir / "mpii_pose").mkdir(parents=True)
    lock = os.open(data_dir / "mpii_pose", os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(lock, fcntl.LOCK_EX)  # this process is "the other build"
    try:
        process = subprocess.Popen(
            [BIN / "mpii-pose", "build", "--sample", "--data_dir", data_dir],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        waiting = f"waiting for another build of {data_dir / 'mpii_pose'} (pid {os.getpid()})"
        said = []
        while not any(waiting in line for line in said):
            line = process.stderr.readline()  # the next thing it says, or '' when it ended
            assert line, f"it ended without saying it waits: {''.join(said)[-3000:]}"
            said.append(line)
        shutil.copytree(other.data_path, data_dir / DATASET)  # the other build finishes
    finally:
        os.close(lock)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    assert out.startswith(
        f"Another build (pid {os.getpid()}) finished mpii_pose {DATASET.name} in "
        f"{data_dir / DATASET} while this one waited; nothing written by this one:\n"
        f"  {'train':<11} {4:>7} examples    4 shards"
    ), out
    assert "it holds the first 4 persons of each file, not all" in out
    assert "s in all" not in out  # no summary of writing: it wrote nothing


def test_in_all_counts_the_whole_command(tmp_path):
    """The process sleeps 2 s before the command starts: that is part of the command's time."""
    code = (  # the console script: main() reads the process's arguments
        "import sys, time; time.sleep(2); from mpii_pose.cli.main import main; "
        "sys.argv = ['mpii-pose', *sys.argv[1:]]; sys.exit(main())"
    )
    args = [sys.executable, "-c", code, "build", "--sample", "--data_dir", str(tmp_path)]
    result = subprocess.run(args, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    writing, in_all = map(
        float, re.search(r"writing (\S+) s: .*; (\S+) s in all", result.stdout).groups()
    )
    assert in_all >= 2.0 + writing


def test_a_waiting_library_build_logs_what_the_other_build_finished(tmp_path, caplog):
    """`tfds build` and `tfds.load` show the builder's log: the wait, then the other's counts."""
    other = build(SAMPLE_DIR, tmp_path / "other", max_examples_per_split=3)
    data_dir = tmp_path / "data"
    (data_dir / "mpii_pose").mkdir(parents=True)
    lock = os.open(data_dir / "mpii_pose", os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(lock, fcntl.LOCK_EX)
    waited: list = []
    announced = threading.Event()

    class Announced(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            announced.set()

    handler = Announced()
    logging.getLogger(build_lock.__name__).addHandler(handler)
    try:
        with caplog.at_level(logging.WARNING):
            thread = threading.Thread(
                target=lambda: waited.append(build(SAMPLE_DIR, data_dir).waited_for)
            )
            thread.start()
            assert announced.wait(timeout=120), "the build never said that it waits"
            shutil.copytree(other.data_path, data_dir / DATASET)
    finally:
        os.close(lock)  # lets the build go on, whatever happened
        logging.getLogger(build_lock.__name__).removeHandler(handler)
    thread.join(timeout=120)
    assert waited == [Lock(held=True, waited=True, holder=os.getpid())]
    (message,) = [r.getMessage() for r in caplog.records if r.name == build_record.LOG.name]
    assert message.startswith(
        f"the build waited for (pid {os.getpid()}) finished {data_dir / DATASET}; "
        "nothing written by this one:\n"
    )
    assert f"  {'train':<11} {3:>7} examples    3 shards" in message
