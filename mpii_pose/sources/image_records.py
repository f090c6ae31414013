"""The per-image view of the annotations: every person of an image together, each image in one
split, for the `per_image` config (multi-person training, one stored copy of each image).

Splits go by image: an image with a validation person is a validation image (its persons of the
train file come with it), an image with a test person a test image, the others train images.
The official .mat adds the persons of an image that the JSON leaves out (`annotated` False), so
that multi-person training can mask them. Pure: no file is read here.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence

from mpii_pose.sources.annotations import Person
from mpii_pose.sources.manual_dir import TEST_SPLIT
from mpii_pose.sources.official_annotations import OfficialPerson
from mpii_pose.sources.official_matching import could_match, official_fields

# Which split an image goes to when its persons are in several annotation files: the first here.
SPLIT_PRIORITY: tuple[str, ...] = ("validation", TEST_SPLIT, "train")
UNKNOWN = float("nan")


@dataclasses.dataclass(frozen=True)
class ImagePerson:
    """A person of an image: as its annotation file gives it (with its official fields), or as
    only the official .mat holds it (`annotated` False, `annotation_split` '')."""

    person: Person
    annotated: bool
    annotation_split: str  # the split whose annotation file lists the person; '' if none does
    group: int = -1  # 1-based group of MPII's multi-person evaluation (groups_v12.mat); -1: none


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One image and all its persons: the official ones in the .mat's order, then the persons
    the .mat does not hold, in their annotation files' order."""

    image: str  # path relative to the images folder
    persons: tuple[ImagePerson, ...]
    annotation_file: str  # the file that lists `first_listed`, for messages
    official_image_index: int = -1  # 1-based in RELEASE.annolist; -1 when unknown
    activity: str = ""
    category: str = ""
    activity_id: int = -1

    @property
    def first_listed(self) -> Person:
        """The first person an annotation file lists (every image has one): where the image's
        problems are reported."""
        return next(p.person for p in self.persons if p.annotated)


@dataclasses.dataclass(frozen=True)
class Regrouping:
    """What grouping by image changed, for the build's log."""

    moved: Mapping[tuple[str, str], int]  # (from split, to split) -> persons
    official_only: Mapping[str, int]  # split -> persons only the official .mat holds


def split_of_images(persons_by_split: Mapping[str, Sequence[Person]]) -> dict[str, str]:
    """Each image's split: the first of SPLIT_PRIORITY whose annotation file lists one of its
    persons."""
    splits: dict[str, str] = {}
    for split in sorted(persons_by_split, key=_priority):
        for person in persons_by_split[split]:
            splits.setdefault(person.image, split)
    return splits


def group_by_image(
    persons_by_split: Mapping[str, Sequence[Person]],
    annotation_files: Mapping[str, str],
    official: Sequence[OfficialPerson] | None,
    groups: Sequence[Mapping[int, int]] | None = None,
) -> tuple[dict[str, tuple[ImageRecord, ...]], Regrouping]:
    """Every split's images, in order of their first person in the split's own annotation file
    (then of the persons that came from other files), with all their persons.

    `official` (the official .mat's persons, None without it) adds the persons the JSON leaves
    out; `groups` (per annolist image, rect index -> group, from groups_v12.mat) gives each
    official person its group.
    """
    image_split = split_of_images(persons_by_split)
    listed: dict[str, list[tuple[str, Person]]] = {}
    moved: dict[tuple[str, str], int] = {}
    for split in sorted(persons_by_split, key=_priority):
        for person in persons_by_split[split]:
            listed.setdefault(person.image, []).append((split, person))
            target = image_split[person.image]
            if target != split:
                moved[(split, target)] = moved.get((split, target), 0) + 1
    by_image: dict[str, list[OfficialPerson]] = {}
    for record in official or ():
        by_image.setdefault(record.image, []).append(record)
    images: dict[str, list[ImageRecord]] = {split: [] for split in persons_by_split}
    official_only = dict.fromkeys(persons_by_split, 0)
    for image in _image_order(persons_by_split, image_split):
        split = image_split[image]
        entry = _image_record(
            image, listed[image], by_image.get(image, []), annotation_files, groups
        )
        official_only[split] += sum(not p.annotated for p in entry.persons)
        images[split].append(entry)
    return {split: tuple(records) for split, records in images.items()}, Regrouping(
        moved, official_only
    )


