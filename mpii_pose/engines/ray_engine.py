"""The Ray engine: one task per shard, on local cores or on an existing Ray cluster.

On a cluster every node needs this package installed and must see the manual and data
directories at the same paths (a shared file system or a bucket).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

from mpii_pose.base.interruption import handlers_kept
from mpii_pose.engines import available_cpus
from mpii_pose.engines.local_ray import init_local, quiet_start, stop_autoscaler_monitor
from mpii_pose.engines.shard_engine import Progress, ShardEngine
from mpii_pose.shards.plan import ShardTask
from mpii_pose.shards.write import write_shard

_LOG = logging.getLogger(__name__)
_WAIT_TIMEOUT_S = 60  # shard writes still running when a build stops end within this


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
            with handlers_kept(), quiet_start():
                if self.address:
                    ray.init(address=self.address, **options)
                else:
                    init_local(ray, num_cpus=self.workers or available_cpus(), **options)
        self._owns_local_cluster = started and not self.address
        try:
            yield
        finally:
            if self._owns_local_cluster:
                stop_autoscaler_monitor(ray)
            if started:  # a local cluster of its own ends with its workers, whatever they run
                ray.shutdown(wait_for_processes=True)
            self._owns_local_cluster = False

    def run(self, tasks: Sequence[ShardTask], progress: Progress) -> str:
        """Runs the shard writes; returns "ray on" the cluster's address or "local Ray", and its
        CPUs."""
        import ray

        self._run(ray, tasks, progress, wait_on_exit=not self._owns_local_cluster)
        where = f"cluster {ray.get_runtime_context().gcs_address}" if self.address else "local Ray"
        return f"{self.name} on {where}, {ray.cluster_resources().get('CPU', 0):.0f} CPUs"

    def _run(
        self, ray: ModuleType, tasks: Sequence[ShardTask], progress: Progress, wait_on_exit: bool
    ) -> None:
        """Runs the shard writes, at most `workers` at once (default: the cluster's CPUs). When
        one fails or the run is interrupted, the writes still running are waited for if
        `wait_on_exit` (on a cluster this build did not start, which outlives it)."""
        remote_write = ray.remote(num_cpus=1)(write_shard)
        waiting = list(reversed(tasks))
        running: dict = {}
        limit = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
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
            # No shard write may still run while the build's folder is removed. The writes in
            # flight (one per CPU at most) are let finish rather than cancelled: Ray 2.60 aborts
            # the driver when a task it force-cancels completes at that moment ("Check failed:
            # ... Tried to complete task that was not pending"). A local Ray of the build's own
            # ends with its workers at shutdown.
            if running and wait_on_exit:
                _, late = ray.wait(list(running), num_returns=len(running), timeout=_WAIT_TIMEOUT_S)
                if late:
                    _LOG.warning(
                        "%d shard writes were still running %d s after the build stopped; "
                        "the build's temporary folder is removed under them",
                        len(late),
                        _WAIT_TIMEOUT_S,
                    )
