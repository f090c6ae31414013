"""A TFDS example writer whose records are byte-reproducible from run to run.

protobuf's upb backend serialises a `tf.train.Example`'s feature map in an order that changes from
process to process; re-serialising deterministically (map keys sorted) fixes the bytes while the
record length, and so TFDS's `numBytes`, stays the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from etils import epath
from tensorflow_datasets.proto import tf_example_pb2

from mpii_pose.base import tfds_internals


def canonical_records(records: Iterable[tuple[object, bytes]]) -> Iterator[tuple[object, bytes]]:
    """Re-serialises each (key, serialized tf.train.Example) with sorted feature-map keys."""
    parse = tf_example_pb2.Example.FromString
    for key, record in records:
        yield key, parse(record).SerializeToString(deterministic=True)


class DeterministicExampleWriter(tfds_internals.ExampleWriter):
    """TFDS's `ExampleWriter`, fed canonical records."""

    def write(self, path: epath.PathLike, examples: Iterable[tuple[object, bytes]]) -> Any:
        return super().write(path, canonical_records(examples))
