"""TFRecord files without TensorFlow: framing records, and counting what a file holds.

A record is its length (uint64, little-endian), the masked CRC32C of those 8 bytes, the data and
the masked CRC32C of the data: the format `tf.io.TFRecordWriter` writes, byte for byte.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

import crc32c
from etils import epath

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8


class CorruptRecordFile(ValueError):
    """A TFRecord file whose framing is broken: truncated or overwritten."""


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC32C (rotated and offset so that CRCs of CRCs stay well mixed)."""
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(record: bytes) -> bytes:
    """The bytes of one TFRecord record holding `record`."""
    length = _LENGTH.pack(len(record))
    return b"".join((length, _CRC.pack(masked_crc(length)), record, _CRC.pack(masked_crc(record))))


def write_records(path: epath.PathLike, records: Iterable[bytes]) -> None:
    """Writes `records` to a new TFRecord file at `path`, one at a time."""
    with epath.Path(path).open("wb") as out:
        for record in records:
            out.write(frame(record))


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
