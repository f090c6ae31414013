"""Find the images folder and the annotation files in a manual directory, where users keep them."""

from __future__ import annotations

import dataclasses

from etils import epath

from mpii_pose import head_boxes
from mpii_pose.annotations import Person, parse_annotations
from mpii_pose.errors import AnnotationError, ManualDirError

IMAGES_DIR = "images"
# Folders searched for annotation files, relative to the manual directory.
ANNOTATION_DIRS: tuple[str, ...] = ("", "annot", "annotations", "mpii_human_pose_v1_u12_2")
# Accepted annotation file names per split: HRNet's first, then mmpose's.
ANNOTATION_FILES: dict[str, tuple[str, ...]] = {
    "train": ("train.json", "mpii_train.json"),
    "validation": ("valid.json", "validation.json", "mpii_val.json"),
}
# Optional head boxes per split (HRNet's, then mmpose's), needed for PCKh; searched like the JSON.
HEAD_BOX_FILES: dict[str, tuple[str, ...]] = {
    "train": (),
    "validation": ("gt_valid.mat", "mpii_gt_val.mat"),
}


@dataclasses.dataclass(frozen=True)
class SplitSource:
    """Everything a split is built from: its annotation file, parsed, and the images folder."""

    split: str
    annotation_file: epath.Path
    images_dir: epath.Path
    persons: tuple[Person, ...]


def find_annotation_file(manual_dir: epath.PathLike, split: str) -> epath.Path:
    """Returns the one annotation file of `split`; refuses none or several candidates."""
    path = _find_one(manual_dir, split, ANNOTATION_FILES[split], "annotation")
    if path is None:
        names = " or ".join(ANNOTATION_FILES[split])
        raise ManualDirError(
            f"no {split} annotations: looked for {names} in {_folders(manual_dir)}"
        )
    return path


def find_head_box_file(manual_dir: epath.PathLike, split: str) -> epath.Path | None:
    """Returns the head-box file of `split` (gt_valid.mat or mpii_gt_val.mat), or None."""
    return _find_one(manual_dir, split, HEAD_BOX_FILES[split], "head-box")


def _find_one(
    manual_dir: epath.PathLike, split: str, names: tuple[str, ...], kind: str
) -> epath.Path | None:
    """The one file named like `names` in the annotation folders; refuses several."""
    root = epath.Path(manual_dir)
    candidates = [
        root / folder / name
        for folder in ANNOTATION_DIRS
        for name in names
        if (root / folder / name).is_file()
    ]
    if len(candidates) > 1:
        found = ", ".join(map(str, candidates))
        raise ManualDirError(
            f"several {split} {kind} files: {found}; keep one so that the build is unambiguous"
        )
    return candidates[0] if candidates else None


def _folders(manual_dir: epath.PathLike) -> str:
    root = epath.Path(manual_dir)
    return ", ".join(f"{root / folder}" if folder else f"{root}" for folder in ANNOTATION_DIRS)


def find_images_dir(manual_dir: epath.PathLike) -> epath.Path:
    """Returns the manual directory's `images/` folder."""
    images = epath.Path(manual_dir) / IMAGES_DIR
    if not images.is_dir():
        raise ManualDirError(f"no {IMAGES_DIR}/ folder in {manual_dir}: put the MPII JPEGs there")
    return images


def load_sources(manual_dir: epath.PathLike) -> dict[str, SplitSource]:
    """Locates and parses every split's annotations, so that bad input fails before any write."""
    images_dir = find_images_dir(manual_dir)
    sources = {}
    for split in ANNOTATION_FILES:
        path = find_annotation_file(manual_dir, split)
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise AnnotationError.at(str(path), None, f"not UTF-8 text ({err})") from None
        persons = parse_annotations(text, str(path))
        if not persons:
            raise AnnotationError.at(str(path), None, "holds no person entries")
        box_file = find_head_box_file(manual_dir, split)
        if box_file is not None:
            truth = head_boxes.parse_ground_truth(box_file.read_bytes(), str(box_file))
            persons = head_boxes.attach_head_boxes(persons, truth, str(box_file), str(path))
        sources[split] = SplitSource(split, path, images_dir, persons)
    return sources
