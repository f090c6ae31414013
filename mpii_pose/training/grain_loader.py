"""Training and evaluation batches for JAX (or any numpy) code: Grain over `tfds.data_source`.

    source = tfds.data_source('mpii_pose', data_dir=D, split='train',  # an array_record build
                              decoders={'image': tfds.decode.SkipDecoding()})
    for batch in data_loader(source, PipelineConfig(), training=True, batch_size=32, seed=0):
        batch['image'], batch['heatmaps'], batch['target_weight']  # numpy, batch first

Needs the optional `grain` package (`pip install 'mpii_pose[grain]'`); reads without TensorFlow.
Each example goes through `mpii_pose.training.numpy_transforms` in Grain's worker processes; augmentation comes
from Grain's per-record random generator, so a seed gives the same batches run after run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import grain.experimental as grain_experimental
import grain.python as grain
import numpy as np

from mpii_pose.training import numpy_transforms
from mpii_pose.training.config import PipelineConfig

# At most this many persons in one per_image example (Grain's flat map needs a bound; MPII's
# images hold at most 17 persons).
MAX_PERSONS = 64


class PersonExamples(grain_experimental.FlatMapTransform):
    """A per_image example -> its annotated persons, each an example of the per_person features."""

    max_fan_out = MAX_PERSONS

    def flat_map(self, element: Mapping[str, Any]) -> list[dict]:
        return numpy_transforms.person_examples(element)


class TrainingTransform(grain.RandomMapTransform):
    """An example -> augmented training inputs and targets, augmentation drawn from `rng`."""

    def __init__(self, config: PipelineConfig):
        self.config = config

    def random_map(self, element: Mapping[str, Any], rng: np.random.Generator) -> dict:
        augmentation = numpy_transforms.sample_augmentation(rng, self.config)
        return numpy_transforms.batch_fields(
            numpy_transforms.transform_example(element, self.config, augmentation)
        )


class EvaluationTransform(grain.MapTransform):
    """An example -> the evaluation crop and its targets (no augmentation)."""

    def __init__(self, config: PipelineConfig):
        self.config = config

    def map(self, element: Mapping[str, Any]) -> dict:
        return numpy_transforms.batch_fields(
            numpy_transforms.transform_example(element, self.config)
        )


def data_loader(
    source: Sequence,
    config: PipelineConfig,
    *,
    training: bool,
    batch_size: int,
    seed: int = 0,
    num_epochs: int | None = 1,
    worker_count: int = 2,
    shard_options: grain.ShardOptions | None = None,
    read_options: grain.ReadOptions | None = None,
) -> grain.DataLoader:
    """Batches of `source` (a `tfds.data_source` split): shuffled, augmented and whole for
    training; every example once, the last batch short, for evaluation. A per_image source gives
    its annotated persons (`PersonExamples`); they are shuffled by image, so the persons of an
    image follow one another.

    Read `source` with `decoders={"image": tfds.decode.SkipDecoding()}`: the transform then
    decodes each JPEG itself and copies only its crop's window, about twice as fast as from
    TFDS's decoded arrays (a per_image example's JPEG is decoded once for all its persons).

    `num_epochs=None` repeats forever; `shard_options` splits the data between hosts
    (e.g. `grain.ShardByJaxProcess()`). Each worker reads ahead one batch of examples with two
    threads unless `read_options` say otherwise: Grain's default (500 examples, 16 threads) holds
    500 decoded images, 1.6 GB per worker here, and was slower (benchmarks/README.md).
    """
    sampler = grain.IndexSampler(
        len(source),
        shard_options or grain.NoSharding(),
        shuffle=training,
        num_epochs=num_epochs,
        seed=seed,
    )
    transform = TrainingTransform(config) if training else EvaluationTransform(config)
    per_image = len(source) > 0 and "persons" in source[0]
    return grain.DataLoader(
        data_source=source,
        sampler=sampler,
        operations=[
            *([PersonExamples()] if per_image else []),
            transform,
            grain.Batch(batch_size, drop_remainder=training),
        ],
        worker_count=worker_count,
        read_options=read_options or reading_ahead(batch_size),
    )


def reading_ahead(batch_size: int) -> grain.ReadOptions:
    """A worker's read-ahead: one batch of examples, two reading threads."""
    return grain.ReadOptions(num_threads=2, prefetch_buffer_size=batch_size)
