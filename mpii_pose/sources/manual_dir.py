"""Find the images folder and the annotation files in a manual directory (or an extracted
download), in the folders and under the names users keep them: the names are defined here once.
Reading them is `sources`' job.
"""

from __future__ import annotations

import pathlib

from etils import epath

from mpii_pose.base.errors import ManualDirError

# The small synthetic manual directory bundled with the package (`mpii-pose build --sample`), also
# TFDS's dummy data; `python -m mpii_pose.sample` writes it.
SAMPLE_DIR = pathlib.Path(__file__).parents[1] / "dummy_data"  # the package's dataset folder
IMAGES_DIR = "images"
# The parts of a manual directory that a download can stand in for.
IMAGES, ANNOTATIONS = "images", "annotations"
PARTS: dict[str, str] = {IMAGES: f"{IMAGES_DIR}/", ANNOTATIONS: "annotations"}  # and their names
# Where the official annotation zip (mpii_human_pose_v1_u12_2.zip) unpacks.
OFFICIAL_DIR = "mpii_human_pose_v1_u12_2"
# Folders searched for annotation files, relative to the manual directory.
ANNOTATION_DIRS: tuple[str, ...] = ("", "annot", "annotations", OFFICIAL_DIR)
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
# MPII's multi-person evaluation groups (its evaluation toolkit), per image of the official .mat,
# optional; searched where the official .mat is.
GROUPS_FILE = "groups_v12.mat"
# Optional head boxes per split (HRNet's, then mmpose's), needed for PCKh; searched like the JSON.
HEAD_BOX_FILES: dict[str, tuple[str, ...]] = {
    "train": (),
    "validation": ("gt_valid.mat", "mpii_gt_val.mat"),
    "test": (),
}


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
    return _find_first(roots, OFFICIAL_FILE, "official annotation")


def find_groups_file(roots: list[epath.Path]) -> epath.Path | None:
    """MPII's groups_v12.mat in the first of `roots` that has one, or None."""
    return _find_first(roots, GROUPS_FILE, "multi-person groups")


def require_official_file(root: epath.PathLike) -> epath.Path:
    """The official .mat in `root`; refuses a folder without one."""
    path = find_official_file([epath.Path(root)])
    if path is None:
        raise ManualDirError(f"no {OFFICIAL_FILE} in {_folders(root)}")
    return path


def find_head_box_file(manual_dir: epath.PathLike, split: str) -> epath.Path | None:
    """Returns the head-box file of `split` (gt_valid.mat or mpii_gt_val.mat), or None."""
    return _find_one(manual_dir, HEAD_BOX_FILES[split], f"{split} head-box")


def _find_first(roots: list[epath.Path], name: str, what: str) -> epath.Path | None:
    """The file `name` in the first of `roots` that has one, or None; refuses several in it."""
    for root in roots:
        path = _find_one(root, (name,), what)
        if path is not None:
            return path
    return None


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
