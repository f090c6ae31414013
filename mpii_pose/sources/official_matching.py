"""Pairing the official .mat's persons with the JSON's, and the official fields a match adds.

The JSON is the source of examples; a JSON person gets the official record that clearly is the
same person (same image, place, size and joints), else none and its official fields stay unknown.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from mpii_pose.sources.annotations import JOINT_TOLERANCE, Person
from mpii_pose.sources.official_annotations import OfficialPerson

# HRNet's JSON `center` and `scale` are the official `objpos` and `scale`, rounded (its scale
# 3.021046 is the .mat's 3.021046176409755); its joints have at most 4 decimals.
CENTER_TOLERANCE = 0.5  # pixels, per coordinate
SCALE_TOLERANCE = 1e-3  # relative


def match_persons(
    json_persons: Sequence[Person], official: Iterable[OfficialPerson]
) -> list[OfficialPerson | None]:
    """For each JSON person, its official record; None when the official file has no clear one.

    A record matches when it is of the same image and its `objpos` and `scale` equal the JSON's
    `center` and `scale` (within CENTER_TOLERANCE pixels and SCALE_TOLERANCE relative) and its
    joints agree with the JSON's labelled ones (within JOINT_TOLERANCE pixels, at least one joint in
    common). Without such a record, a record of the image whose joints agree is taken instead
    (its objpos or scale missing or different), but never for a person without labelled joints
    (a test person): its place and size are all that identify it. A person that two records fit
    equally well, and every person of a record that fits several persons, gets None: the JSON
    stays the source of the example, and the official fields are unknown rather than guessed.
    """
    by_image: dict[str, list[OfficialPerson]] = {}
    for record in official:
        by_image.setdefault(record.image, []).append(record)
    matches = [_match(person, by_image.get(person.image, ())) for person in json_persons]
    uses = Counter((m.image_index, m.rect_index) for m in matches if m is not None)
    return [
        m if m is not None and uses[(m.image_index, m.rect_index)] == 1 else None for m in matches
    ]


def _match(person: Person, records: Sequence[OfficialPerson]) -> OfficialPerson | None:
    """The one record that fits `person` best, or None when none or several fit. A person
    without labelled joints (a test person) is placed by its position and size alone."""
    agreeing = [record for record in records if _joints_agree(person, record)]
    placed = [record for record in agreeing if _same_place(person, record)]
    for candidates in (placed, agreeing) if any(person.labelled) else (placed,):
        if candidates:
            return candidates[0] if len(candidates) == 1 else None
    return None


def could_match(person: Person, record: OfficialPerson) -> bool:
    """Whether `record` is a candidate for `person`: the same place, or (for a person with
    labelled joints) joints that agree; what `match_persons` chooses among."""
    if not _joints_agree(person, record):
        return False
    return _same_place(person, record) or any(person.labelled)


def attach_official(
    persons: Sequence[Person], official: Iterable[OfficialPerson]
) -> tuple[tuple[Person, ...], int]:
    """The persons with their official fields (visibility, activity, a head box they lack, the
    record's place in the file and its single_person flag), and how many persons had no clear
    match (their official fields stay unknown)."""
    matches = match_persons(persons, official)
    return (
        tuple(
            person if record is None else _with_official(person, record)
            for person, record in zip(persons, matches, strict=True)
        ),
        matches.count(None),
    )


def _with_official(person: Person, record: OfficialPerson) -> Person:
    return dataclasses.replace(
        person,
        head_box=person.head_box or record.head_box,
        is_visible=tuple(
            int(v) if v is not None and labelled else -1
            for v, labelled in zip(record.is_visible, person.labelled, strict=True)
        ),
        **official_fields(record),
    )


def official_fields(record: OfficialPerson) -> dict[str, Any]:
    """The fields of a Person that its official record gives: the image's activity, the
    record's 1-based place in the file, and its single_person flag."""
    return {
        "activity": record.activity,
        "category": record.category,
        "activity_id": record.activity_id,
        "official_image_index": record.image_index + 1,
        "official_rect_index": record.rect_index + 1,
        "single_person": record.single_person,
    }


def _same_place(person: Person, record: OfficialPerson) -> bool:
    if record.objpos is None or record.scale is None:
        return False
    return all(
        abs(a - b) <= CENTER_TOLERANCE for a, b in zip(person.center, record.objpos, strict=True)
    ) and abs(person.scale - record.scale) <= SCALE_TOLERANCE * abs(record.scale)


def _joints_agree(person: Person, record: OfficialPerson) -> bool:
    """No labelled joint contradicts, and some are compared (unless the JSON labels none)."""
    compared = 0
    for labelled, point, other in zip(person.labelled, person.joints, record.joints, strict=True):
        if labelled and other is not None:
            if any(abs(a - b) > JOINT_TOLERANCE for a, b in zip(point, other, strict=True)):
                return False
            compared += 1
    return compared > 0 or not any(person.labelled)
