"""How many shards a split gets: 64 for train, 8 for validation and 32 for test, never more than
its examples."""

from __future__ import annotations

import dataclasses

from tensorflow_datasets.core.utils import shard_utils

SHARDS_PER_SPLIT: dict[str, int] = {"train": 64, "validation": 8, "test": 32}


def shard_count(split: str, num_examples: int, requested: int | None = None) -> int:
    """The split's shard count: `requested` or the split's default, capped at one example a shard."""
    return min(requested or SHARDS_PER_SPLIT[split], num_examples)


@dataclasses.dataclass(frozen=True)
class SplitShardConfig(shard_utils.ShardConfig):
    """TFDS shard config for one split; TFDS needs at least one example in every shard."""

    split: str = "train"

    def get_number_shards(
        self, total_size: int, num_examples: int, uses_precise_sharding: bool = True
    ) -> int:
        return shard_count(self.split, num_examples, self.num_shards)
