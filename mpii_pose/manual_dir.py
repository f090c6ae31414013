"""Find the images folder and the annotation files in a manual directory, where users keep them.

A build reads from the manual directory first and from extracted downloads for the parts it lacks
(see mpii_pose.downloads): the images from the first folder with `images/`, every annotation file
from the first folder with any.
"""

from __future__ import annotations

import dataclasses
import logging

from etils import epath

from mpii_pose import head_boxes, official_annotations
from mpii_pose.annotations import Person, parse_annotations
from mpii_pose.errors import AnnotationError, ManualDirError

_LOG = logging.getLogger(__name__)
IMAGES_DIR = "images"
# The parts of a manual directory that a download can stand in for.
IMAGES, ANNOTATIONS = "images", "annotations"
PARTS: dict[str, str] = {IMAGES: f"{IMAGES_DIR}/", ANNOTATIONS: "annotations"}  # and their names
# Folders searched for annotation files, relative to the manual directory.
ANNOTATION_DIRS: tuple[str, ...] = ("", "annot", "annotations", "mpii_human_pose_v1_u12_2")
# Accepted annotation file names per split: HRNet's first, then mmpose's.
ANNOTATION_FILES: dict[str, tuple[str, ...]] = {
    "train": ("train.json", "mpii_train.json"),
    "validation": ("valid.json", "validation.json", "mpii_val.json"),
    "test": ("test.json", "mpii_test.json"),
}
# Every build has these; `test` is built when its file is there (its entries have no joints).
REQUIRED_SPLITS: tuple[str, ...] = ("train", "validation")
TEST_SPLIT = "test"
# The official annotations (in mpii_human_pose_v1_u12_2.zip), optional: occlusion, activities, and
# head boxes of every person. Searched like the JSON, in every folder a build reads from.
OFFICIAL_FILE = "mpii_human_pose_v1_u12_1.mat"
# Set to 1 (or true), a problem in the official .mat stops the build instead of being counted.
STRICT_OFFICIAL_ENV = "MPII_POSE_STRICT_OFFICIAL"
# Optional head boxes per split (HRNet's, then mmpose's), needed for PCKh; searched like the JSON.
HEAD_BOX_FILES: dict[str, tuple[str, ...]] = {
    "train": (),
    "validation": ("gt_valid.mat", "mpii_gt_val.mat"),
    "test": (),
}


@dataclasses.dataclass(frozen=True)
class SplitSource:
    """Everything a split is built from: its annotation file, parsed, and the images folder."""

    split: str
    annotation_file: epath.Path
    images_dir: epath.Path
    persons: tuple[Person, ...]


def annotation_layout() -> str:
    """The annotation files a manual directory holds, and where, for messages and help."""
    files = " and ".join("/".join(ANNOTATION_FILES[split]) for split in REQUIRED_SPLITS)
    files += f", optionally {'/'.join(ANNOTATION_FILES[TEST_SPLIT])}"
    folders = ", ".join(f"{folder}/" for folder in ANNOTATION_DIRS if folder)
    return f"{files}, at the top or in {folders}"


def describe_part(part: str) -> str:
    """What a manual directory holds for `part` (IMAGES or ANNOTATIONS), for messages and help."""
    if part == IMAGES:
        return f"{PARTS[part]} (the MPII JPEGs)"
    return f"{PARTS[part]} ({annotation_layout()})"


def find_annotation_file(manual_dir: epath.PathLike, split: str) -> epath.Path:
    """Returns the one annotation file of `split`; refuses none or several candidates."""
    path = _find_one(manual_dir, ANNOTATION_FILES[split], f"{split} annotation")
    if path is None:
        names = " or ".join(ANNOTATION_FILES[split])
        raise ManualDirError(
            f"no {split} annotations: looked for {names} in {_folders(manual_dir)}"
        )
    return path


def find_official_file(roots: list[epath.Path]) -> epath.Path | None:
    """The official .mat in the first of `roots` that has one, or None."""
    for root in roots:
        path = _find_one(root, (OFFICIAL_FILE,), "official annotation")
        if path is not None:
            return path
    return None


def require_official_file(root: epath.PathLike) -> epath.Path:
    """The official .mat in `root`; refuses a folder without one."""
    path = find_official_file([epath.Path(root)])
    if path is None:
        raise ManualDirError(f"no {OFFICIAL_FILE} in {_folders(root)}")
    return path


def find_head_box_file(manual_dir: epath.PathLike, split: str) -> epath.Path | None:
    """Returns the head-box file of `split` (gt_valid.mat or mpii_gt_val.mat), or None."""
    return _find_one(manual_dir, HEAD_BOX_FILES[split], f"{split} head-box")


