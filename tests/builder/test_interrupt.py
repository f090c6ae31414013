"""Stopping a build (Ctrl-C, SIGTERM, SIGHUP, SIGKILL) leaves nothing half-written; a rerun succeeds.

One validation image is a named pipe, so that the build blocks reading it, mid-way through the
shard writes, until the test has sent its signal: the signal always lands while shards are being
written, however fast the machine.
"""

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.helpers import (
    BIN,
    DATASET_DIR,
    ENV,
    checked,
    digests,
    interruptible,
    leftovers,
    read_json,
)

_DEADLINE_S = 120


@pytest.fixture
def blocking_manual_dir(shard_data, tmp_path) -> tuple[Path, Path]:
    """A copy of `shard_data` whose first validation image is a named pipe; returns the manual
    directory and the pipe."""
    manual = tmp_path / "manual"
    shutil.copytree(shard_data, manual)
    pipe = manual / "images" / read_json(manual / "valid.json")[0]["image"]
    pipe.unlink()
    os.mkfifo(pipe)
    return manual, pipe


@contextlib.contextmanager
def held_open_by_a_reader(pipe: Path, process: subprocess.Popen) -> Iterator[None]:
    """Waits until the build opens `pipe` to read it; holds it open without writing, so that the
    build stays blocked in the middle of writing shards until the block ends."""
    deadline = time.monotonic() + _DEADLINE_S
    while True:
        try:
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)  # fails until a reader has it open
            break
        except OSError as err:
            assert err.errno == errno.ENXIO, err
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the build never read the image"
        time.sleep(0.01)
    try:
        yield
    finally:
        os.close(fd)


_BEAM_WORKERS = "direct_num_workers=2,direct_running_mode=multi_processing"


def build_args(manual: Path, data_dir: Path, engine: str) -> list[str]:
    options = ["--beam_pipeline_options", _BEAM_WORKERS] if engine == "beam" else []
    return [str(a) for a in (BIN / "mpii-pose", "build", "--engine", engine, *options,
                             "--manual_dir", manual, "--data_dir", data_dir, "--quiet")]  # fmt: skip


def running(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of `processes` still running: a zombie has ended, only its exit status is unread (by
    a parent that is gone, until the system's reaper reads it)."""
    _, alive = psutil.wait_procs(processes, timeout=0)
    return [p for p in alive if _status(p) != psutil.STATUS_ZOMBIE]


def _status(process: psutil.Process) -> str:
    try:
        return process.status()
    except psutil.NoSuchProcess:
        return psutil.STATUS_DEAD


def restore(pipe: Path, shard_data: Path) -> None:
    pipe.unlink()
    shutil.copy(shard_data / "images" / pipe.name, pipe)


@pytest.mark.parametrize(
    "engine, signum, code, message",
    [
        ("local", signal.SIGTERM, 143, "terminated"),
        # SIGHUP takes SIGTERM's path (test_interruption: its exception and exit status).
        pytest.param("local", signal.SIGHUP, 129, "terminated", marks=pytest.mark.slow),
        pytest.param("tfds", signal.SIGTERM, 143, "terminated", marks=pytest.mark.slow),
        pytest.param("ray", signal.SIGTERM, 143, "terminated", marks=pytest.mark.slow),
        pytest.param("ray", signal.SIGINT, 130, "interrupted", marks=pytest.mark.slow),
        pytest.param("beam", signal.SIGTERM, 143, "terminated", marks=pytest.mark.slow),
    ],
)
def test_a_stopped_build_leaves_nothing_and_its_workers_end(
    blocking_manual_dir, shard_data, reference, tmp_path, engine, signum, code, message
):
    manual, pipe = blocking_manual_dir
    data_dir = tmp_path / "data"
    args = build_args(manual, data_dir, engine)
    process = subprocess.Popen(interruptible(args), env=ENV, stderr=subprocess.PIPE, text=True)
    with held_open_by_a_reader(pipe, process):
        assert list(data_dir.glob(f"{DATASET_DIR}/incomplete.*"))  # the build is under way
        if engine != "beam":  # Beam's workers may take the blocked shard first
            assert list(data_dir.glob(f"{DATASET_DIR}/incomplete.*/mpii_pose-train.tfrecord-*"))
        workers = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=_DEADLINE_S)
    assert process.returncode == code, stderr[-3000:]
    assert f"mpii-pose: {message}; nothing was left half-written." in stderr
    assert leftovers(data_dir) == []
    assert running(workers) == []  # ended before the build returned
    restore(pipe, shard_data)
    checked(args)
    assert digests(data_dir) == reference


# `tfds.load` in a program that did nothing about signals, building on first use.
_LOAD = (
    "import sys, mpii_pose, tensorflow_datasets as tfds; "
    "config = tfds.download.DownloadConfig(manual_dir=sys.argv[1]); "
    "tfds.load('mpii_pose', data_dir=sys.argv[2], split='train', "
    "download_and_prepare_kwargs={'download_config': config})"
)


def tfds_args(entry: str, manual: Path, data_dir: Path) -> list[str]:
    """`tfds build mpii_pose` or a Python program calling `tfds.load`, building `manual`."""
    if entry == "tfds build":
        return [str(a) for a in (BIN / "tfds", "build", "mpii_pose/per_person", "--imports", "mpii_pose",
                                 "--manual_dir", manual, "--data_dir", data_dir)]  # fmt: skip
    return [sys.executable, "-c", _LOAD, str(manual), str(data_dir)]


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["tfds build", "tfds.load"])
def test_tfds_entry_points_stopped_by_a_signal_leave_nothing_and_end_by_it(
    blocking_manual_dir, shard_data, reference, tmp_path, entry
):
    """The builder handles SIGTERM for the build, then ends the process as SIGTERM would have:
    status -15 (the shell's 143). (SIGHUP takes the same path: see test_interruption.)"""
    signum = signal.SIGTERM
    manual, pipe = blocking_manual_dir
    data_dir = tmp_path / "data"
    args = tfds_args(entry, manual, data_dir)
    process = subprocess.Popen(
        args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )  # `tfds build` logs to stdout
    with held_open_by_a_reader(pipe, process):
        assert list(data_dir.glob(f"{DATASET_DIR}/incomplete.*/mpii_pose-train.tfrecord-*"))
        workers = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signum)
        output, _ = process.communicate(timeout=_DEADLINE_S)
    assert process.returncode == -signum, output[-3000:]
    name = signal.Signals(signum).name
    assert f"the build stopped by {name}; nothing was left half-written" in output
    assert leftovers(data_dir) == []
    assert running(workers) == []
    restore(pipe, shard_data)
    checked(args)
    assert digests(data_dir) == reference


def test_after_a_killed_build_the_next_removes_what_it_left(
    blocking_manual_dir, shard_data, reference, tmp_path
):
    manual, pipe = blocking_manual_dir
    data_dir = tmp_path / "data"
    args = build_args(manual, data_dir, "local")
    process = subprocess.Popen(args, env=ENV, stderr=subprocess.PIPE, text=True)
    with held_open_by_a_reader(pipe, process):
        process.kill()
        process.communicate(timeout=_DEADLINE_S)
    (stale,) = data_dir.glob(f"{DATASET_DIR}/incomplete.*")  # SIGKILL cannot be handled
    restore(pipe, shard_data)
    rerun = checked(args[:-1])  # not --quiet: the notice is a warning
    assert f"removed what an interrupted earlier run left: {stale}" in rerun.stderr
    assert not stale.exists()
    assert digests(data_dir) == reference
