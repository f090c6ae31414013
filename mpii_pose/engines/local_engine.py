"""The in-process engine: shard after shard, for small jobs and debugging."""

from __future__ import annotations

from collections.abc import Sequence

from mpii_pose.engines.shard_engine import Progress, ShardEngine
from mpii_pose.shards.plan import ShardTask
from mpii_pose.shards.write import write_shard


class LocalEngine(ShardEngine):
    name = "local"

    def run(self, tasks: Sequence[ShardTask], progress: Progress) -> str:
        for task in tasks:
            progress.update(write_shard(task))
        return self.name
