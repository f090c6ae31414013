"""ArrayRecord shards as TFDS writes them, and the receipts that carry their record bytes to the
count before commit. (Whole array_record builds: test_array_record.py.)"""

from pathlib import Path

from array_record.python.array_record_module import ArrayRecordReader
from tensorflow_datasets.core.file_adapters import ArrayRecordFileAdapter

from mpii_pose.shards import array_record_files

RECORDS = [b"", b"x", bytes(range(256)) * 300, b"last"]


def in_parts(record: bytes) -> list[bytes | memoryview]:
    """`record` in three parts, as the shard writer gives them: head, image (a view), tail."""
    third = len(record) // 3
    return [record[:third], memoryview(record)[third : 2 * third], record[2 * third :]]


def read_back(path: Path) -> tuple[list[bytes], str]:
    """The records of an ArrayRecord file, and the options its writer used."""
    reader = ArrayRecordReader(str(path))
    try:
        return reader.read_all(), reader.writer_options_string()
    finally:
        reader.close()


def test_records_given_in_parts_are_written_whole_and_counted(tmp_path):
    path = tmp_path / "shard.array_record"
    num_bytes = array_record_files.write_records(path, (in_parts(r) for r in RECORDS))
    assert num_bytes == sum(map(len, RECORDS))
    records, options = read_back(path)
    assert records == RECORDS and "group_size:1" in options
    assert ArrayRecordFileAdapter.num_examples(path) == len(RECORDS)


def test_the_file_is_byte_identical_to_tfds_own_writer(tmp_path):
    ours, theirs = tmp_path / "ours.array_record", tmp_path / "tfds.array_record"
    array_record_files.write_records(ours, (in_parts(r) for r in RECORDS))
    ArrayRecordFileAdapter.write_examples(theirs, ((i, r) for i, r in enumerate(RECORDS)))
    assert ours.read_bytes() == theirs.read_bytes()


def test_receipts_round_trip_by_shard_name_and_leave_no_partial_file(tmp_path):
    receipts = tmp_path / "receipts"  # made on first use
    shards = [tmp_path / f"mpii_pose-train.array_record-0000{i}-of-00002" for i in range(2)]
    for shard, records in zip(shards, [RECORDS[:2], RECORDS[2:]], strict=True):
        num_bytes = array_record_files.write_records(shard, ([r] for r in records))
        array_record_files.save_receipt(receipts, shard, num_bytes)
    assert array_record_files.read_receipts(receipts) == {
        shards[0].name: 1,
        shards[1].name: 256 * 300 + 4,
    }
    assert sorted(p.name for p in receipts.iterdir()) == [s.name for s in shards]


def test_a_receipt_left_half_written_is_not_read_and_no_folder_means_none(tmp_path):
    """A writer killed while saving leaves only its hidden partial file: its shard has no receipt."""
    receipts = tmp_path / "receipts"
    assert array_record_files.read_receipts(receipts) == {}
    array_record_files.save_receipt(receipts, tmp_path / "a.array_record", 10)
    (receipts / ".b.array_record.partial").write_text("1")
    assert array_record_files.read_receipts(receipts) == {"a.array_record": 10}


def test_a_receipt_saved_again_is_replaced(tmp_path):
    """A shard written again (a retried task) leaves the bytes of its last write."""
    array_record_files.save_receipt(tmp_path, "out/a.array_record", 10)
    array_record_files.save_receipt(tmp_path, "out/a.array_record", 12)
    assert array_record_files.read_receipts(tmp_path) == {"a.array_record": 12}
