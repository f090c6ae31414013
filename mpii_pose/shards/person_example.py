"""A person's example (the per_person config): its image, read and normalised (an image that
must be converted is converted once per build), and its feature values."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from etils import epath

from mpii_pose.base.errors import ImageError
from mpii_pose.shards.image_bytes import UnreadableImage, is_stored_verbatim, to_rgb_jpeg
from mpii_pose.sources.annotations import Person

UNKNOWN_HEAD_BOX = (float("nan"),) * 4  # what `head_box` holds when no head box is known


def to_example(person: Person, image: bytes) -> dict[str, Any]:
    """The feature dict of one person, matching the per_person feature spec."""
    return {
        "image": image,
        "filename": person.image,
        "activity": person.activity,
        "category": person.category,
        "activity_id": person.activity_id,
        **person_values(person),
        "person_index": person.person_index,
    }


def person_values(person: Person) -> dict[str, Any]:
    """The values of the features a person has in either config."""
    return {
        "joints": np.asarray(person.joints, dtype=np.float64),
        "visibility": np.asarray(person.labelled, dtype=np.bool_),
        "center": np.asarray(person.center, dtype=np.float64),
        "scale": np.float64(person.scale),
        "head_box": np.asarray(
            UNKNOWN_HEAD_BOX if person.head_box is None else person.head_box, dtype=np.float64
        ),
        "is_visible": np.asarray(person.is_visible or (-1,) * len(person.joints), dtype=np.int8),
        "official_image_index": person.official_image_index,
        "official_rect_index": person.official_rect_index,
        "single_person": person.single_person,
        "annotation_index": person.annotation_index,
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
