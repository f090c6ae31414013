"""ArrayRecord shards as TFDS writes them, and the record bytes their files do not reveal.

TFDS's `ArrayRecordFileAdapter` writes each serialized example with
`ArrayRecordWriter(path, 'group_size:1')`; the same calls give the same bytes. The file compresses
its records, so a split's `numBytes` (the serialized examples' bytes, as for TFRecord) cannot be
read back from it cheaply: the writer leaves it in a receipt beside the build, read before commit.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

from etils import epath

FORMAT = "array_record"
_OPTIONS = "group_size:1"  # TFDS's (file_adapters.ArrayRecordFileAdapter.write_examples)


def write_records(path: epath.PathLike, records: Iterable[Sequence[bytes | memoryview]]) -> int:
    """Writes `records`, each given as its parts, to a new ArrayRecord file at `path`; returns
    the bytes of all records."""
    from array_record.python import array_record_module

    writer = array_record_module.ArrayRecordWriter(os.fspath(path), _OPTIONS)
    total = 0
    try:
        for parts in records:
            record = b"".join(parts)
            writer.write(record)
            total += len(record)
    finally:
        writer.close()
    return total


def save_receipt(receipts_dir: epath.PathLike, shard: epath.PathLike, num_bytes: int) -> None:
    """Records that `shard` is complete and holds `num_bytes` of records (written atomically;
    a shard written again, as Ray retries the task of a worker that died, replaces it)."""
    folder = epath.Path(receipts_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = epath.Path(shard).name
    partial = folder / f".{name}.partial"
    partial.write_text(str(num_bytes))
    partial.replace(folder / name)


def read_receipts(receipts_dir: epath.PathLike) -> Mapping[str, int]:
    """The record bytes of each completed shard, by file name."""
    folder = epath.Path(receipts_dir)
    if not folder.exists():
        return {}
    return {p.name: int(p.read_text()) for p in folder.iterdir() if not p.name.startswith(".")}
