"""A local Ray started for one build: quietly, once more if it times out, and stopped promptly."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from mpii_pose.base.errors import MpiiPoseError

_USAGE_STATS = "RAY_USAGE_STATS_ENABLED"
_LOG = logging.getLogger(__name__)
_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
_AUTH_NOTICE = "Token authentication is enabled for this Ray cluster"
# ray.init's errors when a step of the start did not end within the 30 s Ray waits for it (Ray
# 2.60: ray._private.node.Node), as on a machine too loaded to start Ray's processes in time:
# a pattern of Ray's words, and what did not happen in time.
_STARTUP_TIMEOUTS = (
    (
        re.compile(r"Timed out waiting for file \S*/gcs_server_port_"),
        "its GCS did not publish its port",
    ),
    (re.compile("timed out during startup"), "its raylet did not register with its GCS"),
)
# A failed start's process still running this long after SIGTERM is killed, as ray.shutdown does
# (a raylet that has not registered, and the autoscaler monitor, do not end on SIGTERM).
_STOP_GRACE_S = 1
_NO_RAY = "`--engine local` (engine='local' in Python) builds the same bytes without Ray"


class RayStartError(MpiiPoseError):
    """A local Ray that did not start, twice: the error says where Ray's logs are."""


@contextlib.contextmanager
def _no_token_notice() -> Iterator[None]:
    """Ray enables token authentication for a local cluster by default and says so in a WARNING,
    which lands in the middle of the progress bar; the notice is left out, not the authentication.
    """
    logger = logging.getLogger(_AUTH_LOGGER)

    def not_the_notice(record: logging.LogRecord) -> bool:
        return _AUTH_NOTICE not in record.getMessage()

    logger.addFilter(not_the_notice)
    try:
        yield
    finally:
        logger.removeFilter(not_the_notice)


@contextlib.contextmanager
def _no_usage_reporting() -> Iterator[None]:
    """A cluster started for one build reports no usage statistics (0.5 s less to start here),
    unless the user's environment says otherwise."""
    if _USAGE_STATS in os.environ:
        yield
        return
    os.environ[_USAGE_STATS] = "0"  # read by ray.init and inherited by the processes it starts
    try:
        yield
    finally:
        os.environ.pop(_USAGE_STATS, None)


def stop_autoscaler_monitor(ray: ModuleType) -> None:
    """Ends the local cluster's autoscaler monitor, which a one-node build does not use, before
    ray.shutdown. Ray stops it after the GCS; on SIGTERM it then reports its end to the GCS that
    is gone and is killed after a 1 s timeout (Ray 2.60): 1.0 s of the 1.35 s shutdown here."""
    node = getattr(ray._private.worker, "_global_node", None)
    monitor = getattr(ray._private.ray_constants, "PROCESS_TYPE_MONITOR", None)
    processes = getattr(node, "all_processes", None)
    if monitor is None or not isinstance(processes, dict):
        _LOG.warning(
            "Ray %s keeps its autoscaler monitor elsewhere than ray._private (worker."
            "_global_node.all_processes, ray_constants.PROCESS_TYPE_MONITOR): the local cluster "
            "still shuts down, about a second later",
            getattr(ray, "__version__", "?"),
        )
        return
    for info in processes.get(monitor, []):
        info.process.kill()
        info.process.wait()


def _descendants() -> set[Any]:
    """This process's children and theirs (psutil.Process): a local Ray's processes among them."""
    import psutil  # after ray: Ray's own copy, on sys.path once ray is imported

    return set(psutil.Process().children(recursive=True))


def _logs_dir(processes: set[Any]) -> str:
    """The logs folder of the Ray session `processes` belong to (their GCS's --log_dir)."""
    import psutil

    for process in processes:
        with contextlib.suppress(psutil.Error):
            for arg in process.cmdline():
                if arg.startswith("--log_dir="):
                    return arg.removeprefix("--log_dir=")
    return "session_latest/logs in Ray's temp dir (/tmp/ray unless $RAY_TMPDIR says otherwise)"


def _end(processes: set[Any]) -> None:
    """Ends `processes`: SIGTERM, then SIGKILL for those still running a second later."""
    import psutil

    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=_STOP_GRACE_S)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=10)  # SIGKILL: only the kernel's time


def _end_failed_start(ray: ModuleType, before: set[Any]) -> str:
    """Ends what a ray.init that failed started: Ray forgets a node whose start failed, so
    ray.shutdown leaves its GCS, raylet and agents running until this process ends. Returns the
    folder of their logs."""
    left = _descendants() - before
    logs = _logs_dir(left)
    ray.shutdown()
    for _ in range(3):  # a raylet ended while it started an agent or worker: that one too
        if not left:
            break
        _end(left)
        left = _descendants() - before
    return logs


def _timed_out(err: Exception) -> str | None:
    """What did not happen in time when ray.init raised `err` for a start that timed out."""
    return next((step for pattern, step in _STARTUP_TIMEOUTS if pattern.search(str(err))), None)


def init_local(ray: ModuleType, **options: Any) -> None:
    """Starts a new local Ray ("local": whatever $RAY_ADDRESS says). A start that times out is
    ended and tried once more, since a machine busy for a moment can delay it past Ray's fixed
    30 s; a second time out raises RayStartError."""
    for attempt in (1, 2):
        before = _descendants()
        try:
            ray.init(address="local", **options)
            return
        except Exception as err:
            step = _timed_out(err)
            if step is None:
                raise
            logs = _end_failed_start(ray, before)
            if attempt == 2:
                raise RayStartError(
                    f"a local Ray did not start: {step} within the 30 s Ray waits for, twice (a "
                    f"machine too busy, or a GCS, raylet or agent that failed; Ray: {err}). "
                    f"Ray's logs of the second start: {logs} (raylet.out, raylet.err, "
                    f"gcs_server.out, gcs_server.err, dashboard_agent.log, "
                    f"runtime_env_agent.log). {_NO_RAY}."
                ) from err
            _LOG.warning(
                "A local Ray did not start: %s within the 30 s Ray waits for (logs in %s): its "
                "processes are ended and Ray is started once more",
                step,
                logs,
            )


@contextlib.contextmanager
def quiet_start() -> Iterator[None]:
    """Ray started without its token notice and, unless the environment says, usage reports."""
    with _no_token_notice(), _no_usage_reporting():
        yield
