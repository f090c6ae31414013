"""TFDS's own writer as an engine: its split builder (its Beam writer, given Beam options), with
the project's deterministic example writer; for comparison, and for the formats the shard engines
do not write."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from mpii_pose.base import tfds_internals
from mpii_pose.engines import WriteJob, Written
from mpii_pose.shards import examples, verify
from mpii_pose.shards.example_writer import DeterministicExampleWriter
from mpii_pose.shards.plan import SplitPlan, SplitShardConfig
from mpii_pose.sources.assembly import SplitSource

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.runner import PipelineRunner


class TfdsEngine:
    """Writes each split with TFDS's `SplitBuilder`, in Beam when given Beam options (or runner):
    `tfds build`'s option string, or the PipelineOptions of TFDS's DownloadConfig."""

    name = "tfds"

    def __init__(
        self,
        beam_options: str | PipelineOptions | None = None,
        beam_runner: PipelineRunner | None = None,
    ):
        if isinstance(beam_options, str):
            from mpii_pose.engines.beam_engine import BeamEngine

            beam_options = BeamEngine(beam_options).options
        self.beam_options = beam_options
        self.beam_runner = beam_runner

    @property
    def uses_beam(self) -> bool:
        return self.beam_options is not None or self.beam_runner is not None

    def started(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def write(self, job: WriteJob) -> Written:
        """One TFDS split writer per split, so that each split gets its own shard count; then
        each split's files are counted against what TFDS says it wrote."""
        start = time.perf_counter()
        splits = [self._write_split(job, plan) for plan in job.plans]
        seconds = time.perf_counter() - start
        for plan, split in zip(job.plans, splits, strict=True):
            verify.verify_split(
                plan.split,
                split.filepaths,
                split.shard_lengths,
                len(plan.records),
                job.info.file_format,
            )
        how = "TFDS's Beam writer" if self.uses_beam else "TFDS's own writer"
        return Written(splits, f"{self.name} ({how})", seconds)

    def _write_split(self, job: WriteJob, plan: SplitPlan) -> Any:
        """TFDS's SplitInfo of the split it wrote."""
        config = job.download_config
        split_builder = tfds_internals.SplitBuilder(
            split_dict=job.info.splits,
            features=job.info.features,
            dataset_size=job.info.dataset_size,
            max_examples_per_split=config.max_examples_per_split,
            beam_options=self.beam_options,
            beam_runner=self.beam_runner,
            shard_config=SplitShardConfig(num_shards=config.num_shards, split=plan.split),
            example_writer=DeterministicExampleWriter(file_format=job.info.file_format),
            ignore_duplicates=config.ignore_duplicates,
        )
        with split_builder.maybe_beam_pipeline():
            future = split_builder.submit_split_generation(
                split_name=plan.split,
                generator=_beam_examples(plan.source, plan.config)
                if self.uses_beam
                else examples.generate_examples(plan.source, plan.config),
                filename_template=job.templates[plan.split],
                disable_shuffling=job.info.disable_shuffling,
                nondeterministic_order=config.nondeterministic_order,
            )
        return future.result()


def _beam_examples(source: SplitSource, config: str) -> Any:
    """The split as a Beam PTransform of (key, example) pairs, for TFDS's Beam writer."""
    import apache_beam as beam

    return beam.Create(examples.records(source, config)) | beam.Map(
        examples.keyed_example,
        images_dir=str(source.images_dir),
        annotation_file=str(source.annotation_file),
    )
