"""The direct encoder gives TFDS's serializer's bytes (deterministic), over the features' edge values."""

import io

import numpy as np
import pytest
import tensorflow as tf
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


def image_spec() -> tfds.features.FeaturesDict:
    """One example per image, its persons in a sequence of dicts."""
    exact = {"dtype": np.float64, "encoding": tfds.features.Encoding.BYTES}
    person = {
        "joints": tfds.features.Tensor(shape=(NUM_JOINTS, 2), **exact),
        "visibility": tfds.features.Tensor(shape=(NUM_JOINTS,), dtype=np.bool_),
        "is_visible": tfds.features.Tensor(shape=(NUM_JOINTS,), dtype=np.int8),
        "center": tfds.features.Tensor(shape=(2,), **exact),
        "scale": tfds.features.Tensor(shape=(), **exact),
        "head_box": tfds.features.Tensor(shape=(4,), **exact),
        "official_image_index": tfds.features.Scalar(dtype=np.int32),
        "official_rect_index": tfds.features.Scalar(dtype=np.int32),
        "single_person": tfds.features.Scalar(dtype=np.bool_),
        "annotation_index": tfds.features.Scalar(dtype=np.int64),
        "annotation_split": tfds.features.Text(),
        "annotated": tfds.features.Scalar(dtype=np.bool_),
        "group": tfds.features.Scalar(dtype=np.int32),
    }
    return tfds.features.FeaturesDict(
        {
            "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
            "filename": tfds.features.Text(),
            "official_image_index": tfds.features.Scalar(dtype=np.int32),
            "activity_id": tfds.features.Scalar(dtype=np.int32),
            "activity": tfds.features.Text(),
            "category": tfds.features.Text(),
            "persons": tfds.features.Sequence(tfds.features.FeaturesDict(person)),
        }
    )


def persons(rng: np.random.Generator, n: int, i: int) -> dict:
    """n persons, as a dict of per-field arrays and lists, whose fields take edge values in turn."""
    turn = range(i, i + n)
    return {
        "joints": rng.choice(DOUBLES, (n, NUM_JOINTS, 2)),
        "visibility": rng.integers(0, 2, (n, NUM_JOINTS)).astype(bool),
        "is_visible": rng.choice(np.array([-1, 0, 1, -128, 127], np.int8), (n, NUM_JOINTS)),
        "center": rng.choice(DOUBLES, (n, 2)),
        "scale": rng.choice(DOUBLES, n),
        "head_box": rng.choice(DOUBLES, (n, 4)),
        "official_image_index": [INT32[k % len(INT32)] for k in turn],
        "official_rect_index": np.array([INT32[(k + 3) % len(INT32)] for k in turn], np.int32),
        "single_person": [k % 2 == 0 for k in turn],
        "annotation_index": [INT64[k % len(INT64)] for k in turn],
        "annotation_split": [TEXTS[k % len(TEXTS)] for k in turn],
        "annotated": np.array([k % 3 != 0 for k in turn]),
        "group": [INT32[(k + 5) % len(INT32)] for k in turn],
    }


def in_form(columns: dict, form: int):
    """The persons as TFDS takes them: per-field arrays, a list of per-person dicts, or lists."""
    if form == 0:
        return columns
    n = len(columns["joints"])
    if form == 1:
        return [{name: values[k] for name, values in columns.items()} for k in range(n)]
    return {name: np.asarray(values).tolist() for name, values in columns.items()}


