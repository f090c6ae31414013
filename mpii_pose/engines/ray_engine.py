"""The Ray engine: one task per shard, on local cores or on an existing Ray cluster.

On a cluster every node needs this package installed and must see the manual and data
directories at the same paths (a shared file system or a bucket).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

from mpii_pose.base.errors import MpiiPoseError
from mpii_pose.base.interruption import handlers_kept
from mpii_pose.engines import available_cpus
from mpii_pose.engines.shard_engine import Progress, ShardEngine
from mpii_pose.shards.plan import ShardTask
from mpii_pose.shards.write import write_shard

_USAGE_STATS = "RAY_USAGE_STATS_ENABLED"
_LOG = logging.getLogger(__name__)
_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
_AUTH_NOTICE = "Token authentication is enabled for this Ray cluster"
_CANCEL_TIMEOUT_S = 60  # a cancelled shard write ends within this, its worker killed
# ray.init's error when the raylet has not registered with the GCS within Ray's 30 s (Ray 2.60:
# ray._private.node.Node), as on a machine too loaded to start Ray's processes in time.
_STARTUP_TIMEOUT = "timed out during startup"
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


def _stop_autoscaler_monitor(ray: ModuleType) -> None:
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


def _init_local(ray: ModuleType, **options: Any) -> None:
    """Starts a new local Ray ("local": whatever $RAY_ADDRESS says). A start that times out is
    ended and tried once more, since a machine busy for a moment can delay it past Ray's fixed
    30 s; a second time out raises RayStartError."""
    for attempt in (1, 2):
        before = _descendants()
        try:
            ray.init(address="local", **options)
            return
        except Exception as err:
            if _STARTUP_TIMEOUT not in str(err):
                raise
            logs = _end_failed_start(ray, before)
            if attempt == 2:
                raise RayStartError(
                    f"a local Ray did not start: its raylet did not register with its GCS within "
                    f"the 30 s Ray waits for, twice (a machine too busy, or a raylet or agent "
                    f"that failed; Ray: {err}). Ray's logs of the second start: {logs} "
                    f"(raylet.out, raylet.err, gcs_server.out, gcs_server.err, "
                    f"dashboard_agent.log, runtime_env_agent.log). {_NO_RAY}."
                ) from err
            _LOG.warning(
                "A local Ray did not start within the 30 s Ray waits for its raylet to register "
                "(logs in %s): its processes are ended and Ray is started once more",
                logs,
            )


class RayEngine(ShardEngine):
    """Runs the shard writes as Ray tasks, at most `workers` at once (default: one per CPU), on
    the cluster at `address` (default: a local Ray started for the build)."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None):
        self.workers = workers
        self.address = address
        self._owns_local_cluster = False

    @contextlib.contextmanager
    def started(self) -> Iterator[None]:
        """Starts a local Ray (or connects to the cluster at `address`) unless Ray already runs in
        this process, and shuts down what it started, workers included, when the block ends."""
        import ray

        started = not ray.is_initialized()
        if started:
            options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
            with handlers_kept(), _no_token_notice(), _no_usage_reporting():
                if self.address:
                    ray.init(address=self.address, **options)
                else:
                    _init_local(ray, num_cpus=self.workers or available_cpus(), **options)
        self._owns_local_cluster = started and not self.address
        try:
            yield
        finally:
            if self._owns_local_cluster:
                _stop_autoscaler_monitor(ray)
            if started:  # a local cluster of its own ends with its workers, whatever they run
                ray.shutdown(wait_for_processes=True)
            self._owns_local_cluster = False

    def run(self, tasks: Sequence[ShardTask], progress: Progress) -> str:
        """Runs the shard writes; returns "ray on" the cluster's address or "local Ray", and its
        CPUs."""
        import ray

        self._run(ray, tasks, progress, cancel_on_exit=not self._owns_local_cluster)
        where = f"cluster {ray.get_runtime_context().gcs_address}" if self.address else "local Ray"
        return f"{self.name} on {where}, {ray.cluster_resources().get('CPU', 0):.0f} CPUs"

    def _run(
        self, ray: ModuleType, tasks: Sequence[ShardTask], progress: Progress, cancel_on_exit: bool
    ) -> None:
        """Runs the shard writes, at most `workers` at once. When one fails or the run is
        interrupted, the writes still running are cancelled if `cancel_on_exit` (on a cluster
        this build did not start, which outlives it) and waited for."""
        remote_write = ray.remote(num_cpus=1)(write_shard)
        waiting = list(reversed(tasks))
        running: dict = {}
        limit = self.workers or len(tasks)
        try:
            while waiting or running:
                while waiting and len(running) < limit:
                    task = waiting.pop()
                    running[remote_write.remote(task)] = task
                (done,), _ = ray.wait(list(running), num_returns=1)
                del running[done]
                try:
                    progress.update(ray.get(done))
                except ray.exceptions.RayTaskError as err:
                    raise err.cause from None
        finally:
            # No shard write may still run while the build's folder is removed. Cancelling is
            # left to shutting down where possible: Ray 2.60 can abort the driver when a task it
            # force-cancels completes at that moment ("Tried to complete task that was not
            # pending").
            if running and cancel_on_exit:
                for ref in running:
                    ray.cancel(ref, force=True)
                ray.wait(list(running), num_returns=len(running), timeout=_CANCEL_TIMEOUT_S)
