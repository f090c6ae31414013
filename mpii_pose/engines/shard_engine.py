"""What the shard engines share: the plan's shard writes as tasks, a progress bar, and the count of
what they wrote; each engine only says where the tasks run (`run`)."""

from __future__ import annotations

import abc
import contextlib
import math
import time
from collections.abc import Sequence
from typing import Any, Protocol

from mpii_pose.base import tfds_internals
from mpii_pose.engines import WriteJob, Written
from mpii_pose.shards import array_record_files, verify
from mpii_pose.shards.plan import ShardTask, shard_tasks

# In the build's temporary folder, removed before commit: converted images the workers share,
# and the array_record writers' receipts (each shard's record bytes).
_CONVERTED_DIR = "converted_images.tmp"
_RECEIPTS_DIR = "record_bytes.tmp"


class Progress(Protocol):
    def update(self, n: int) -> object: ...


class ShardEngine(abc.ABC):
    """An engine that runs one task per shard (`shards.write.write_shard`) where it likes."""

    name: str

    def started(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    @abc.abstractmethod
    def run(self, tasks: Sequence[ShardTask], progress: Progress) -> str:
        """Runs the shard writes, within `started()`, reporting written examples to `progress`;
        returns where they ran, for summaries (e.g. "ray on local Ray, 2 CPUs")."""

    def write(self, job: WriteJob) -> Written:
        """Runs every shard write of the job, then counts each shard file against the plan."""
        converted_dir, receipts_dir = (
            job.scratch_dir / name for name in (_CONVERTED_DIR, _RECEIPTS_DIR)
        )
        file_format = job.info.file_format
        tasks = [
            task
            for plan in job.plans
            for task in shard_tasks(
                plan,
                [str(path) for path in job.shard_paths(plan)],
                str(converted_dir),
                file_format.value,
                str(receipts_dir),
            )
        ]
        total = sum(len(plan.records) for plan in job.plans)
        with tfds_internals.tqdm(  # smoothing=0: the rate shown is the average, as in the summary
            total=total, desc=f"Writing shards ({self.name})", unit=" examples", smoothing=0
        ) as progress:
            start = time.perf_counter()
            try:
                ran_on = self.run(tasks, _LastUpdateUndrawn(progress, total))
                receipts = array_record_files.read_receipts(receipts_dir)
            finally:
                for scratch in (converted_dir, receipts_dir):
                    if scratch.exists():
                        scratch.rmtree()
            seconds = time.perf_counter() - start
        splits = []
        for plan in job.plans:
            template = job.templates[plan.split]
            num_bytes = verify.verify_split(
                plan.split,
                job.shard_paths(plan),
                plan.shard_lengths,
                len(plan.records),
                file_format,
                receipts,  # used where the format hides the record bytes
            )
            splits.append(
                tfds_internals.SplitInfo(
                    name=plan.split,
                    shard_lengths=list(plan.shard_lengths),
                    num_bytes=num_bytes,
                    filename_template=template,
                )
            )
        return Written(splits, ran_on, seconds)


class _LastUpdateUndrawn:
    """A progress bar's updates, but the one completing it is not drawn: closing the bar draws
    it, with the run's average rate. Drawn by both, the full bar shows twice wherever stderr is
    not a terminal (a log, CI), as after an engine that reports all its examples at once."""

    def __init__(self, bar: Any, total: int):
        self._bar, self._left = bar, total

    def update(self, n: int) -> None:
        self._left -= n
        if self._left <= 0:
            self._bar.mininterval = math.inf  # tqdm draws an update only after mininterval
        self._bar.update(n)
