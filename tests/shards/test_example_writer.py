"""TFDS's writer fed canonical records: whatever order a process serialised a feature map in, the
shard holds one order (keys sorted), with the record's length unchanged."""

import pytest
from tensorflow_datasets.proto import tf_example_pb2, tf_feature_pb2

from mpii_pose.base import tfds_internals
from mpii_pose.shards import array_record_files, tfrecord_files
from mpii_pose.shards.example_writer import DeterministicExampleWriter, canonical_records

VALUES = {"image": b"\xff\xd8 pixels", "joints": b"16 pairs", "scale": b"1.5"}


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def serialized(*keys: str) -> bytes:
    """A tf.train.Example whose feature map holds `keys` on the wire in this order, as a process
    whose protobuf does not sort map keys may write it: one map entry after another."""
    entries = b"".join(
        tf_feature_pb2.Features(
            feature={
                key: tf_feature_pb2.Feature(
                    bytes_list=tf_feature_pb2.BytesList(value=[VALUES[key]])
                )
            }  # fmt: skip
        ).SerializeToString()
        for key in keys
    )
    return b"\x0a" + varint(len(entries)) + entries  # Example.features, field 1


def key_order(record: bytes) -> list[str]:
    """The feature-map keys in the order the record holds them."""
    return sorted(VALUES, key=lambda key: record.index(key.encode()))


def test_any_wire_order_becomes_the_sorted_order_with_the_same_length():
    orders = [("scale", "image", "joints"), ("joints", "scale", "image"), ("image", "joints", "scale")]  # fmt: skip
    records = [serialized(*order) for order in orders]
    assert [key_order(r) for r in records] == [list(order) for order in orders]
    out = list(canonical_records((f"key{i}", r) for i, r in enumerate(records)))
    assert [key for key, _ in out] == ["key0", "key1", "key2"]  # keys kept, in order
    (canonical,) = {record for _, record in out}  # one record, whatever the input order
    assert key_order(canonical) == ["image", "joints", "scale"]
    assert len(canonical) == len(records[0])  # TFDS's numBytes does not change
    parsed = tf_example_pb2.Example.FromString(canonical).features.feature
    assert {key: list(f.bytes_list.value) for key, f in parsed.items()} == {
        key: [value] for key, value in VALUES.items()
    }


def test_records_are_canonicalised_one_at_a_time():
    """A generator over a generator: a shard's records are never all in memory at once."""
    taken = []

    def records():
        for i in range(3):
            taken.append(i)
            yield i, serialized("scale", "image", "joints")

    out = canonical_records(records())
    assert taken == []
    next(out)
    assert taken == [0]


@pytest.mark.parametrize(
    "file_format, write_records",
    [
        (tfds_internals.FileFormat.TFRECORD, tfrecord_files.write_records),
        (tfds_internals.FileFormat.ARRAY_RECORD, array_record_files.write_records),
    ],
    ids=["tfrecord", "array_record"],
)
def test_the_writer_stores_the_canonical_records(tmp_path, file_format, write_records):
    """The file is the one this package's own shard writer makes of the sorted records."""
    records = [serialized("scale", "image", "joints"), serialized("joints", "image", "scale")]
    DeterministicExampleWriter(file_format).write(tmp_path / "tfds", enumerate(records))
    canonical = [[record] for _, record in canonical_records(enumerate(records))]
    write_records(tmp_path / "expected", canonical)
    assert key_order(canonical[0][0]) == ["image", "joints", "scale"]
    assert (tmp_path / "tfds").read_bytes() == (tmp_path / "expected").read_bytes()
