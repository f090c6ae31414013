"""The estimate of a shard file's size, against files the shard writers write (both formats)."""

import os

import pytest

from mpii_pose.shards import array_record_files, space, tfrecord_files

# Records of a shard: none, small ones, one JPEG-sized, several across ArrayRecord's 64 KiB blocks.
SHARDS = [[], [900], [900, 1_500], [450_000], [300_000] * 5, [70_000] * 40]


def on_disk(path) -> int:
    return os.stat(path).st_blocks * 512


@pytest.mark.parametrize("lengths", SHARDS, ids=lambda lengths: f"{len(lengths)} records")
@pytest.mark.parametrize("file_format", [tfrecord_files.FORMAT, array_record_files.FORMAT])
def test_a_shard_file_is_estimated_within_a_block(tmp_path, file_format, lengths):
    """Random bytes, as a JPEG's: ArrayRecord's compression cannot shrink them."""
    records = [(os.urandom(n),) for n in lengths]
    path = tmp_path / "shard"
    writers = {
        tfrecord_files.FORMAT: tfrecord_files.write_records,
        array_record_files.FORMAT: array_record_files.write_records,
    }
    writers[file_format](path, records)
    estimate = space.shard_file_bytes(lengths, file_format)
    slack = space.ARRAY_RECORD_BLOCK if file_format == array_record_files.FORMAT else 4_096
    assert on_disk(path) - 4_096 <= estimate <= on_disk(path) + slack + 4_096
    assert estimate >= os.stat(path).st_size
