"""MATLAB .mat files in the layouts MPII uses, written reproducibly: the official
`mpii_human_pose_v1_u12_1.mat`, a bare annolist (a submission's `pred`, MPII's
annolist_dataset_v12.mat), MPII's multi-person `groups_v12.mat` and HRNet's `gt_valid.mat`, for
the bundled sample and tests.

Equal input gives equal bytes: the header, which scipy fills with the time of writing, is fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mpii_pose.sources.mat_values import mat_bytes
from mpii_pose.sources.official_annotations import HEAD_BOX_FIELDS, OfficialPerson

# MPII's joint names in gt_valid.mat's `dataset_joints`, in the order of mpii_pose.base.skeleton.
_MAT_JOINT_NAMES = (
    "rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor",
    "neck", "head", "rwri", "relb", "rsho", "lsho", "lelb", "lwri",
)  # fmt: skip


def ground_truth_mat(head_boxes: np.ndarray, joints: np.ndarray, labelled: np.ndarray) -> bytes:
    """A gt_valid.mat in HRNet's layout, from (N, 4) boxes, (N, 16, 2) joints and (N, 16) flags.

    Its header carries no creation time, so equal arrays give equal bytes.
    """
    return mat_bytes(
        {
            "dataset_joints": np.array([[name] for name in _MAT_JOINT_NAMES], dtype=object).T,
            "headboxes_src": np.asarray(head_boxes, np.float64)
            .reshape(-1, 2, 2)
            .transpose(1, 2, 0),
            "pos_gt_src": np.asarray(joints, np.float64).transpose(1, 2, 0),
            "jnt_missing": (~np.asarray(labelled, bool)).T.astype(np.float64),
        }
    )


def groups_mat(groups: Sequence[Sequence[Sequence[int]]]) -> bytes:
    """MPII's groups_v12.mat: per image of the annolist, its groups of 1-based rect indices (none:
    an empty cell), as MATLAB stores them: an N×1 cell of 1×G cells of 1×K double rows."""
    images = np.empty((len(groups), 1), dtype=object)
    for i, image in enumerate(groups):
        cells = np.empty((1, len(image)) if image else (0, 0), dtype=object)
        for g, group in enumerate(image):
            cells[0, g] = np.array([group], dtype=np.float64)
        images[i, 0] = cells
    return mat_bytes({"groups": images}, compress=True)


def official_images(persons: Iterable[OfficialPerson]) -> list[dict[str, Any]]:
    """The writer's image mappings (see `official_mat`) for `persons`, grouped by `image_index` in
    order of first appearance; persons of an image keep their order, and so get consecutive
    `rect_index` values when the file is read back.
    """
    images: dict[int, dict[str, Any]] = {}
    for person in persons:
        image = images.setdefault(
            person.image_index,
            {
                "name": person.image,
                "is_train": person.is_train,
                "annorect": [],
                "single_person": [],
                "act": {
                    "cat_name": person.category,
                    "act_name": person.activity,
                    "act_id": person.activity_id,
                },
            },
        )
        image["annorect"].append(_rect(person))
        if person.single_person:
            image["single_person"].append(len(image["annorect"]))
    return list(images.values())


def _rect(person: OfficialPerson) -> dict[str, Any]:
    box = person.head_box or (None,) * 4
    points = [
        {"id": joint, "x": point[0], "y": point[1], "is_visible": visible}
        for joint, (point, visible) in enumerate(zip(person.joints, person.is_visible, strict=True))
        if point is not None
    ]
    return {
        **dict(zip(HEAD_BOX_FIELDS, box, strict=True)),
        "annopoints": {"point": points} if points else None,
        "scale": person.scale,
        "objpos": None if person.objpos is None else dict(zip("xy", person.objpos, strict=True)),
    }


def official_mat(images: Sequence[Mapping[str, Any]], video_list: Sequence[str] = ()) -> bytes:
    """An official-layout `.mat` (struct `RELEASE`) for tests and samples; equal input, equal bytes.

    Each image is a mapping with `name` (str), `annorect` (a list of person mappings; [] for none;
    left out of every image: no `annorect` field), `is_train` (default True), `single_person`
    (1-based person numbers, default none) and `act` (a mapping with `cat_name`, `act_name`,
    `act_id`; default unknown: '', '', -1); `frame_sec` and `vididx` are written when given.
    A person mapping may hold `x1`, `y1`, `x2`, `y2`, `scale`, `objpos` ({'x': .., 'y': ..}) and
    `annopoints` ({'point': [..]} or directly the list of points); a point holds `id`, `x`, `y` and
    optionally `is_visible`. Values are written as given, without checks, so that malformed files can
    be made: None is MATLAB's empty [], a number a 1×1 double, a string a char array, a list of
    mappings a struct array (1×1 for one element), a mapping a 1×1 struct. A key that no element
    of a struct array has is no field of it; one that only some have is [] for the others.
    """

    count = len(images)
    single = np.empty((count, 1), dtype=object)
    for i, image in enumerate(images):
        single[i, 0] = _mat_value(image.get("single_person", []))
    unknown = {"cat_name": "", "act_name": "", "act_id": -1}
    release = {
        "annolist": _annolist(images),
        "img_train": np.array([[float(image.get("is_train", True)) for image in images]]),
        "version": "12",
        "single_person": single,
        "act": _struct_array([image.get("act", unknown) for image in images], (count, 1)),
        "video_list": cell(list(video_list)),
    }
    return mat_bytes({"RELEASE": _struct_array([release], (1, 1))}, compress=True)


def annolist_mat(
    images: Sequence[Mapping[str, Any]], variable: str = "annolist", **others: Any
) -> bytes:
    """A .mat holding the annolist of `images` (mappings as for `official_mat`) as variable
    `variable`: `pred` for a submission to MPII, `annolist` for MPII's annolist_dataset_v12.mat;
    `others` are more variables, written as `official_mat` writes values (see `cell`)."""
    arrays = {variable: _annolist(images)}
    arrays.update({name: _mat_value(value) for name, value in others.items()})
    return mat_bytes(arrays, compress=True)


def cell(values: Sequence[Any]) -> np.ndarray:
    """A 1×N MATLAB cell of `values`, each written as `official_mat` writes values."""
    array = np.empty((1, len(values)), dtype=object)
    for i, value in enumerate(values):
        array[0, i] = _mat_value(value)
    return array


def _annolist(images: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The 1×N struct array RELEASE.annolist of `images` (see official_mat)."""
    annolist = []
    for image in images:
        entry: dict[str, Any] = {"image": {"name": image.get("name")}}
        if "annorect" in image:
            entry["annorect"] = [_points_wrapped(rect) for rect in image["annorect"]]
        for key in ("frame_sec", "vididx"):
            if key in image:
                entry[key] = image[key]
        annolist.append(entry)
    return _struct_array(annolist, (1, len(annolist)))


