"""Write one shard of the plan: the one writer every engine runs. Never imports TensorFlow.

Each person's image is read once, encoded with the feature spec, serialised as a `tf.train.Example`
by TFDS's own serializer (deterministically) and framed as a TFRecord record.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from tensorflow_datasets.core import example_serializer

from mpii_pose import tfrecord
from mpii_pose.examples import load_image, to_example
from mpii_pose.features import feature_spec
from mpii_pose.planning import ShardTask


@functools.cache
def _encoder():
    features = feature_spec()
    return features, example_serializer.ExampleSerializer(features.get_serialized_info())


def serialize(example: dict) -> bytes:
    """The record bytes of one example, identical to what `tfds build` stores."""
    features, serializer = _encoder()
    proto = serializer.get_tf_example(features.encode_example(example))
    return proto.SerializeToString(deterministic=True)


def shard_records(task: ShardTask) -> Iterator[bytes]:
    """The serialised examples of one shard, in plan order, reading one image at a time."""
    for person in task.persons:
        image = load_image(task.images_dir, task.annotation_file, person)
        yield serialize(to_example(person, image))


def write_shard(task: ShardTask) -> int:
    """Writes the shard file of `task`; returns the number of examples written."""
    tfrecord.write_records(task.path, shard_records(task))
    return len(task.persons)
