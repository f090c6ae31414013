"""Engines run the plan's shard writes, each where it likes; the builder then checks and commits.

An engine only decides where `shard_writer.write_shard(task)` runs: in this process (`local`), as
Ray tasks (`ray`) or in an Apache Beam pipeline (`beam`). It receives annotation records and output
paths, never image bytes, and reports progress in examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from mpii_pose.shards.plan import ShardTask

# Each engine, and how it runs the shard writes.
ENGINES: dict[str, str] = {
    "local": "in this process",
    "ray": "one Ray task per shard",
    "beam": "an Apache Beam pipeline",
}


class Progress(Protocol):
    def update(self, n: int) -> object: ...


class Engine(Protocol):
    """Runs every shard write of a build; raises if any of them fails."""

    name: str

    def started(self) -> AbstractContextManager[None]:
        """Gets the engine ready for the block (Ray: its cluster) and stops what it started."""
        ...

    def run(self, tasks: Sequence[ShardTask], progress: Progress) -> str:
        """Runs the shard writes, within `started()`; returns where they ran, for summaries
        (e.g. "ray on local Ray, 2 CPUs")."""
        ...


def make_engine(
    name: str,
    *,
    workers: int | None = None,
    address: str | None = None,
    beam_pipeline_options: str | None = None,
) -> Engine:
    """The engine called `name`, configured from the command-line options that apply to it."""
    if name == "local":
        from mpii_pose.engines.local_engine import LocalEngine

        return LocalEngine()
    if name == "ray":
        from mpii_pose.engines.ray_engine import RayEngine

        return RayEngine(workers=workers, address=address)
    if name == "beam":
        from mpii_pose.engines.beam_engine import BeamEngine

        return BeamEngine(beam_pipeline_options)
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
