"""A person's record: its feature values as the Person has them, its image read and normalised
(converted images shared through the build's folder), and errors naming the image and the entry."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from etils import epath

from mpii_pose.base.errors import ImageError
from mpii_pose.base.skeleton import NUM_JOINTS
from mpii_pose.shards.image_bytes import is_stored_verbatim
from mpii_pose.shards.person_example import load_image, to_example
from mpii_pose.shards.write import encoder
from mpii_pose.sources.annotations import Person
from tests.helpers import decoded_image, encoded_image

ANNOTATIONS = "/m/train.json"

PERSON = Person(
    annotation_index=9,
    person_index=1,
    image="sub/a.jpg",
    joints=tuple((10.5 + i, 20.25 + 2 * i) for i in range(NUM_JOINTS)),
    labelled=tuple(i % 3 != 0 for i in range(NUM_JOINTS)),
    center=(100.5, 200.25),
    scale=1.75,
    head_box=(1.0, 2.0, 30.5, 40.5),
    is_visible=tuple((1, 0, -1)[i % 3] for i in range(NUM_JOINTS)),
    activity="bicycling, mountain",
    category="bicycling",
    activity_id=17,
    official_image_index=4,
    official_rect_index=2,
    single_person=True,
)


def test_every_feature_is_the_persons_value_in_the_specs_dtype():
    example = to_example(PERSON, b"jpeg bytes")
    assert example["image"] == b"jpeg bytes"
    assert example["filename"] == "sub/a.jpg"
    arrays = {
        "joints": (np.array(PERSON.joints), np.float64, (NUM_JOINTS, 2)),
        "visibility": (np.array(PERSON.labelled), np.bool_, (NUM_JOINTS,)),
        "center": (np.array([100.5, 200.25]), np.float64, (2,)),
        "scale": (np.array(1.75), np.float64, ()),
        "head_box": (np.array([1.0, 2.0, 30.5, 40.5]), np.float64, (4,)),
        "is_visible": (np.array(PERSON.is_visible), np.int8, (NUM_JOINTS,)),
    }
    for name, (values, dtype, shape) in arrays.items():
        value = np.asarray(example[name])
        assert (value.dtype, value.shape) == (np.dtype(dtype), shape), name
        assert np.array_equal(value, values), name
    scalars = {
        "activity": "bicycling, mountain",
        "category": "bicycling",
        "activity_id": 17,
        "official_image_index": 4,
        "official_rect_index": 2,
        "single_person": True,
        "annotation_index": 9,
        "person_index": 1,
    }
    assert {name: example[name] for name in scalars} == scalars
    assert set(example) == {"image", "filename", *arrays, *scalars}  # nothing else


def test_what_is_unknown_is_nan_and_minus_one():
    unknown = dataclasses.replace(PERSON, head_box=None, is_visible=None)
    example = to_example(unknown, b"")
    assert all(math.isnan(v) for v in example["head_box"]) and example["head_box"].shape == (4,)
    assert example["is_visible"].tolist() == [-1] * NUM_JOINTS
    assert example["is_visible"].dtype == np.int8


def test_the_example_fits_the_builders_feature_spec_with_the_image_as_is():
    """The shard writer's encoder (which refuses a wrong shape or dtype) takes it; the image's
    bytes are its middle part, not copied."""
    image = memoryview(b"\xff\xd8 the image \xff\xd9")
    head, middle, tail = encoder("per_person").encode(to_example(PERSON, image))
    assert middle is image and head and tail


def write_image(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def person_of(image: str, index: int = 0) -> Person:
    return dataclasses.replace(PERSON, image=image, annotation_index=index)


def test_an_rgb_jpeg_is_read_as_it_is_and_not_shared(tmp_path):
    data = encoded_image("RGB", "JPEG")
    write_image(tmp_path / "images", "sub/a.jpg", data)
    shared = tmp_path / "converted"
    assert load_image(tmp_path / "images", ANNOTATIONS, person_of("sub/a.jpg"), shared) == data
    assert not shared.exists()


@pytest.mark.parametrize("mode, fmt", [("RGB", "PNG"), ("CMYK", "JPEG")])
def test_another_image_is_converted_once_and_shared_in_the_converted_folder(tmp_path, mode, fmt):
    name = "sub/b.jpg"  # whatever the name says
    write_image(tmp_path / "images", name, encoded_image(mode, fmt))
    shared = tmp_path / "converted"
    person = person_of(name)
    converted = load_image(tmp_path / "images", ANNOTATIONS, person, shared)
    assert is_stored_verbatim(converted)
    image = decoded_image(converted)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (32, 24))
    assert (shared / name).read_bytes() == converted
    assert sorted(p.name for p in (shared / "sub").iterdir()) == ["b.jpg"]  # no temporary left
    # A later read (another worker's) takes the shared result instead of converting again.
    other = encoded_image("RGB", "JPEG", quality=50)
    (shared / name).write_bytes(other)
    assert load_image(epath.Path(tmp_path / "images"), ANNOTATIONS, person, str(shared)) == other
    # Without the folder, each read converts.
    assert load_image(tmp_path / "images", ANNOTATIONS, person) == converted


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda path: None, "image file not found"),
        (lambda path: path.mkdir(parents=True), "cannot be read (Is a directory)"),
        (lambda path: write_image(path.parent, path.name, b""), "an empty file, not an image"),
        (
            lambda path: write_image(path.parent, path.name, encoded_image("RGB", "PNG")[:-50]),
            "cannot be decoded as an image (",
        ),
    ],
    ids=["missing", "a-folder", "empty", "truncated"],
)
def test_an_image_that_cannot_be_used_is_named_with_its_entry(tmp_path, make, problem):
    images = tmp_path / "images"
    images.mkdir()
    make(images / "sub" / "c.jpg")
    with pytest.raises(ImageError) as info:
        load_image(images, ANNOTATIONS, person_of("sub/c.jpg", index=41), tmp_path / "converted")
    error = info.value
    path = str(images / "sub" / "c.jpg")
    assert str(error).startswith(f"{path} (used by {ANNOTATIONS}, entry 41): {problem}")
    assert (error.image_path, error.annotation_path, error.index) == (path, ANNOTATIONS, 41)
    assert not (tmp_path / "converted").exists()
