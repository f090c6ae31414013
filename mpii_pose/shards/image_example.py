"""An image's example (the per_image config): the image once, and the feature values of all its
persons, as TFDS's `Sequence` takes them (one array per field, a person per row)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mpii_pose.shards import person_example
from mpii_pose.sources.image_records import ImageRecord


def to_example(record: ImageRecord, image: bytes) -> dict[str, Any]:
    """The feature dict of one image, matching the per_image feature spec."""
    rows = [
        {
            **person_example.person_values(entry.person),
            "annotated": entry.annotated,
            "annotation_split": entry.annotation_split,
            "group": entry.group,
        }
        for entry in record.persons
    ]
    persons = {name: _column([row[name] for row in rows]) for name in rows[0]}
    return {
        "image": image,
        "filename": record.image,
        "activity": record.activity,
        "category": record.category,
        "activity_id": record.activity_id,
        "official_image_index": record.official_image_index,
        "persons": persons,
    }


def _column(values: list[Any]) -> Any:
    """A field's values of every person: arrays stacked (a person per row), scalars as a list."""
    return np.stack(values) if isinstance(values[0], np.ndarray) else values