def image_examples(seed: int, count: int):
    """Examples of `image_spec` with 0, 1, 2 or 7 persons, in each form TFDS takes."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        size = [0, 1, 127, 128, 16384][i % 5]
        yield {
            "image": rng.integers(0, 256, size, dtype=np.uint8).tobytes(),
            "filename": TEXTS[i % len(TEXTS)],
            "official_image_index": INT32[i % len(INT32)],
            "activity_id": INT32[(i + 1) % len(INT32)],
            "activity": TEXTS[(i + 1) % len(TEXTS)],
            "category": TEXTS[(i + 2) % len(TEXTS)],
            "persons": in_form(persons(rng, [0, 1, 2, 7][i % 4], i), i % 3),
        }


def jpeg() -> bytes:
    """A real JPEG, for TFDS to decode."""
    picture = io.BytesIO()
    Image.new("RGB", (4, 3)).save(picture, format="JPEG")
    return picture.getvalue()


def test_every_edge_value_encodes_as_tfds_serializes_it():
    features = feature_spec()
    encoder = ExampleEncoder(features, gap="image")
    for example in mpii_examples(seed=0, count=70):
        head, image, tail = encoder.encode(example)
        assert image is example["image"]  # the image's bytes are not copied
        assert b"".join((head, image, tail)) == tfds_bytes(features, example)


def test_sequences_of_persons_encode_as_tfds_serializes_them():
    features = image_spec()
    encoder = ExampleEncoder(features, gap="image")
    for example in image_examples(seed=3, count=48):
        head, image, tail = encoder.encode(example)
        assert image is example["image"]
        assert b"".join((head, image, tail)) == tfds_bytes(features, example)


@pytest.mark.parametrize("n", [0, 2])
def test_sequences_of_a_tensor_encode_as_tfds_serializes_them(n):
    """Bytes-encoded, float, int and text elements; sequences of a static length too."""
    features = tfds.features.FeaturesDict(
        {
            "blob": tfds.features.Text(),
            "raw": tfds.features.Sequence(
                tfds.features.Tensor(shape=(2,), dtype=np.float64, encoding="bytes")
            ),
            "floats": tfds.features.Sequence(
                tfds.features.Tensor(shape=(3,), dtype=np.float32), length=n
            ),
            "ids": tfds.features.Sequence(np.int64),
            "words": tfds.features.Sequence(tfds.features.Text()),
            "octets": tfds.features.Sequence(tfds.features.Scalar(dtype=np.uint8), length=n),
        }
    )
    example = {
        "blob": "b",
        "raw": DOUBLES[: 2 * n].reshape(n, 2),
        "floats": FLOATS[: 3 * n].reshape(n, 3).tolist(),
        "ids": INT64[:n],
        "words": tuple(TEXTS[:n]),
        "octets": np.arange(n, dtype=np.uint8) + 127,
    }
    assert ExampleEncoder(features, gap="blob").serialize(example) == tfds_bytes(features, example)


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
    example["image"] = jpeg()
    decoded = features.deserialize_example_np(
        ExampleEncoder(features, gap="image").serialize(example)
    )
    for name in ("joints", "center", "scale", "head_box"):
        assert decoded[name].dtype == np.float64
        assert decoded[name].tobytes() == np.asarray(example[name], np.float64).tobytes(), name


@pytest.mark.parametrize("n", [0, 3])
def test_tfds_decodes_the_persons_it_was_given(n):
    """Read back through tf.data as `as_dataset` reads: every value, float64 to the bit."""
    features = image_spec()
    example = next(image_examples(seed=4, count=1))
    example["image"] = jpeg()
    example["persons"] = persons(np.random.default_rng(5), n, 1)
    record = ExampleEncoder(features, gap="image").serialize(example)
    records = tf.data.Dataset.from_tensor_slices([record]).map(features.deserialize_example)
    decoded = next(iter(tfds.as_numpy(records)))["persons"]
    for name, given in example["persons"].items():
        value = decoded[name]
        if name == "annotation_split":
            assert [text.decode() for text in value] == given
            continue
        expected = np.asarray(given, np.dtype(features["persons"][name].np_dtype))
        assert value.shape == (n, *features["persons"][name].shape), name
        assert value.dtype == expected.dtype, name
        assert value.tobytes() == expected.tobytes(), name


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


def with_persons(**changes) -> dict:
    """An example of two persons, some of whose fields are replaced."""
    example = next(image_examples(seed=1, count=1))
    example["persons"] = {**persons(np.random.default_rng(6), 2, 0), **changes}
    return example


@pytest.mark.parametrize(
    "example, error, message",
    [
        (
            with_persons(joints=np.zeros((2, NUM_JOINTS, 2), np.float32)),
            ValueError,
            "feature 'persons/joints': dtype float32 does not match",
        ),
        (with_persons(joints=np.zeros((2, NUM_JOINTS, 3))), ValueError, "'persons/joints': shape"),
        (with_persons(scale=[1.0, [2.0]]), ValueError, "feature 'persons/scale': shape"),
        (
            with_persons(visibility=np.zeros((2, 3), bool)),
            ValueError,
            "'persons/visibility': shape",
        ),
        (
            with_persons(group=[1, 2, 3]),
            ValueError,
            r"feature 'persons': fields of lengths \[2, 3\]",
        ),
        (with_persons(group=[1]), ValueError, r"feature 'persons': fields of lengths \[1, 2\]"),
        (with_persons(group=7), ValueError, "feature 'persons/group': a sequence is a list"),
        (with_persons(official_rect_index=[0, 2**31]), OverflowError, "out of bounds for int32"),
    ],
)
def test_a_wrong_person_is_refused_as_tfds_refuses_it(example, error, message):
    with pytest.raises(error):
        tfds_bytes(image_spec(), example)
    with pytest.raises(error, match=message):
        ExampleEncoder(image_spec(), gap="image").encode(example)


@pytest.mark.parametrize(
    "feature",
    [
        tfds.features.Sequence(tfds.features.Sequence(np.int64)),
        tfds.features.Sequence({"inner": tfds.features.Sequence(np.int64)}),
        tfds.features.Sequence({"inner": {"deeper": np.int64}}),
        tfds.features.FeaturesDict({"inner": np.int64}),
    ],
)
def test_nested_features_are_refused(feature):
    features = tfds.features.FeaturesDict({"blob": tfds.features.Text(), "nested": feature})
    with pytest.raises(TypeError, match="feature 'nested"):
        ExampleEncoder(features, gap="blob")


def test_the_gap_is_not_in_a_sequence():
    with pytest.raises(ValueError, match="the gap"):
        ExampleEncoder(image_spec(), gap="persons/annotation_split")


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**63 - 1, -1, -(2**63)])
def test_varints_are_protobufs(value):
    from google.protobuf.internal import encoder

    expected = bytearray()
    encoder._VarintEncoder()(expected.extend, value & 0xFFFFFFFFFFFFFFFF)
    assert varint(value) == bytes(expected)
