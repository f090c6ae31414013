"""The Apache Beam engine: the shard writes as a pipeline (DirectRunner here; Flink, Spark, Dataflow).

Only shard tasks travel through the runner; each worker reads its images and writes its shard
itself, so no image bytes cross the pipeline. What the workers wrote is counted afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mpii_pose.engines import Progress
from mpii_pose.log_filters import BEAM_NO_APITOOLS, without_messages
from mpii_pose.planning import ShardTask
from mpii_pose.shard_writer import write_shard

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.runner import PipelineRunner


def pipeline_flags(options: str | None) -> list[str]:
    """`tfds build`'s option syntax, "a=1,b=2", as Beam flags; DirectRunner unless a runner is named."""
    flags = [f"--{option.strip()}" for option in (options or "").split(",") if option.strip()]
    if not any(flag.startswith("--runner") for flag in flags):
        flags.append("--runner=DirectRunner")
    return flags


class BeamEngine:
    """Runs the shard writes in a Beam pipeline with `options`: `tfds build`'s option string, or the
    PipelineOptions (and runner) of TFDS's DownloadConfig; DirectRunner unless a runner is given."""

    name = "beam"

    def __init__(
        self, options: str | PipelineOptions | None = None, runner: PipelineRunner | None = None
    ):
        with without_messages("", BEAM_NO_APITOOLS):  # Beam's first import logs it
            from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

        if not isinstance(options, PipelineOptions):
            options = PipelineOptions(flags=pipeline_flags(options))
        elif options.view_as(StandardOptions).runner is None and runner is None:
            options.view_as(StandardOptions).runner = "DirectRunner"
        self.options = options
        self.runner = runner

    def started(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def run(self, tasks: Sequence[ShardTask], progress: Progress) -> str:
        """Runs the pipeline; returns "beam", the runner object's class and the options set."""
        import apache_beam as beam

        with beam.Pipeline(runner=self.runner, options=self.options) as pipeline:
            _ = (
                pipeline
                | "ShardTasks" >> beam.Create(list(tasks))
                | "Spread" >> beam.Reshuffle()
                | "WriteShard" >> beam.Map(write_shard)
            )
        progress.update(sum(len(task.persons) for task in tasks))
        chosen = self.options.get_all_options(drop_default=True, retain_unknown_options=True)
        flags = [f"--{key}={value}" for key, value in sorted(chosen.items())]
        runner = [f"runner {type(self.runner).__name__}"] if self.runner else []
        return " ".join([self.name, *runner, *flags])
