"""The Apache Beam engine: the shard writes as a pipeline (DirectRunner here; Flink, Spark, Dataflow).

Only shard tasks travel through the runner; each worker reads its images and writes its shard
itself, so no image bytes cross the pipeline. What the workers wrote is counted afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from mpii_pose.engines import Progress
from mpii_pose.planning import ShardTask
from mpii_pose.shard_writer import write_shard


def pipeline_flags(options: str | None) -> list[str]:
    """`tfds build`'s option syntax, "a=1,b=2", as Beam flags; DirectRunner unless a runner is named."""
    flags = [f"--{option.strip()}" for option in (options or "").split(",") if option.strip()]
    if not any(flag.startswith("--runner") for flag in flags):
        flags.append("--runner=DirectRunner")
    return flags


class BeamEngine:
    name = "beam"

    def __init__(self, pipeline_options: str | None = None):
        self.flags = pipeline_flags(pipeline_options)

    def started(self) -> contextlib.AbstractContextManager[str]:
        return contextlib.nullcontext("beam " + " ".join(self.flags))

    def run(self, tasks: Sequence[ShardTask], progress: Progress) -> None:
        import apache_beam as beam
        from apache_beam.options.pipeline_options import PipelineOptions

        with beam.Pipeline(options=PipelineOptions(flags=self.flags)) as pipeline:
            _ = (
                pipeline
                | "ShardTasks" >> beam.Create(list(tasks))
                | "Spread" >> beam.Reshuffle()
                | "WriteShard" >> beam.Map(write_shard)
            )
        progress.update(sum(len(task.persons) for task in tasks))
