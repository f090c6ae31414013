"""Count what a build wrote against what it planned, whatever wrote it: nothing is lost silently.

Runs before a build is committed. TFRecord shards are counted from their record headers (no
decoding); other formats through TFDS's file adapter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from etils import epath

from mpii_pose.base import tfds_internals
from mpii_pose.base.errors import IncompleteBuildError
from mpii_pose.shards import tfrecord_files


def count_examples(
    path: epath.Path, file_format: tfds_internals.FileFormat
) -> tuple[int, int | None]:
    """The number of records in one shard file and their bytes (None where the format hides them)."""
    if file_format == tfds_internals.FileFormat.TFRECORD:
        return tfrecord_files.count_records(path)
    return tfds_internals.ADAPTER_FOR_FORMAT[file_format].num_examples(path), None


def verify_split(
    split: str,
    files: Sequence[epath.Path],
    shard_lengths: Sequence[int],
    expected: int,
    file_format: tfds_internals.FileFormat,
    receipts: Mapping[str, int] | None = None,
) -> int | None:
    """Checks that the split's shard files hold `shard_lengths` records, `expected` in all.

    Returns the bytes of all records (TFDS's `numBytes`), or None where the format hides them
    and no `receipts` (record bytes by shard file name, from the writers) tell them; a shard
    without its receipt then was not finished.
    """
    if sum(shard_lengths) != expected:
        raise IncompleteBuildError(
            f"split {split}: {sum(shard_lengths)} examples written, {expected} planned"
        )
    total: int | None = 0
    for path, length in zip(files, shard_lengths, strict=True):
        if not path.exists():  # the formats' readers say so each its own way
            raise IncompleteBuildError(f"split {split}: shard {path} was not written")
        try:
            found, size = count_examples(path, file_format)
        except tfrecord_files.CorruptRecordFile as err:
            raise IncompleteBuildError(f"split {split}: {err}") from None
        except RuntimeError as err:  # array_record's reader, of a file cut short
            raise IncompleteBuildError(
                f"split {split}: shard {path} cannot be read as {file_format.value} "
                f"({err or 'its end is missing'})"
            ) from None
        if found != length:
            raise IncompleteBuildError(
                f"split {split}: shard {path} holds {found} examples, {length} expected"
            )
        if size is None and receipts is not None:
            if path.name not in receipts:
                raise IncompleteBuildError(f"split {split}: shard {path} was not finished")
            size = receipts[path.name]
        total = None if size is None or total is None else total + size
    return total
