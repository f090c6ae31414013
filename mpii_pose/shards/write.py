"""Write one shard of the plan: the one writer every engine runs. Never imports TensorFlow.

Each record's image is read once and normalised (an image that needs converting is converted once
per build, shared through the task's `converted_dir`); the `tf.train.Example` around it is encoded
directly from the feature spec (byte for byte TFDS's serializer, deterministic) without copying
the image's bytes, and framed as a TFRecord record (or written to an ArrayRecord file, as TFDS
writes one).
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable, Iterator

from mpii_pose.base import disk_space
from mpii_pose.shards import array_record_files, tfrecord_files
from mpii_pose.shards.example_encoder import ExampleEncoder
from mpii_pose.shards.examples import read_image, to_example
from mpii_pose.shards.features import feature_spec
from mpii_pose.shards.plan import ShardTask

Serialized = tuple[bytes | memoryview, ...]  # one serialised example, in parts


@functools.cache
def encoder(config: str) -> ExampleEncoder:
    """The encoder of the config's feature spec, with the image left out as the gap."""
    return ExampleEncoder(feature_spec(config), gap="image")


def shard_records(task: ShardTask) -> Iterator[Serialized]:
    """The serialised examples of one shard, in plan order, as (head, image, tail) parts."""
    encode = encoder(task.config).encode
    for record in task.records:
        image = read_image(task.images_dir, task.annotation_file, record, task.converted_dir)
        yield encode(to_example(record, image))


def _write_tfrecord(task: ShardTask, records: Iterator[Serialized]) -> None:
    tfrecord_files.write_records(task.path, records)


def _write_array_record(task: ShardTask, records: Iterator[Serialized]) -> None:
    num_bytes = array_record_files.write_records(task.path, records)
    array_record_files.save_receipt(task.receipts_dir, task.path, num_bytes)


# The shard file formats the engines write, and how.
FILE_WRITERS: dict[str, Callable[[ShardTask, Iterator[Serialized]], None]] = {
    tfrecord_files.FORMAT: _write_tfrecord,
    array_record_files.FORMAT: _write_array_record,
}


def write_shard(task: ShardTask) -> int:
    """Writes the shard file of `task` in its format; returns the number of examples written.

    A full file system is a DiskSpaceError naming the shard, which engines pass on as they pass
    on input errors (Beam without logging its traceback); the builder adds what the build needs.
    """
    try:
        FILE_WRITERS[task.file_format](task, shard_records(task))
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        raise disk_space.shard_disk_full(task.path) from None
    return len(task.records)