def _points_wrapped(rect: Mapping[str, Any]) -> Mapping[str, Any]:
    points = rect.get("annopoints")
    if isinstance(points, (list, tuple)):
        return {**rect, "annopoints": {"point": list(points)}}
    return rect


def _mat_value(value: Any) -> Any:
    """`value` as savemat writes it in the official layout (see official_mat)."""
    if value is None:
        return np.zeros((0, 0))
    if isinstance(value, (str, np.ndarray)):
        return value
    if isinstance(value, Mapping):
        return _struct_array([value], (1, 1))
    if isinstance(value, (list, tuple)):
        if not value:
            return np.zeros((0, 0))
        if all(isinstance(item, Mapping) for item in value):
            return _struct_array(list(value), (1, len(value)))
        return np.array(value, dtype=np.float64).reshape(-1, 1)
    return np.array([[value]], dtype=np.float64)


def _struct_array(items: Sequence[Mapping[str, Any]], shape: tuple[int, int]) -> np.ndarray:
    fields = list(dict.fromkeys(key for item in items for key in item))
    if not items:
        return np.zeros((0, 0))
    array = np.zeros(shape, dtype=[(name, object) for name in fields])
    for i, item in enumerate(items):  # MATLAB's element order is column-major
        array[np.unravel_index(i, shape, order="F")] = tuple(
            _mat_value(item.get(name)) for name in fields
        )
    return array
