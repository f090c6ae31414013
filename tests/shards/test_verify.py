"""The count before commit: every shard file holds the records the plan gave it, or the build
stops naming the shard; the split's record bytes (TFDS's numBytes) are summed on the way."""

import re
from pathlib import Path

import pytest

from mpii_pose.base import tfds_internals
from mpii_pose.base.errors import IncompleteBuildError
from mpii_pose.shards import array_record_files, tfrecord_files
from mpii_pose.shards.verify import count_examples, verify_split

TFRECORD = tfds_internals.FileFormat.TFRECORD
ARRAY_RECORD = tfds_internals.FileFormat.ARRAY_RECORD

# Three shards of 2, 1 and 3 records, some given in parts, one empty record.
SHARDS = [
    [(b"first",), (b"sec", b"ond")],
    [(b"",)],
    [(b"x" * 1000,), (b"y" * 7, b"z"), (bytes(range(256)),)],
]
LENGTHS = [len(records) for records in SHARDS]
NUM_BYTES = sum(len(part) for records in SHARDS for parts in records for part in parts)


def write_split(folder: Path, file_format) -> list[Path]:
    """The shards of SHARDS in `file_format`, named as TFDS names them; for array_record, with
    the receipts the shard writer leaves (in `folder`/receipts)."""
    count = len(SHARDS)
    paths = []
    for i, records in enumerate(SHARDS):
        path = folder / f"mpii_pose-train.{file_format.value}-{i:05d}-of-{count:05d}"
        if file_format == TFRECORD:
            tfrecord_files.write_records(path, records)
        else:
            num_bytes = array_record_files.write_records(path, records)
            array_record_files.save_receipt(folder / "receipts", path, num_bytes)
        paths.append(path)
    return paths


def test_complete_tfrecord_shards_give_their_record_bytes(tmp_path):
    paths = write_split(tmp_path, TFRECORD)
    assert verify_split("train", paths, LENGTHS, sum(LENGTHS), TFRECORD) == NUM_BYTES
    assert count_examples(paths[2], TFRECORD) == (3, 1000 + 8 + 256)


def test_array_record_bytes_come_from_the_receipts(tmp_path):
    paths = write_split(tmp_path, ARRAY_RECORD)
    receipts = array_record_files.read_receipts(tmp_path / "receipts")
    assert verify_split("train", paths, LENGTHS, 6, ARRAY_RECORD, receipts) == NUM_BYTES
    # Without receipts the format hides the bytes: counted, but no total.
    assert count_examples(paths[2], ARRAY_RECORD) == (3, None)
    assert verify_split("train", paths, LENGTHS, 6, ARRAY_RECORD) is None


def test_a_plan_that_does_not_add_up_to_the_annotated_persons_is_refused(tmp_path):
    paths = write_split(tmp_path, TFRECORD)
    with pytest.raises(IncompleteBuildError, match=r"^split train: 6 examples written, 7 planned$"):  # fmt: skip
        verify_split("train", paths, LENGTHS, 7, TFRECORD)


@pytest.mark.parametrize("file_format", [TFRECORD, ARRAY_RECORD], ids=lambda f: f.value)
def test_a_shard_with_fewer_records_is_named(tmp_path, file_format):
    paths = write_split(tmp_path, file_format)
    lengths = [2, 2, 3]  # the plan gave the second shard two persons; it holds one
    receipts = array_record_files.read_receipts(tmp_path / "receipts")
    with pytest.raises(IncompleteBuildError) as info:
        verify_split("validation", paths, lengths, 7, file_format, receipts)
    assert str(info.value) == f"split validation: shard {paths[1]} holds 1 examples, 2 expected"


def test_a_missing_tfrecord_shard_was_not_written(tmp_path):
    paths = write_split(tmp_path, TFRECORD)
    paths[2].unlink()
    with pytest.raises(IncompleteBuildError) as info:
        verify_split("train", paths, LENGTHS, 6, TFRECORD)
    assert str(info.value) == f"split train: shard {paths[2]} was not written"


def test_a_missing_array_record_shard_was_not_written(tmp_path):
    paths = write_split(tmp_path, ARRAY_RECORD)
    paths[2].unlink()
    receipts = array_record_files.read_receipts(tmp_path / "receipts")
    with pytest.raises(IncompleteBuildError, match=re.escape(f"shard {paths[2]} was not written")):
        verify_split("train", paths, LENGTHS, 6, ARRAY_RECORD, receipts)


@pytest.mark.parametrize(
    "cut, problem",
    # The last record: a 12-byte header, 256 bytes, a 4-byte CRC; cut in its CRC, or 5 bytes into
    # its header.
    [(-3, "ends inside record 2"), (-(12 + 256 + 4 - 5), "ends inside the header of record 2")],
    ids=["inside-a-record", "inside-a-header"],
)
def test_a_truncated_tfrecord_shard_is_named_with_where_it_ends(tmp_path, cut, problem):
    paths = write_split(tmp_path, TFRECORD)
    paths[2].write_bytes(paths[2].read_bytes()[:cut])
    with pytest.raises(IncompleteBuildError) as info:
        verify_split("train", paths, LENGTHS, 6, TFRECORD)
    assert str(info.value) == f"split train: {paths[2]}: {problem}"


def test_a_truncated_array_record_shard_is_named(tmp_path):
    """array_record's reader raises RuntimeError (with an empty message) for a file cut short."""
    paths = write_split(tmp_path, ARRAY_RECORD)
    paths[2].write_bytes(paths[2].read_bytes()[:-20])
    receipts = array_record_files.read_receipts(tmp_path / "receipts")
    with pytest.raises(IncompleteBuildError) as info:
        verify_split("train", paths, LENGTHS, 6, ARRAY_RECORD, receipts)
    assert str(info.value).startswith(
        f"split train: shard {paths[2]} cannot be read as array_record ("
    )


def test_an_array_record_shard_without_its_receipt_was_not_finished(tmp_path):
    paths = write_split(tmp_path, ARRAY_RECORD)
    (tmp_path / "receipts" / paths[1].name).unlink()
    receipts = array_record_files.read_receipts(tmp_path / "receipts")
    with pytest.raises(IncompleteBuildError) as info:
        verify_split("train", paths, LENGTHS, 6, ARRAY_RECORD, receipts)
    assert str(info.value) == f"split train: shard {paths[1]} was not finished"


def test_a_shard_list_and_a_plan_of_different_lengths_are_refused(tmp_path):
    """Not zipped short, which would leave the last shards unchecked."""
    paths = write_split(tmp_path, TFRECORD)
    with pytest.raises(ValueError):
        verify_split("train", paths[:2], LENGTHS, 6, TFRECORD)
