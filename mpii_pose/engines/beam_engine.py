"""The Apache Beam engine: the shard writes as a pipeline (DirectRunner here; Flink, Spark, Dataflow).

Only shard tasks travel through the runner; each worker reads its images and writes its shard
itself, so no image bytes cross the pipeline. What the workers wrote is counted afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from mpii_pose.base import errors
from mpii_pose.base.log_filters import BEAM_NO_APITOOLS, without_messages
from mpii_pose.engines.shard_engine import Progress, ShardEngine
from mpii_pose.shards.plan import ShardTask
from mpii_pose.shards.write import write_shard

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.runner import PipelineRunner


def pipeline_flags(options: str | None) -> list[str]:
    """`tfds build`'s option syntax, "a=1,b=2", as Beam flags; DirectRunner unless a runner is named."""
    flags = [f"--{option.strip()}" for option in (options or "").split(",") if option.strip()]
    if not any(flag.startswith("--runner") for flag in flags):
        flags.append("--runner=DirectRunner")
    return flags


class BeamEngine(ShardEngine):
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

    def run(self, tasks: Sequence[ShardTask], progress: Progress) -> str:
        """Runs the pipeline; returns "beam", the runner object's class and the options set."""
        import apache_beam as beam

        try:
            with (
                _unlogged_input_errors(),
                beam.Pipeline(runner=self.runner, options=self.options) as pipeline,
            ):
                _ = (
                    pipeline
                    | "ShardTasks" >> beam.Create(list(tasks))
                    | "Spread" >> beam.Reshuffle()
                    | "WriteShard" >> beam.Map(write_shard)
                )
        except Exception as err:
            original = worker_error(err)
            if original is err:
                raise
            raise original from None
        progress.update(sum(len(task.records) for task in tasks))
        chosen = self.options.get_all_options(drop_default=True, retain_unknown_options=True)
        flags = [f"--{key}={value}" for key, value in sorted(chosen.items())]
        runner = [f"runner {type(self.runner).__name__}"] if self.runner else []
        return " ".join([self.name, *runner, *flags])


# How a worker process's error reaches the pipeline's caller: its traceback as text, which ends
# with the error's class and message (the first line of it).
_TRACEBACK_END = re.compile(
    rf"^{re.escape(errors.__name__)}\.(?P<type>\w+): (?P<message>.*)$", re.MULTILINE
)


def worker_error(err: Exception) -> Exception:
    """The error a shard write raised, as the worker raised it, from the one Beam raises.

    Beam re-raises an error in this process as a copy with "[while running 'STEP']" appended to
    its message (the original is its context), and an error in another process (DirectRunner's
    multi_processing, a cluster) as a RuntimeError holding the worker's traceback; an error of
    mpii_pose is rebuilt from its class and first line. Other errors are returned as they are.
    """
    if isinstance(err, errors.MpiiPoseError):
        if getattr(err, "_tagged_with_step", False) and isinstance(err.__context__, type(err)):
            return err.__context__
        return err
    match = _TRACEBACK_END.search(str(err))
    kind = getattr(errors, match["type"], None) if match else None
    if match and isinstance(kind, type) and issubclass(kind, errors.MpiiPoseError):
        return kind(match["message"])
    return err


@contextlib.contextmanager
def _unlogged_input_errors() -> Iterator[None]:
    """Keeps Beam from logging an mpii_pose error of a shard write, with its traceback: the build
    reports it, once."""

    def unreported(record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], errors.MpiiPoseError))

    logger = logging.getLogger("apache_beam.runners.common")  # where Beam logs a step's error
    logger.addFilter(unreported)
    try:
        yield
    finally:
        logger.removeFilter(unreported)
