"""An example's record in either config, a person (`per_person`) or an image with its persons
(`per_image`): which records a split has, each one's key, image and feature values, and the
(key, example) pairs TFDS's writer takes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from etils import epath

from mpii_pose.base.configs import PER_IMAGE, PER_PERSON
from mpii_pose.shards import image_example, person_example
from mpii_pose.sources.annotations import Person
from mpii_pose.sources.assembly import SplitSource
from mpii_pose.sources.image_records import ImageRecord

Record = Person | ImageRecord


def records(source: SplitSource, config: str) -> tuple[Record, ...]:
    """The split's records in annotation-file order: its persons, or its images."""
    if config == PER_IMAGE:
        return source.images
    if config == PER_PERSON:
        return source.persons
    raise ValueError(f"unknown config {config!r}")


def persons_of(kept: Iterable[Record]) -> list[Person]:
    """The persons the records hold: the persons, or every person of the images."""
    persons: list[Person] = []
    for record in kept:
        if isinstance(record, ImageRecord):
            persons.extend(entry.person for entry in record.persons)
        else:
            persons.append(record)
    return persons


def example_key(record: Record) -> int | str:
    """The key TFDS hashes to order a split: a person's position in its annotation file, or an
    image's file name."""
    return record.image if isinstance(record, ImageRecord) else record.annotation_index


def read_image(
    images_dir: epath.PathLike,
    annotation_file: str,
    record: Record,
    converted_dir: epath.PathLike | None = None,
) -> bytes:
    """The record's image, normalised; problems name the image and the entry that uses it (an
    image's first listed person, in its own annotation file)."""
    if isinstance(record, ImageRecord):
        return person_example.load_image(
            images_dir, record.annotation_file, record.first_listed, converted_dir
        )
    return person_example.load_image(images_dir, annotation_file, record, converted_dir)


def to_example(record: Record, image: bytes) -> dict[str, Any]:
    """The record's feature dict, for its config's feature spec."""
    if isinstance(record, ImageRecord):
        return image_example.to_example(record, image)
    return person_example.to_example(record, image)


def keyed_example(record: Record, images_dir: str, annotation_file: str) -> tuple[Any, dict]:
    """The (key, example) pair of one record, reading its image."""
    image = read_image(images_dir, annotation_file, record)
    return example_key(record), to_example(record, image)


def generate_examples(source: SplitSource, config: str) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Every record of `source` in file order, reading an image once for a run of its records."""
    image_name, image = None, b""
    for record in records(source, config):
        if record.image != image_name:
            image_name = record.image
            image = read_image(source.images_dir, str(source.annotation_file), record)
        yield example_key(record), to_example(record, image)
