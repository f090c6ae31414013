"""TFRecord files without TensorFlow: framing records, and counting what a file holds.

A record is its length (uint64, little-endian), the masked CRC32C of those 8 bytes, the data and
the masked CRC32C of the data: the format `tf.io.TFRecordWriter` writes, byte for byte.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

import crc32c
from etils import epath

FORMAT = "tfrecord"
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8


class CorruptRecordFile(ValueError):
    """A TFRecord file whose framing is broken: truncated or overwritten."""


def masked_crc(data: bytes | memoryview, crc: int | None = None) -> int:
    """TFRecord's masked CRC32C of `data` (or of `crc`, an unmasked CRC32C already computed):
    rotated and offset so that CRCs of CRCs stay well mixed."""
    crc = crc32c.crc32c(data) if crc is None else crc
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def framed(parts: Sequence[bytes | memoryview]) -> list[bytes | memoryview]:
    """One TFRecord record holding the concatenation of `parts`, as a list of byte strings to
    write in turn: the parts themselves are neither joined nor copied (an image stays where it is).
    """
    length = _LENGTH.pack(sum(len(part) for part in parts))
    crc = 0
    for part in parts:
        crc = crc32c.crc32c(part, crc)
    return [
        length + _CRC.pack(masked_crc(length)),
        *parts,
        _CRC.pack(masked_crc(b"", crc)),
    ]


def write_records(path: epath.PathLike, records: Iterable[Sequence[bytes | memoryview]]) -> None:
    """Writes `records`, each given as its parts, to a new TFRecord file at `path`, one at a time."""
    with epath.Path(path).open("wb") as out:
        for parts in records:
            out.writelines(framed(parts))


def count_records(path: epath.PathLike) -> tuple[int, int]:
    """Returns (number of records, total record bytes) of a TFRecord file, reading only headers.

    Raises CorruptRecordFile when a length header fails its CRC or the file ends inside a record.
    """
    count = total = 0
    with epath.Path(path).open("rb") as f:
        size = f.seek(0, 2)
        position = f.seek(0)
        while position < size:
            header = f.read(12)
            if len(header) < 12:
                raise CorruptRecordFile(f"{path}: ends inside the header of record {count}")
            (length,) = _LENGTH.unpack_from(header)
            if _CRC.unpack_from(header, 8)[0] != masked_crc(header[:8]):
                raise CorruptRecordFile(f"{path}: length header of record {count} is corrupt")
            position = f.seek(length + 4, 1)
            if position > size:
                raise CorruptRecordFile(f"{path}: ends inside record {count}")
            count, total = count + 1, total + length
    return count, total
