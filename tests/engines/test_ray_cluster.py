"""The Ray engine against a real Ray cluster that the test starts on loopback and stops."""

import socket
from pathlib import Path

import psutil
import pytest

from tests.helpers import BIN, ENV, digests, run

# Keep every Ray address on 127.0.0.1 (by default Ray advertises the machine's external address)
# and use the token authentication `ray start` enables, for the cluster and its client alike.
pytestmark = pytest.mark.slow  # a cluster of its own for each test

LOOPBACK = {**ENV, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_processes(temp_dir: Path) -> list[psutil.Process]:
    """The processes of the Ray cluster whose files are under `temp_dir` (its own, not any other
    Ray of the machine's: `ray stop` would stop them all)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(temp_dir) in part for part in process.info["cmdline"] or ()):
            found.append(process)
    return found


@pytest.fixture
def cluster(tmp_path_factory):
    """A one-node Ray cluster with 2 CPUs on 127.0.0.1; yields its address; stops its processes
    (and only those) afterwards."""
    port, temp_dir = free_port(), tmp_path_factory.mktemp("ray")
    start = [BIN / "ray", "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
             f"--temp-dir={temp_dir}"]  # fmt: skip
    result = run(start, env=LOOPBACK)
    assert result.returncode == 0, result.stderr[-2000:]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        processes = session_processes(temp_dir)
        assert processes, f"no process of the cluster in {temp_dir}"
        for process in processes:
            process.terminate()
        _, alive = psutil.wait_procs(processes, timeout=5)  # Ray's monitor may not end on SIGTERM
        for process in alive:
            process.kill()
        psutil.wait_procs(alive, timeout=30)


def test_build_on_an_existing_cluster_matches_tfds_build(cluster, shard_data, reference, tmp_path):
    args = [BIN / "mpii-pose", "build", "--engine", "ray", "--address", cluster,
            "--manual_dir", shard_data, "--data_dir", tmp_path, "--workers", "2"]  # fmt: skip
    result = run(args, env=LOOPBACK)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"(engine: ray on cluster {cluster}, 2 CPUs; requested)" in result.stdout
    assert digests(tmp_path) == reference


def test_ray_address_from_the_environment(cluster, shard_data, tmp_path):
    env = {**LOOPBACK, "RAY_ADDRESS": cluster}
    args = [BIN / "mpii-pose", "build", "--engine", "ray", "--manual_dir", shard_data,
            "--data_dir", tmp_path, "--max_examples_per_split", "8"]  # fmt: skip
    result = run(args, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"(engine: ray on cluster {cluster}, 2 CPUs; requested)" in result.stdout
