"""A local Ray whose start times out: the engine ends what it started and starts it once more,
then raises an error that says where Ray's logs are; nothing of a failed start keeps running.

The start times out for real: Ray's own fault-injection setting, RAY_testing_asio_delay_us,
makes its GCS answer the raylet's registration a minute late, after the 30 s ray.init waits."""

import logging
import re
from pathlib import Path

import pytest
import ray

from mpii_pose.engines.local_ray import RayStartError
from mpii_pose.engines.ray_engine import RayEngine
from tests.helpers import descendants, still_running

pytestmark = pytest.mark.slow  # each start that times out takes Ray's 30 s

DELAY = "RAY_testing_asio_delay_us"  # read by each Ray process when it starts
LATE_REGISTRATION = "NodeInfoGcsService.grpc_server.RegisterNode=60000000:60000000"  # µs
ENGINE_LOGGER = "mpii_pose.engines.local_ray"


class LiftedOnRetry(logging.Handler):
    """Takes the delay out of the environment when the engine warns that it starts Ray once more:
    only the first start's GCS has it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        super().__init__(logging.WARNING)
        self.monkeypatch = monkeypatch

    def emit(self, record: logging.LogRecord) -> None:
        self.monkeypatch.delenv(DELAY, raising=False)


def test_a_start_that_times_out_is_ended_and_tried_once_more(monkeypatch, caplog):
    monkeypatch.setenv(DELAY, LATE_REGISTRATION)
    lift = LiftedOnRetry(monkeypatch)
    logging.getLogger(ENGINE_LOGGER).addHandler(lift)
    before = descendants()
    try:
        with RayEngine(workers=1).started():
            assert ray.get(ray.remote(lambda: 1).remote()) == 1
            assert ray.cluster_resources()["CPU"] == 1
    finally:
        logging.getLogger(ENGINE_LOGGER).removeHandler(lift)
    assert "Ray is started once more" in caplog.text
    assert not ray.is_initialized()
    assert still_running(before) == []  # neither start left a process


def test_a_start_that_times_out_twice_says_where_rays_logs_are(monkeypatch, caplog):
    monkeypatch.setenv(DELAY, LATE_REGISTRATION)
    before = descendants()
    with pytest.raises(RayStartError) as info, RayEngine(workers=1).started():
        pytest.fail("Ray started although its GCS answered the registration late")
    message = str(info.value)
    assert "did not register with its GCS within the 30 s Ray waits for, twice" in message
    assert "timed out during startup" in message  # Ray's own words
    logs = Path(re.search(r"Ray's logs of the second start: (\S+) \(", message)[1])
    assert (logs / "raylet.out").is_file() and (logs / "gcs_server.err").is_file()
    assert "`--engine local` (engine='local' in Python) builds the same bytes" in message
    assert caplog.text.count("Ray is started once more") == 1
    assert not ray.is_initialized()
    assert still_running(before) == []  # neither start left a process
