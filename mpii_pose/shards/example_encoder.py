"""The serialized `tf.train.Example` of an example, encoded directly from the feature spec.

The bytes are those of TFDS's `ExampleSerializer` followed by
`SerializeToString(deterministic=True)` (what `tfds build` stores through this package's example
writer): the feature map's entries in protobuf's deterministic order, packed int64 and float
lists, one bytes entry per string, and a tensor of `Encoding.BYTES` as its array's bytes in one
bytes entry (TFDS's `Tensor.encode_example`). One feature (the image) is left out of the encoding and
returned as a gap between two byte strings, so that its bytes are never copied into the record:
the writer frames and writes the three parts in turn.

A sequence (TFDS's `Sequence`) is stored as TFDS flattens it: a sequence of dicts as one feature
per field, keyed `sequence/field`, each the list of its elements' values in one list (a
bytes-encoded tensor: one bytes entry per element); an empty sequence as an empty list of each
field's kind.

Wire format (protobuf): Example{1: Features{1: repeated entry{1: key, 2: Feature}}}, with
Feature{1: BytesList{1: repeated bytes}, 2: FloatList{1: packed float}, 3: Int64List{1: packed
int64}}.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
from tensorflow_datasets.core import features as features_lib
from tensorflow_datasets.proto import tf_example_pb2, tf_feature_pb2

_LEN = 2  # protobuf wire type of length-delimited fields
_BYTES, _FLOAT, _INT64 = 1, 2, 3  # Feature's oneof field numbers
_ONE_BYTE = tuple(bytes((i,)) for i in range(128))


@functools.lru_cache(maxsize=65536)  # lengths, indices and -1 recur from example to example
def varint(value: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative int, or of an int64 as two's complement."""
    if 0 <= value < 128:
        return _ONE_BYTE[value]
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _delimited(field: int, payload_length: int) -> bytes:
    """The tag and length that precede a length-delimited field's payload."""
    return _ONE_BYTE[field << 3 | _LEN] + varint(payload_length)


def _message(field: int, payload: bytes) -> bytes:
    return _delimited(field, len(payload)) + payload


def _small(values: np.ndarray) -> bytes | None:
    """Int64List's packed varints when every value is in 0..127 (one byte each), else None."""
    if values.size and values.min() >= 0 and values.max() < 128:
        return values.astype(np.uint8).tobytes()
    return None


def _int64_list(values: np.ndarray) -> bytes:
    packed = _small(values)
    if packed is None:
        packed = b"".join(varint(v) for v in values.astype(np.int64).ravel().tolist())
    return _message(_INT64, _message(1, packed) if packed else b"")


def _float_list(values: np.ndarray) -> bytes:
    packed = values.astype("<f4").tobytes()
    return _message(_FLOAT, _message(1, packed) if packed else b"")


def _bytes_list(values: np.ndarray) -> bytes:
    items = (v.encode() if isinstance(v, str) else bytes(v) for v in values.ravel().tolist())
    return _message(_BYTES, b"".join(_message(1, item) for item in items))


