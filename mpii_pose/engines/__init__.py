"""Engines write a build's splits, each where it likes; `choice` says which one a build runs.

The shard engines run the plan's shard writes (`shards.write.write_shard(task)`): in this process
(`local`), as Ray tasks (`ray`) or in an Apache Beam pipeline (`beam`). They receive annotation
records and output paths, never image bytes. `tfds` is TFDS's own writer, for comparison and for
the formats the shard engines do not write. Every engine counts what it wrote against the plan
before the build is committed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from etils import epath

from mpii_pose.shards.plan import SplitPlan

if TYPE_CHECKING:
    import tensorflow_datasets as tfds

# Each engine, and how it writes.
ENGINES: dict[str, str] = {
    "local": "in this process",
    "ray": "one Ray task per shard",
    "beam": "an Apache Beam pipeline",
    "tfds": "TFDS's own writer",
}


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    """The options of one engine each (`mpii-pose build`'s): giving one asks for its engine."""

    workers: int | None = None  # ray: shard writes at once
    address: str | None = None  # ray: an existing cluster
    beam_pipeline_options: str | None = None  # beam: `tfds build`'s option string

    def engine(self) -> str | None:
        """The engine these options belong to, if any is given."""
        if self.workers or self.address:
            return "ray"
        return "beam" if self.beam_pipeline_options else None


NO_OPTIONS = EngineOptions()


@dataclasses.dataclass(frozen=True)
class WriteJob:
    """What a build asks its engine to write: the splits' plans, their shard file names, the
    dataset's features and file format, and the build's temporary folder."""

    plans: Sequence[SplitPlan]
    templates: Mapping[str, Any]  # split -> TFDS's ShardedFileTemplate
    info: tfds.core.DatasetInfo
    scratch_dir: epath.Path  # inside the build's temporary folder, removed with it
    download_config: tfds.download.DownloadConfig

    def shard_paths(self, plan: SplitPlan) -> list[epath.Path]:
        """Where the plan's shards go."""
        return list(self.templates[plan.split].sharded_filepaths(len(plan.shard_lengths)))


@dataclasses.dataclass(frozen=True)
class Written:
    """The splits an engine wrote and counted, where it ran and how long writing took."""

    splits: list[Any]  # TFDS's SplitInfo, one per plan
    ran_on: str  # e.g. "ray on local Ray, 2 CPUs"
    seconds: float


class Engine(Protocol):
    """Writes every split of a build and counts the files; raises if any write fails."""

    name: str

    def started(self) -> AbstractContextManager[None]:
        """Gets the engine ready for the block (Ray: its cluster) and stops what it started."""
        ...

    def write(self, job: WriteJob) -> Written:
        """Writes the job's splits, within `started()`."""
        ...


def available_cpus() -> int:
    """CPUs this process may run on (a container's or taskset's share, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def make_engine(name: str, options: EngineOptions = NO_OPTIONS) -> Engine:
    """The engine called `name`, configured from the options that apply to it."""
    if name == "local":
        from mpii_pose.engines.local_engine import LocalEngine

        return LocalEngine()
    if name == "ray":
        from mpii_pose.engines.ray_engine import RayEngine

        return RayEngine(workers=options.workers, address=options.address)
    if name == "beam":
        from mpii_pose.engines.beam_engine import BeamEngine

        return BeamEngine(options.beam_pipeline_options)
    if name == "tfds":
        from mpii_pose.engines.tfds_engine import TfdsEngine

        return TfdsEngine(options.beam_pipeline_options)
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
