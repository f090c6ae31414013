"""A split's source: its JSON persons, with the head boxes and official annotations that enrich
them, and its images folder; read and checked before anything is written.

`manual_dir` says where the files are; the parsers (`annotations`, `head_boxes`,
`official_annotations`) read them; `official_matching` pairs official persons with the JSON's.
"""

from __future__ import annotations

import dataclasses
import logging

from etils import epath

from mpii_pose.base.errors import AnnotationError, ManualDirError
from mpii_pose.sources import (
    head_boxes,
    image_records,
    official_annotations,
    official_matching,
    person_groups,
)
from mpii_pose.sources.annotations import Person, parse_annotations
from mpii_pose.sources.image_records import ImageRecord
from mpii_pose.sources.manual_dir import (
    IMAGES_DIR,
    OFFICIAL_FILE,
    TEST_SPLIT,
    find_annotation_files,
    find_groups_file,
    find_head_box_file,
    find_images_dir,
    find_official_file,
    has_annotations,
)

_LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SplitSource:
    """Everything a split is built from: its annotation file, parsed, and the images folder."""

    split: str
    annotation_file: epath.Path
    images_dir: epath.Path
    persons: tuple[Person, ...]
    head_box_file: epath.Path | None = None  # the split's gt_valid.mat / mpii_gt_val.mat
    official_file: epath.Path | None = None  # the official .mat, when one was read
    groups_file: epath.Path | None = None  # per_image: groups_v12.mat, when one was read
    # The per_image config's examples: the split's images with all their persons (see
    # image_records); empty for the per_person config.
    images: tuple[ImageRecord, ...] = ()


@dataclasses.dataclass(frozen=True)
class AnnotationInputs:
    """The annotation files a build reads: each split's JSON and head boxes, the official .mat."""

    annotations: dict[str, epath.Path]  # by split
    head_boxes: dict[str, epath.Path]  # by split, for the splits that have a head-box file
    official: epath.Path | None
    groups: epath.Path | None  # MPII's multi-person groups (per_image)


def find_annotation_inputs(roots: list[epath.Path]) -> AnnotationInputs:
    """The JSON and head boxes of the first of `roots` that has annotations, and the official
    .mat of the first that has one; refuses a required split without a file, or two candidates."""
    annotation_root = next((r for r in roots if has_annotations(r)), roots[0])
    annotations = find_annotation_files(annotation_root)
    boxes = {split: find_head_box_file(annotation_root, split) for split in annotations}
    return AnnotationInputs(
        annotations,
        {split: box for split, box in boxes.items() if box is not None},
        find_official_file(roots),
        find_groups_file(roots),
    )


def load_sources(
    manual_dir: epath.PathLike | None,
    downloaded: tuple[epath.PathLike, ...] = (),
    strict_official: bool = False,
    per_image: bool = False,
) -> dict[str, SplitSource]:
    """Locates and parses every split's annotations, so that bad input fails before any write.

    The images come from the first of `manual_dir` and `downloaded` that has `images/`, the
    annotations (and head boxes) from the first that has an annotation file. What is wrong in the
    official .mat leaves the persons it concerns with unknown official values, with a warning per
    kind of problem; with `strict_official`, it is an error. With `per_image`, each source also
    holds its split's images, split by image (see `image_records`).
    """
    roots = [epath.Path(r) for r in (manual_dir, *downloaded) if r is not None]
    if not roots:
        raise ManualDirError("no manual directory and nothing downloaded to build from")
    images_root = next((r for r in roots if (r / IMAGES_DIR).is_dir()), roots[0])
    images_dir = find_images_dir(images_root)
    inputs = find_annotation_inputs(roots)
    official_file = inputs.official
    official = _read_official(official_file, strict_official) if official_file else None
    sources = {}
    for split, path in inputs.annotations.items():
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise AnnotationError.at(str(path), None, f"not UTF-8 text ({err})") from None
        persons = parse_annotations(text, str(path), joints_optional=split == TEST_SPLIT)
        if not persons:
            raise AnnotationError.at(str(path), None, "holds no person entries")
        box_file = inputs.head_boxes.get(split)
        if box_file is not None:
            truth = head_boxes.parse_ground_truth(box_file.read_bytes(), str(box_file))
            persons = head_boxes.attach_head_boxes(persons, truth, str(box_file), str(path))
        if official is not None:  # a test person is a test image's, the others a train image's
            records = [r for r in official if r.is_train != (split == TEST_SPLIT)]
            persons, unmatched = official_matching.attach_official(persons, records)
            if unmatched:
                _LOG.warning(
                    "%d of %d persons of %s have no single match in %s: their is_visible, "
                    "activity and category are unknown",
                    unmatched,
                    len(persons),
                    path,
                    official_file,
                )
        sources[split] = SplitSource(split, path, images_dir, persons, box_file, official_file)
    if not per_image:
        return sources
    groups_file = inputs.groups if official is not None else None
    if inputs.groups is not None and official is None:
        _LOG.warning("%s is left out: its groups number the official .mat's persons", inputs.groups)
    groups = _read_groups(groups_file, strict_official) if groups_file else None
    return _with_images(sources, official, groups, groups_file if groups else None)


def _read_groups(path: epath.Path, strict: bool) -> tuple[dict[int, int], ...] | None:
    """groups_v12.mat's groups; a problem in it leaves every group unknown, with a warning,
    unless `strict`."""
    try:
        return person_groups.parse_groups(path.read_bytes(), str(path))
    except (person_groups.GroupsFormatError, OSError) as err:
        if strict:
            raise
        _LOG.warning("%s; every person's group stays unknown (-1)", err)
        return None


def _with_images(
    sources: dict[str, SplitSource],
    official: tuple[official_annotations.OfficialPerson, ...] | None,
    groups: tuple[dict[int, int], ...] | None,
    groups_file: epath.Path | None,
) -> dict[str, SplitSource]:
    """The sources with their images, and the log of what grouping by image changed."""
    images, regrouping = image_records.group_by_image(
        {split: source.persons for split, source in sources.items()},
        {split: str(source.annotation_file) for split, source in sources.items()},
        official,
        groups,
    )
    for (origin, target), count in sorted(regrouping.moved.items()):
        _LOG.info(
            "%d persons of %s share their images with %s persons: they are in %s",
            count, origin, target, target,
        )  # fmt: skip
    if official is None:
        _LOG.warning(
            "per_image without the official .mat (%s): only the JSON's persons, so persons it "
            "leaves out are missing and cannot be masked in multi-person training",
            OFFICIAL_FILE,
        )
    else:
        for split, count in regrouping.official_only.items():
            _LOG.info("%s: %d persons only the official .mat holds (annotated False)", split, count)
    return {
        split: dataclasses.replace(source, images=images[split], groups_file=groups_file)
        for split, source in sources.items()
    }


def _read_official(
    path: epath.Path, strict: bool
) -> tuple[official_annotations.OfficialPerson, ...]:
    """The official .mat's persons; read leniently unless `strict` (see `parse_official`)."""
    problems = None if strict else official_annotations.Problems()
    try:
        data = path.read_bytes()
    except OSError as err:
        error = official_annotations.OfficialFormatError(
            str(path), None, "", f"cannot be read ({err.strerror or err})"
        )
        if problems is None:
            raise error from None
        problems.add(error, "the whole file (every person)")
        data = None
    persons = () if data is None else official_annotations.parse_official(data, str(path), problems)
    for line in problems.lines() if problems else ():
        _LOG.warning("%s; those persons' is_visible, activity and head box stay unknown", line)
    return persons