def _find_one(manual_dir: epath.PathLike, names: tuple[str, ...], what: str) -> epath.Path | None:
    """The one file named like `names` in the annotation folders; refuses several."""
    candidates = _candidates(manual_dir, names)
    if len(candidates) > 1:
        found = ", ".join(map(str, candidates))
        raise ManualDirError(
            f"several {what} files: {found}; keep one so that the build is unambiguous"
        )
    return candidates[0] if candidates else None


def _candidates(manual_dir: epath.PathLike, names: tuple[str, ...]) -> list[epath.Path]:
    """The files named like `names` in any of the annotation folders of `manual_dir`."""
    root = epath.Path(manual_dir)
    return [
        root / folder / name
        for folder in ANNOTATION_DIRS
        for name in names
        if (root / folder / name).is_file()
    ]


def _folders(manual_dir: epath.PathLike) -> str:
    root = epath.Path(manual_dir)
    return ", ".join(f"{root / folder}" if folder else f"{root}" for folder in ANNOTATION_DIRS)


def find_images_dir(manual_dir: epath.PathLike) -> epath.Path:
    """Returns the manual directory's `images/` folder."""
    images = epath.Path(manual_dir) / IMAGES_DIR
    if not images.is_dir():
        raise ManualDirError(f"no {IMAGES_DIR}/ folder in {manual_dir}: put the MPII JPEGs there")
    return images


def find_annotation_files(root: epath.PathLike) -> dict[str, epath.Path]:
    """The annotation file of every split in `root`, the test split's if there is one; refuses a
    required split with none, and any split with several."""
    files = {split: find_annotation_file(root, split) for split in REQUIRED_SPLITS}
    test = _find_one(root, ANNOTATION_FILES[TEST_SPLIT], f"{TEST_SPLIT} annotation")
    return files if test is None else {**files, TEST_SPLIT: test}


def has_annotations(root: epath.PathLike) -> bool:
    """True when `root` holds an annotation file of any split in any of the searched folders."""
    return any(_candidates(root, ANNOTATION_FILES[split]) for split in REQUIRED_SPLITS)


def missing_parts(manual_dir: epath.PathLike | None) -> list[str]:
    """The parts (IMAGES, ANNOTATIONS) that `manual_dir` (None: there is none) lacks entirely."""
    if manual_dir is None:
        return [IMAGES, ANNOTATIONS]
    root = epath.Path(manual_dir)
    return [
        part
        for part, present in (
            (IMAGES, (root / IMAGES_DIR).is_dir()),
            (ANNOTATIONS, has_annotations(root)),
        )
        if not present
    ]


def load_sources(
    manual_dir: epath.PathLike | None,
    downloaded: tuple[epath.PathLike, ...] = (),
    strict_official: bool = False,
) -> dict[str, SplitSource]:
    """Locates and parses every split's annotations, so that bad input fails before any write.

    The images come from the first of `manual_dir` and `downloaded` that has `images/`, the
    annotations (and head boxes) from the first that has an annotation file. What is wrong in the
    official .mat leaves the persons it concerns with unknown official values, with a warning per
    kind of problem; with `strict_official`, it is an error.
    """
    roots = [epath.Path(r) for r in (manual_dir, *downloaded) if r is not None]
    if not roots:
        raise ManualDirError("no manual directory and nothing downloaded to build from")
    images_root = next((r for r in roots if (r / IMAGES_DIR).is_dir()), roots[0])
    images_dir = find_images_dir(images_root)
    annotation_root = next((r for r in roots if has_annotations(r)), roots[0])
    official_file = find_official_file(roots)
    official = _read_official(official_file, strict_official) if official_file else None
    sources = {}
    for split, path in find_annotation_files(annotation_root).items():
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise AnnotationError.at(str(path), None, f"not UTF-8 text ({err})") from None
        persons = parse_annotations(text, str(path), joints_optional=split == TEST_SPLIT)
        if not persons:
            raise AnnotationError.at(str(path), None, "holds no person entries")
        box_file = find_head_box_file(annotation_root, split)
        if box_file is not None:
            truth = head_boxes.parse_ground_truth(box_file.read_bytes(), str(box_file))
            persons = head_boxes.attach_head_boxes(persons, truth, str(box_file), str(path))
        if official is not None:
            persons, unmatched = official_annotations.attach_official(persons, official)
            if unmatched:
                _LOG.warning(
                    "%d of %d persons of %s have no single match in %s: their is_visible, "
                    "activity and category are unknown",
                    unmatched,
                    len(persons),
                    path,
                    official_file,
                )
        sources[split] = SplitSource(split, path, images_dir, persons)
    return sources


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