def _priority(split: str) -> int:
    return SPLIT_PRIORITY.index(split) if split in SPLIT_PRIORITY else len(SPLIT_PRIORITY)


def _image_order(
    persons_by_split: Mapping[str, Sequence[Person]], image_split: Mapping[str, str]
) -> list[str]:
    """Images in order of their first person in their own split's file, then in the others'."""
    order: dict[str, None] = {}
    for own in (True, False):
        for split in sorted(persons_by_split, key=_priority):
            for person in persons_by_split[split]:
                if (image_split[person.image] == split) == own:
                    order.setdefault(person.image)
    return list(order)


def _image_record(
    image: str,
    listed: Sequence[tuple[str, Person]],
    official: Sequence[OfficialPerson],
    annotation_files: Mapping[str, str],
    groups: Sequence[Mapping[int, int]] | None,
) -> ImageRecord:
    """The image with its listed persons and the official persons none of them is."""
    claimed = {
        person.official_rect_index - 1 for _, person in listed if person.official_rect_index > 0
    }
    persons = [ImagePerson(person, True, split, _group(groups, person)) for split, person in listed]
    persons += [
        ImagePerson(official_person(record), False, "", _group_of(groups, record))
        for record in official
        if record.rect_index not in claimed
        and not any(could_be(person, record) for _, person in listed)
    ]
    persons.sort(key=_person_order)
    first = next(p for p in persons if p.annotated)
    known = next((p.person for p in persons if p.person.official_image_index > 0), None)
    return ImageRecord(
        image=image,
        persons=tuple(persons),
        annotation_file=annotation_files[first.annotation_split],
        official_image_index=known.official_image_index if known else -1,
        activity=known.activity if known else "",
        category=known.category if known else "",
        activity_id=known.activity_id if known else -1,
    )


def _person_order(person: ImagePerson) -> tuple[int, int, int]:
    """The official file's order; persons it does not hold after, in their files' order."""
    rect = person.person.official_rect_index
    return (
        rect if rect > 0 else sys.maxsize,
        _priority(person.annotation_split),
        person.person.annotation_index,
    )


def could_be(person: Person, record: OfficialPerson) -> bool:
    """Whether a listed person without a clear official match may be `record` (same place, or
    agreeing labelled joints): such a record is not added again as a person of its own."""
    return person.official_rect_index < 0 and could_match(person, record)


def official_person(record: OfficialPerson) -> Person:
    """A person only the official .mat holds, in the JSON's terms: unlabelled joints at
    (-1, -1); NaN where the file has no position, scale or head box."""
    return Person(
        annotation_index=-1,
        person_index=-1,
        image=record.image,
        joints=tuple((-1.0, -1.0) if joint is None else joint for joint in record.joints),
        labelled=record.labelled,
        center=record.objpos or (UNKNOWN, UNKNOWN),
        scale=UNKNOWN if record.scale is None else record.scale,
        head_box=record.head_box,
        is_visible=tuple(-1 if v is None else int(v) for v in record.is_visible),
        **official_fields(record),
    )


def _group(groups: Sequence[Mapping[int, int]] | None, person: Person) -> int:
    if groups is None or person.official_image_index < 1 or person.official_rect_index < 1:
        return -1
    return _lookup(groups, person.official_image_index - 1, person.official_rect_index - 1)


def _group_of(groups: Sequence[Mapping[int, int]] | None, record: OfficialPerson) -> int:
    return -1 if groups is None else _lookup(groups, record.image_index, record.rect_index)


def _lookup(groups: Sequence[Mapping[int, int]], image_index: int, rect_index: int) -> int:
    return groups[image_index].get(rect_index, -1) if image_index < len(groups) else -1
