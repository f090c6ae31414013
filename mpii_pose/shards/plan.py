"""The shard plan: which records (persons, or images) go, in which order, into which shard,
computed once per build.

It reproduces `tfds build`: the first N entries when examples are capped, the order of TFDS's
shuffler (md5 of the example key salted with the split name, ascending), the shard counts (64
train, 8 validation, 32 test, never more than a split's examples) and TFDS's shard boundaries.
Pure: no file is read or written here.
"""

from __future__ import annotations

import dataclasses
import itertools

from mpii_pose.base import tfds_internals
from mpii_pose.shards.examples import Record, example_key, records
from mpii_pose.sources.assembly import SplitSource

SHARDS_PER_SPLIT: dict[str, int] = {"train": 64, "validation": 8, "test": 32}


def shard_count(split: str, num_examples: int, requested: int | None = None) -> int:
    """The split's shard count: `requested` or the split's default, capped at one example a shard."""
    return min(requested or SHARDS_PER_SPLIT[split], num_examples)


@dataclasses.dataclass(frozen=True)
class SplitShardConfig(tfds_internals.ShardConfig):
    """TFDS shard config for one split; TFDS needs at least one example in every shard."""

    split: str = "train"

    def get_number_shards(
        self, total_size: int, num_examples: int, uses_precise_sharding: bool = True
    ) -> int:
        return shard_count(self.split, num_examples, self.num_shards)


@dataclasses.dataclass(frozen=True)
class ShardTask:
    """One shard write: everything a worker needs, and no image bytes."""

    split: str
    index: int
    path: str  # the shard file to write
    images_dir: str
    annotation_file: str
    records: tuple[Record, ...]  # persons or images, in the order they are written
    config: str  # the builder config, whose feature spec the records are written in
    converted_dir: str | None = None  # where converted images are shared (see load_image)
    file_format: str = "tfrecord"  # or "array_record"
    receipts_dir: str | None = None  # array_record: where the writer leaves each shard's bytes


@dataclasses.dataclass(frozen=True)
class SplitPlan:
    """A split's records (persons or images) in TFDS order and the number in each shard."""

    source: SplitSource
    config: str
    records: tuple[Record, ...]
    shard_lengths: tuple[int, ...]

    @property
    def split(self) -> str:
        return self.source.split

    def shards(self) -> list[tuple[Record, ...]]:
        """The records of each shard, in order."""
        ends = itertools.accumulate(self.shard_lengths)
        return [
            self.records[end - n : end] for n, end in zip(self.shard_lengths, ends, strict=True)
        ]


def plan_split(
    source: SplitSource, config: str, max_examples: int | None = None, num_shards: int | None = None
) -> SplitPlan:
    """Orders the (first `max_examples`) records of `source` in `config` as TFDS would and cuts
    them into shards."""
    every = records(source, config)
    kept = every[:max_examples] if max_examples else every
    hasher = tfds_internals.Hasher(salt=source.split)
    ordered = tuple(sorted(kept, key=lambda record: hasher.hash_key(example_key(record))))
    count = shard_count(source.split, len(ordered), num_shards)
    bounds = tfds_internals.get_shard_boundaries(len(ordered), count)
    lengths = tuple(end - start for start, end in zip([0, *bounds[:-1]], bounds, strict=True))
    return SplitPlan(source, config, ordered, lengths)


def shard_tasks(
    plan: SplitPlan,
    paths: list[str],
    converted_dir: str | None = None,
    file_format: str = "tfrecord",
    receipts_dir: str | None = None,
) -> list[ShardTask]:
    """One task per shard of `plan`, writing shard i to `paths[i]` in `file_format`, sharing
    converted images in `converted_dir` (array_record: receipts in `receipts_dir`)."""
    source = plan.source
    images_dir, annotation_file = str(source.images_dir), str(source.annotation_file)
    return [
        ShardTask(
            plan.split,
            i,
            path,
            images_dir,
            annotation_file,
            shard,
            plan.config,
            converted_dir,
            file_format,
            receipts_dir,
        )
        for i, (path, shard) in enumerate(zip(paths, plan.shards(), strict=True))
    ]
