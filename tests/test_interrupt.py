"""Ctrl-C in the middle of a build leaves no dataset and no temporary folder; a rerun succeeds."""

import signal
import subprocess
import time

from tests.conftest import BIN, ENV, checked, digests, leftovers


def test_ctrl_c_during_a_ray_build(shard_data, reference, tmp_path):
    args = [BIN / "mpii-pose", "build", "--engine", "ray", "--manual_dir", shard_data,
            "--data_dir", tmp_path, "--quiet"]  # fmt: skip
    process = subprocess.Popen([str(a) for a in args], env=ENV, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("mpii_pose/incomplete.*")):
        assert process.poll() is None and time.monotonic() < deadline, "the build never started"
        time.sleep(0.005)
    time.sleep(1.0)  # Ray is starting or its tasks are writing shards
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert "interrupted" in stderr
    assert leftovers(tmp_path) == []
    checked(args)
    assert digests(tmp_path) == reference
