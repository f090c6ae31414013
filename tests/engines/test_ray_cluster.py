"""The Ray engine against a real Ray cluster that the test starts on loopback and stops."""

import contextlib
import os
import socket
import subprocess
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


def session_of(pid: int) -> int | None:
    """The session `pid` belongs to; None if it has ended."""
    try:
        return os.getsid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def described(processes: set[psutil.Process]) -> list[str]:
    """Each process's pid and name, for a message."""
    out = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            out.append(f"{process.pid} {process.name()}")
    return out


def cluster_processes(session: int) -> set[psutil.Process]:
    """Every process of the cluster `ray start` began in its own `session`: GCS, raylet, monitors,
    the client server, the agents and workers (these rename themselves, "ray::IDLE", and name no
    folder of the cluster), and any child of theirs; not any other Ray of the machine's (`ray
    stop` would stop them all)."""
    found = {p for p in psutil.process_iter() if session_of(p.pid) == session}
    for process in list(found):
        with contextlib.suppress(psutil.NoSuchProcess):
            found.update(process.children(recursive=True))
    return found


def end(processes: set[psutil.Process]) -> None:
    """SIGTERM, then SIGKILL for what still runs 5 s later (Ray's monitor may not end on SIGTERM)."""
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=5)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=30)


def start_head(port: int, temp_dir: Path) -> int:
    """Runs `ray start --head` in a session of its own, whose processes stay in it when it exits;
    returns the session."""
    start = [BIN / "ray", "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
             f"--temp-dir={temp_dir}"]  # fmt: skip
    with subprocess.Popen([str(a) for a in start], env=LOOPBACK, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as head:  # fmt: skip
        _, stderr = head.communicate(timeout=600)
    assert head.returncode == 0, stderr[-2000:]
    return head.pid  # a session's id is its first process's


@pytest.fixture
def cluster(tmp_path_factory):
    """A one-node Ray cluster with 2 CPUs on 127.0.0.1; yields its address; afterwards ends all
    its processes (and only those) and checks that none is left."""
    port = free_port()
    session = start_head(port, tmp_path_factory.mktemp("ray"))
    try:
        yield f"127.0.0.1:{port}"
    finally:
        processes = cluster_processes(session)
        assert processes, f"no process of the cluster in session {session}"
        for _ in range(3):  # a raylet that was starting a worker as it ended: that one too
            end(processes)
            processes = cluster_processes(session)
            if not processes:
                break
        assert not processes, f"left running: {described(processes)}"


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