class _Field:
    """One feature of the spec: how its map entry (key and Feature) is encoded.

    Float lists, and int64 lists of small non-negative values, have a fixed length for a fixed
    shape: their entry is a prefix computed once, then the values' bytes.
    """

    def __init__(
        self,
        name: str,
        dtype: np.dtype,
        shape: tuple[int | None, ...],
        as_bytes: tuple[np.dtype, tuple[int, ...]] | None = None,
    ):
        self.name, self.dtype, self.shape = name, dtype, shape
        self._as_bytes = as_bytes  # the (dtype, shape) of a tensor stored as its bytes
        self._key = _message(1, name.encode())
        if dtype.kind in "biu":
            self._list, width = _int64_list, 1
        elif dtype.kind == "f":
            self._list, width = _float_list, 4
        elif dtype.kind in "SUO":
            self._list, width = _bytes_list, 0
        else:
            raise TypeError(f"feature {name!r}: no tf.train.Feature list holds {dtype}")
        size = math.prod(d for d in shape if d is not None) if None not in shape else 0
        self._prefix = None
        if width and size:  # everything before the values' bytes, for `size` values of `width`
            packed = _delimited(1, size * width)
            kind = _FLOAT if self._list is _float_list else _INT64
            feature = _delimited(kind, len(packed) + size * width)
            value = _delimited(2, len(feature) + len(packed) + size * width)
            body = len(self._key) + len(value) + len(feature) + len(packed) + size * width
            self._prefix = _delimited(1, body) + self._key + value + feature + packed

    def entry(self, value: Any) -> bytes:
        """The map entry of `value`, wrapped as field 1 of Features."""
        if self._as_bytes is not None:
            value = self._tensor_bytes(value, *self._as_bytes)
        if self.shape == ():  # scalars without building an array (most features)
            if self._list is _bytes_list:
                data = value.encode() if isinstance(value, str) else bytes(value)
                return _message(1, self._key + _message(2, _message(_BYTES, _message(1, data))))
            scalar = self.dtype.type(value)  # numpy's cast, as TFDS's: overflow raises
            prefix = self._prefix
            assert prefix is not None  # a numeric scalar's entry has a fixed prefix
            if self._list is _float_list:
                return prefix + scalar.astype("<f4").tobytes()
            number = int(scalar)
            if 0 <= number < 128:
                return prefix + _ONE_BYTE[number]
            return _message(
                1, self._key + _message(2, _message(_INT64, _message(1, varint(number))))
            )
        array = np.asarray(value, dtype=self.dtype)
        if array.shape != self.shape and not _fits(array.shape, self.shape):
            raise ValueError(f"feature {self.name!r}: shape {array.shape}, not {self.shape}")
        if self._prefix is not None:
            packed = (
                array.astype("<f4", copy=False).tobytes()
                if self._list is _float_list
                else _small(array)
            )
            if packed is not None:
                return self._prefix + packed
        return _message(1, self._key + _message(2, self._list(array)))

    def _tensor_bytes(self, value: Any, dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
        """A bytes-encoded tensor's value as TFDS encodes it, with TFDS's checks."""
        if isinstance(value, np.ndarray) and value.dtype != dtype:
            raise ValueError(f"feature {self.name!r}: dtype {value.dtype} does not match {dtype}")
        array = np.asarray(value, dtype=dtype)
        if array.shape != shape:
            raise ValueError(f"feature {self.name!r}: shape {array.shape}, not {shape}")
        return array.tobytes()


class _SequenceField(_Field):
    """A feature of a sequence: its value lists the elements' values (a list, tuple or array)."""

    def __init__(
        self,
        name: str,
        dtype: np.dtype,
        shape: tuple[int | None, ...],
        as_bytes: tuple[np.dtype, tuple[int, ...]] | None = None,
    ):
        super().__init__(name, dtype, shape)
        self._element_bytes = as_bytes  # the (dtype, shape) of an element stored as its bytes

    def entry(self, value: Any) -> bytes:
        return super().entry(self._column(value))

    def _column(self, value: Any) -> np.ndarray:
        """The elements' values stacked as TFDS stacks them; no elements: an empty array."""
        if not _length(self.name, value):  # TFDS's `build_empty_np`, whatever the value's type
            return np.empty((0, *(d or 0 for d in self.shape[1:])), self.dtype)
        if self._element_bytes is not None:
            value = [self._tensor_bytes(element, *self._element_bytes) for element in value]
        return np.asarray(value, dtype=self.dtype)


def _fits(shape: tuple[int, ...], pattern: tuple[int | None, ...]) -> bool:
    """Whether `shape` is of `pattern`, where None stands for any length."""
    return len(shape) == len(pattern) and all(
        p is None or s == p for s, p in zip(shape, pattern, strict=True)
    )


def _length(name: str, value: Any) -> int:
    """The number of elements of a sequence's value: as TFDS, a list, a tuple or an array."""
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise ValueError(
            f"feature {name!r}: a sequence is a list, tuple or array, not {type(value).__name__}"
        )
    return len(value)


def protobuf_key_order(keys: Iterable[str]) -> list[str]:
    """`keys` in the order protobuf's deterministic serialization writes a map's entries.

    Asked of protobuf itself, with an Example of empty features: its backend decides (upb, in
    protobuf 6, puts "activity_id" before "activity": a key comes after the keys it begins).
    """
    probe = tf_example_pb2.Example(
        features=tf_feature_pb2.Features(feature={k: tf_feature_pb2.Feature() for k in keys})
    ).SerializeToString(deterministic=True)
    ((_, features),) = _fields(probe)
    return [dict(_fields(entry))[1].decode() for _, entry in _fields(features)]


def _fields(message: bytes) -> list[tuple[int, bytes]]:
    """(field number, payload) of each field of a message whose fields are all length-delimited."""
    fields, position = [], 0
    while position < len(message):
        tag, position = _read_varint(message, position)
        length, position = _read_varint(message, position)
        fields.append((tag >> 3, message[position : position + length]))
        position += length
    return fields


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    """The varint at `position`, and the position after it."""
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, position


def _as_bytes(
    name: str, feature: features_lib.FeatureConnector
) -> tuple[np.dtype, tuple[int, ...]] | None:
    """The (dtype, shape) of `feature` if it is a tensor stored as its bytes, else None."""
    if not isinstance(feature, features_lib.Tensor):
        return None
    encoding = getattr(feature.to_json_content(), "encoding", "")
    if encoding in ("", features_lib.Encoding.NONE.value):
        return None
    if encoding != features_lib.Encoding.BYTES.value:
        raise TypeError(f"feature {name!r}: {encoding} encoding is not supported")
    info = feature.get_tensor_info()
    if None in info.shape:
        raise TypeError(f"feature {name!r}: bytes encoding of a variable shape is not supported")
    return np.dtype(info.np_dtype), tuple(info.shape)


def _dict_of(feature: features_lib.FeatureConnector) -> features_lib.FeaturesDict | None:
    """The dict of which `feature` is a sequence, if it is a sequence of dicts, else None."""
    if isinstance(feature, features_lib.Sequence):
        inner = feature.feature
        return inner if isinstance(inner, features_lib.FeaturesDict) else None
    return None


def _leaves(
    features: features_lib.FeaturesDict,
) -> Iterator[tuple[str, features_lib.FeatureConnector, Any, bool]]:
    """(key, feature, serialized info, whether in a sequence) of each feature stored as one
    `tf.train.Feature`, keyed as TFDS flattens the spec: `sequence/field` in a sequence of dicts."""
    for name, feature in features.items():
        info = feature.get_serialized_info()
        fields = _dict_of(feature)
        if fields is not None:
            for field, inner in fields.items():
                yield f"{name}/{field}", inner, info[field], True
        elif isinstance(feature, features_lib.Sequence):
            yield name, feature.feature, info, True
        else:
            yield name, feature, info, False


def _spec_fields(features: features_lib.FeaturesDict) -> dict[str, _Field]:
    """The fields of the spec by key: its tensors, and the fields of its sequences (of tensors)."""
    fields: dict[str, _Field] = {}
    for name, feature, info, in_sequence in _leaves(features):
        # A nested dict's info is a dict; a sequence in a sequence has a sequence rank of 2.
        if not isinstance(info, features_lib.TensorInfo) or info.sequence_rank != in_sequence:
            raise TypeError(f"feature {name!r}: {type(feature).__name__} is not supported here")
        kind = _SequenceField if in_sequence else _Field
        fields[name] = kind(name, np.dtype(info.np_dtype), info.shape, _as_bytes(name, feature))
    return fields


class ExampleEncoder:
    """Encodes examples of a spec of tensors and sequences of them, the feature `gap` (a string)
    left out as a gap.

    `encode(example)` takes the features' values after TFDS's `encode_example` (numbers, arrays,
    bytes or str; a sequence of dicts as TFDS takes it: a dict of lists or a list of dicts) and
    returns (head, gap bytes, tail): the record is their concatenation.
    """

    def __init__(self, features: features_lib.FeaturesDict, gap: str):
        fields = _spec_fields(features)
        if gap not in fields or fields[gap].shape != ():
            raise ValueError(f"the gap {gap!r} must be a scalar string feature of the spec")
        order = protobuf_key_order(fields)
        at = order.index(gap)
        self._gap = gap
        self._before = [fields[name] for name in order[:at]]
        self._after = [fields[name] for name in order[at + 1 :]]
        self._gap_key = _message(1, gap.encode())
        self._sequences = {  # each sequence of dicts: its fields' names
            name: tuple(inner.keys())
            for name, feature in features.items()
            if (inner := _dict_of(feature)) is not None
        }

    def _flattened(self, example: Mapping[str, Any]) -> Mapping[str, Any]:
        """`example` with each sequence of dicts as one value per field, keyed `sequence/field`,
        with TFDS's check that the fields have one length."""
        flat = dict(example)
        for name, keys in self._sequences.items():
            value = example[name]
            if isinstance(value, Mapping):
                lengths = {_length(f"{name}/{key}", value[key]) for key in keys}
                if len(lengths) > 1:
                    raise ValueError(f"feature {name!r}: fields of lengths {sorted(lengths)}")
                flat.update((f"{name}/{key}", value[key]) for key in keys)
            else:
                _length(name, value)
                flat.update((f"{name}/{key}", [element[key] for element in value]) for key in keys)
        return flat

    def encode(self, example: Mapping[str, Any]) -> tuple[bytes, bytes | memoryview, bytes]:
        """(head, gap, tail) of the serialized `tf.train.Example` of `example`."""
        if self._sequences:
            example = self._flattened(example)
        gap = example[self._gap]
        gap = gap.encode() if isinstance(gap, str) else gap
        size = len(gap)
        bytes_list = _delimited(1, size)  # BytesList's one value
        feature = _delimited(_BYTES, len(bytes_list) + size)
        value = _delimited(2, len(feature) + len(bytes_list) + size)
        entry_body = len(self._gap_key) + len(value) + len(feature) + len(bytes_list) + size
        before = b"".join(field.entry(example[field.name]) for field in self._before)
        after = b"".join(field.entry(example[field.name]) for field in self._after)
        entry = _delimited(1, entry_body)
        features_length = len(before) + len(entry) + entry_body + len(after)
        head = b"".join(
            (
                _delimited(1, features_length),  # Example.features
                before,
                entry,
                self._gap_key,
                value,
                feature,
                bytes_list,
            )
        )
        return head, gap, after

    def serialize(self, example: Mapping[str, Any]) -> bytes:
        """The whole record in one byte string (for tests and small examples)."""
        head, gap, tail = self.encode(example)
        return b"".join((head, gap, tail))
