"""The direct encoder gives TFDS's serializer's bytes (deterministic), over the features' edge values."""

import io

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image
from tensorflow_datasets.core import example_serializer

from mpii_pose.base.skeleton import NUM_JOINTS
from mpii_pose.shards.example_encoder import ExampleEncoder, protobuf_key_order, varint
from mpii_pose.shards.features import feature_spec

F32 = np.finfo(np.float32)
FLOATS = np.array(
    [np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf, -1.5, 1e-45, F32.max, F32.min, 0.1, -0.77553],
    dtype=np.float32,
)
F64 = np.finfo(np.float64)
# The JSON's and the .mat's values, and float64's edges: stored exactly, as their bytes.
DOUBLES = np.array(
    [np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf, -1.5, 5e-324, F64.max, F64.min, 0.1, -0.77553,
     637.0201, 189.8183, 2.0 ** -1074 * 3, 1 / 3],
    dtype=np.float64,
)  # fmt: skip
TEXTS = ["", "a", "bicycling, mountain", "Überkopf 🤸", "x" * 300, "\x00\n"]
INT32 = [np.iinfo(np.int32).min, -1, 0, 1, 127, 128, 300, np.iinfo(np.int32).max]
INT64 = [np.iinfo(np.int64).min, -1, 0, 127, 128, 2**35, np.iinfo(np.int64).max]


def tfds_bytes(features: tfds.features.FeaturesDict, example: dict) -> bytes:
    """What `tfds build` stores for `example`: TFDS's serializer, serialized deterministically."""
    serializer = example_serializer.ExampleSerializer(features.get_serialized_info())
    proto = serializer.get_tf_example(features.encode_example(example))
    return proto.SerializeToString(deterministic=True)


def mpii_examples(seed: int, count: int):
    """Examples of the mpii_pose spec whose every feature takes its edge values in turn."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        size = [0, 1, 2, 127, 128, 16383, 16384, 3 * 2**20 + 5][i % 7]
        yield {
            "image": rng.integers(0, 256, size, dtype=np.uint8).tobytes(),
            "filename": TEXTS[i % len(TEXTS)],
            "joints": rng.choice(DOUBLES, (NUM_JOINTS, 2)),
            "visibility": rng.integers(0, 2, NUM_JOINTS).astype(bool),
            "center": rng.choice(DOUBLES, 2),
            "scale": DOUBLES[i % len(DOUBLES)],
            "head_box": rng.choice(DOUBLES, 4),
            "is_visible": rng.choice(np.array([-1, 0, 1, -128, 127], np.int8), NUM_JOINTS),
            "activity": TEXTS[(i + 1) % len(TEXTS)],
            "category": TEXTS[(i + 2) % len(TEXTS)],
            "activity_id": INT32[i % len(INT32)],
            "official_image_index": INT32[(i + 1) % len(INT32)],
            "official_rect_index": INT32[(i + 2) % len(INT32)],
            "single_person": i % 3 == 0,
            "annotation_index": INT64[i % len(INT64)],
            "person_index": INT32[(i + 3) % len(INT32)],
        }


def test_every_edge_value_encodes_as_tfds_serializes_it():
    features = feature_spec()
    encoder = ExampleEncoder(features, gap="image")
    for example in mpii_examples(seed=0, count=70):
        head, image, tail = encoder.encode(example)
        assert image is example["image"]  # the image's bytes are not copied
        assert b"".join((head, image, tail)) == tfds_bytes(features, example)


def test_other_specs_encode_as_tfds_serializes_them():
    """The encoder follows the spec: float64, unsigned, wide and string tensors, other gaps."""
    features = tfds.features.FeaturesDict(
        {
            "blob": tfds.features.Text(),
            "a": tfds.features.Tensor(shape=(3,), dtype=np.float64),
            "ab": tfds.features.Tensor(shape=(2, 2), dtype=np.uint8),
            "abc": tfds.features.Tensor(shape=(0,), dtype=np.float32),
            "b": tfds.features.Tensor(shape=(2,), dtype=np.int64),
            "words": tfds.features.Tensor(shape=(3,), dtype=np.str_),
            "flag": tfds.features.Scalar(dtype=np.bool_),
            "raw32": tfds.features.Tensor(shape=(2,), dtype=np.float32, encoding="bytes"),
            "raw_ints": tfds.features.Tensor(shape=(2, 2), dtype=np.int16, encoding="bytes"),
            "raw_one": tfds.features.Tensor(shape=(), dtype=np.float64, encoding="bytes"),
        }
    )
    encoder = ExampleEncoder(features, gap="blob")
    example = {
        "blob": "ünïcode",
        "a": [1 / 3, -0.0, np.nan],
        "ab": [[0, 255], [128, 7]],
        "abc": [],
        "b": INT64[:2],
        "words": ["", "two", "Überkopf"],
        "flag": True,
        "raw32": np.array([np.nan, -0.0], np.float32),
        "raw_ints": [[-32768, 32767], [0, -1]],
        "raw_one": 1 / 3,
    }
    assert encoder.serialize(example) == tfds_bytes(features, example)


def test_float64_features_keep_every_bit():
    """The coordinates read back equal the values given: no float32 rounding on the way."""
    features = feature_spec()
    example = next(mpii_examples(seed=2, count=1))
    picture = io.BytesIO()
    Image.new("RGB", (4, 3)).save(picture, format="JPEG")
    example["image"] = picture.getvalue()
    decoded = features.deserialize_example_np(
        ExampleEncoder(features, gap="image").serialize(example)
    )
    for name in ("joints", "center", "scale", "head_box"):
        assert decoded[name].dtype == np.float64
        assert decoded[name].tobytes() == np.asarray(example[name], np.float64).tobytes(), name


def test_the_map_order_is_protobufs():
    assert protobuf_key_order(["activity", "activity_id", "a", "b"]) == [
        "activity_id", "activity", "a", "b"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("joints", np.zeros((NUM_JOINTS, 3)), "feature 'joints': shape"),
        ("visibility", np.zeros(NUM_JOINTS + 1, bool), "feature 'visibility': shape"),
        ("center", np.zeros(2, np.float32), "feature 'center': dtype float32 does not match"),
    ],
)
def test_a_wrong_shape_or_dtype_is_refused_with_the_feature_named(name, value, message):
    """As TFDS refuses them (its encode_example raises ValueError too)."""
    example = next(mpii_examples(seed=1, count=1))
    example[name] = value
    with pytest.raises(ValueError):
        tfds_bytes(feature_spec(), example)
    with pytest.raises(ValueError, match=message):
        ExampleEncoder(feature_spec(), gap="image").encode(example)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**63 - 1, -1, -(2**63)])
def test_varints_are_protobufs(value):
    from google.protobuf.internal import encoder

    expected = bytearray()
    encoder._VarintEncoder()(expected.extend, value & 0xFFFFFFFFFFFFFFFF)
    assert varint(value) == bytes(expected)
