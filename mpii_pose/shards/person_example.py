"""A person's record: its image, read and normalised, and its feature values; as the (key,
example) pairs that TFDS's writer takes, and as the parts the shard writer encodes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
from etils import epath

from mpii_pose.base.errors import ImageError
from mpii_pose.shards.image_bytes import UnreadableImage, is_stored_verbatim, to_rgb_jpeg
from mpii_pose.shards.plan import example_key
from mpii_pose.sources.annotations import Person
from mpii_pose.sources.assembly import SplitSource

UNKNOWN_HEAD_BOX = (float("nan"),) * 4  # what `head_box` holds when no head box is known


def to_example(person: Person, image: bytes) -> dict[str, Any]:
    """The feature dict of one person, matching the builder's feature spec."""
    return {
        "image": image,
        "filename": person.image,
        "joints": np.asarray(person.joints, dtype=np.float64),
        "visibility": np.asarray(person.labelled, dtype=np.bool_),
        "center": np.asarray(person.center, dtype=np.float64),
        "scale": np.float64(person.scale),
        "head_box": np.asarray(
            UNKNOWN_HEAD_BOX if person.head_box is None else person.head_box, dtype=np.float64
        ),
        "is_visible": np.asarray(person.is_visible or (-1,) * len(person.joints), dtype=np.int8),
        "activity": person.activity,
        "category": person.category,
        "activity_id": person.activity_id,
        "official_image_index": person.official_image_index,
        "official_rect_index": person.official_rect_index,
        "single_person": person.single_person,
        "annotation_index": person.annotation_index,
        "person_index": person.person_index,
    }


def load_image(
    images_dir: epath.PathLike,
    annotation_file: str,
    person: Person,
    converted_dir: epath.PathLike | None = None,
) -> bytes:
    """Reads and normalises the image of `person`; errors name the image and the entry.

    With `converted_dir` (a folder every worker of the build sees), an image that must be
    converted is converted once per build: the first worker that needs it stores the result
    there (atomically), the others read it.
    """
    path = epath.Path(images_dir) / person.image
    where = (str(path), str(annotation_file), person.annotation_index)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError.at(*where, "image file not found") from None
    except (IsADirectoryError, PermissionError) as err:
        raise ImageError.at(*where, f"cannot be read ({err.strerror or err})") from None
    if is_stored_verbatim(data):
        return data
    kept = epath.Path(converted_dir) / person.image if converted_dir is not None else None
    if kept is not None and kept.exists():
        return kept.read_bytes()
    try:
        converted = to_rgb_jpeg(data)
    except UnreadableImage as err:
        raise ImageError.at(*where, str(err)) from None
    if kept is not None and converted is not data:
        _publish(kept, converted)
    return converted


def _publish(path: epath.Path, data: bytes) -> None:
    """Writes `path` whole or not at all (a unique temporary name, then a rename), so that a
    worker reading it never sees half a file, and two workers writing it race harmlessly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def keyed_example(
    person: Person, images_dir: str, annotation_file: str
) -> tuple[int, dict[str, Any]]:
    """The (key, example) pair of one person, reading its image."""
    return example_key(person), to_example(person, load_image(images_dir, annotation_file, person))


def generate_examples(source: SplitSource) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yields every person of `source` in file order, reading an image once for a run of its persons."""
    image_name, image = None, b""
    for person in source.persons:
        if person.image != image_name:
            image_name = person.image
            image = load_image(source.images_dir, str(source.annotation_file), person)
        yield example_key(person), to_example(person, image)
