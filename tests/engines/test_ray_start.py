"""A local Ray whose start times out: the engine ends what it started and starts it once more,
then raises an error that says where Ray's logs are; nothing of a failed start keeps running.

The starts time out for real, through Ray's own settings, read by each Ray process when it starts:
- RAY_testing_asio_delay_us (fault injection) makes the GCS answer the raylet's registration a
  minute late, after the 30 s ray.init waits;
- RAY_gcs_server_port_wait_time_s=0 makes ray.init give up on the GCS's port at once, as after
  30 s on a machine too busy to start the GCS in time."""

import logging
import re
from pathlib import Path

import pytest
import ray

from mpii_pose.engines.local_ray import RayStartError, _timed_out
from mpii_pose.engines.ray_engine import RayEngine
from tests.helpers import descendants, still_running

# (variable, value, what the error says did not happen in time); a late registration takes
# Ray's 30 s.
LATE_REGISTRATION = pytest.param(
    "RAY_testing_asio_delay_us",
    "NodeInfoGcsService.grpc_server.RegisterNode=60000000:60000000",  # µs
    "its raylet did not register with its GCS",
    marks=pytest.mark.slow(seconds=35),
    id="raylet-registration",
)
LATE_GCS_PORT = pytest.param(
    "RAY_gcs_server_port_wait_time_s", "0", "its GCS did not publish its port", id="gcs-port"
)
TIMEOUTS = pytest.mark.parametrize("variable, value, step", [LATE_REGISTRATION, LATE_GCS_PORT])
ENGINE_LOGGER = "mpii_pose.engines.local_ray"


class LiftedOnRetry(logging.Handler):
    """Takes the setting out of the environment when the engine warns that it starts Ray once
    more: only the first start has it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, variable: str):
        super().__init__(logging.WARNING)
        self.monkeypatch = monkeypatch
        self.variable = variable

    def emit(self, record: logging.LogRecord) -> None:
        self.monkeypatch.delenv(self.variable, raising=False)


@TIMEOUTS
def test_a_start_that_times_out_is_ended_and_tried_once_more(
    monkeypatch, caplog, variable, value, step
):
    monkeypatch.setenv(variable, value)
    lift = LiftedOnRetry(monkeypatch, variable)
    logging.getLogger(ENGINE_LOGGER).addHandler(lift)
    before = descendants()
    try:
        with RayEngine(workers=1).started():
            assert ray.get(ray.remote(lambda: 1).remote()) == 1
            assert ray.cluster_resources()["CPU"] == 1
    finally:
        logging.getLogger(ENGINE_LOGGER).removeHandler(lift)
    assert f"A local Ray did not start: {step} within the 30 s" in caplog.text
    assert "Ray is started once more" in caplog.text
    assert not ray.is_initialized()
    assert still_running(before) == []  # neither start left a process


def test_a_start_that_times_out_twice_says_where_rays_logs_are(monkeypatch, caplog):
    """Two late GCS ports: the second time out is handled whichever step timed out, and this one
    takes no 30 s."""
    variable, value, step = LATE_GCS_PORT.values
    monkeypatch.setenv(variable, value)
    before = descendants()
    with pytest.raises(RayStartError) as info, RayEngine(workers=1).started():
        pytest.fail(f"Ray started although {variable}={value}")
    message = str(info.value)
    assert f"a local Ray did not start: {step} within the 30 s Ray waits for, twice" in message
    assert "Timed out waiting for file" in message  # Ray's words
    logs = Path(re.search(r"Ray's logs of the second start: (\S+) \(", message)[1])
    assert logs.is_dir() and logs.parent.name.startswith("session_")  # a Ray session's logs
    assert "`--engine local` (engine='local' in Python) builds the same bytes" in message
    assert caplog.text.count("Ray is started once more") == 1
    assert not ray.is_initialized()
    assert still_running(before) == []  # neither start left a process


def test_only_the_gcs_port_file_is_read_as_the_gcs_s_timeout():
    """Ray's words for a file it waited for name the file: another file is not the GCS's port."""
    session = "/tmp/ray/session_2026-12-02_18-58-30_343491_18136"
    gcs = RuntimeError(f"Timed out waiting for file {session}/gcs_server_port_b644293b")
    other = RuntimeError(f"Timed out waiting for file {session}/metrics_agent_port_b644293b")
    assert _timed_out(gcs) == "its GCS did not publish its port"
    assert _timed_out(other) is None
