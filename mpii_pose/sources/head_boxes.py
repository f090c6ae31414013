"""Head boxes of the validation persons, from HRNet's `gt_valid.mat` or mmpose's `mpii_gt_val.mat`.

Both files hold, for the validation persons in the order of the validation JSON, `headboxes_src`
(2 corners × (x, y) × N, 1-based), `pos_gt_src` (16 joints × (x, y) × N) and `jnt_missing`
(16 × N). The joints are compared with the JSON's so that a file of another split or order is
refused instead of pairing persons with the wrong heads.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence

import numpy as np

from mpii_pose.base.errors import AnnotationError
from mpii_pose.base.skeleton import NUM_JOINTS
from mpii_pose.sources.annotations import JOINT_TOLERANCE, Person

# A file whose joints disagree with the JSON for more than this share of persons is refused.
MAX_MISMATCHED_SHARE = 0.01


@dataclasses.dataclass(frozen=True)
class GroundTruth:
    """The arrays of a gt_valid.mat, one row per person."""

    head_boxes: np.ndarray  # (N, 4): x1, y1, x2, y2
    joints: np.ndarray  # (N, 16, 2)
    missing: np.ndarray  # (N, 16) bool


def parse_ground_truth(data: bytes, source: str) -> GroundTruth:
    """Reads the arrays of a gt_valid.mat / mpii_gt_val.mat; `source` names it in errors."""
    from scipy.io import loadmat

    try:
        mat = loadmat(io.BytesIO(data))
    except Exception as err:  # scipy raises ValueError, TypeError or its own MatReadError
        raise AnnotationError.at(source, None, f"not a MATLAB .mat file ({err})") from None
    boxes = _array(mat, "headboxes_src", (2, 2), source)
    joints = _array(mat, "pos_gt_src", (NUM_JOINTS, 2), source)
    missing = _array(mat, "jnt_missing", (NUM_JOINTS,), source)
    counts = {boxes.shape[-1], joints.shape[-1], missing.shape[-1]}
    if len(counts) != 1:
        raise AnnotationError.at(
            source,
            None,
            "headboxes_src, pos_gt_src and jnt_missing must hold the same number of persons, "
            f"got {boxes.shape[-1]}, {joints.shape[-1]} and {missing.shape[-1]}",
        )
    head_boxes = boxes.transpose(2, 0, 1).reshape(-1, 4)
    bad = np.flatnonzero(~np.isfinite(head_boxes).all(axis=1))
    if bad.size:
        raise AnnotationError.at(
            source, int(bad[0]), f"head box must be 4 finite numbers, got {head_boxes[bad[0]]}"
        )
    return GroundTruth(head_boxes, joints.transpose(2, 0, 1), missing.T != 0)


def _array(mat: dict, key: str, leading: tuple[int, ...], source: str) -> np.ndarray:
    """The numeric array `key` with shape `leading` + (N,); refuses anything else."""
    shape = ", ".join(map(str, leading)) + ", N"
    value = mat.get(key)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        got = (
            "nothing" if value is None else f"{type(value).__name__} {getattr(value, 'dtype', '')}"
        )
        raise AnnotationError.at(
            source, None, f"expected a numeric array '{key}' of shape ({shape}), got {got}"
        )
    if value.ndim != len(leading) + 1 or value.shape[:-1] != leading:
        raise AnnotationError.at(
            source, None, f"'{key}' must have shape ({shape}), got {value.shape}"
        )
    return value.astype(np.float64)


def attach_head_boxes(
    persons: Sequence[Person], truth: GroundTruth, source: str, annotation_file: str
) -> tuple[Person, ...]:
    """The persons with their head boxes, after checking that the file lines up with the JSON."""
    if len(truth.head_boxes) != len(persons):
        raise AnnotationError.at(
            source,
            None,
            f"holds {len(truth.head_boxes)} persons but {annotation_file} has {len(persons)}; "
            "use the file that belongs to this validation JSON",
        )
    labelled = np.array([p.labelled for p in persons]) & ~truth.missing
    json_joints = np.array([p.joints for p in persons], dtype=np.float64)
    distance = np.abs(json_joints - truth.joints).max(axis=2)
    mismatched = np.flatnonzero((labelled & (distance > JOINT_TOLERANCE)).any(axis=1))
    if len(mismatched) > MAX_MISMATCHED_SHARE * len(persons):
        first = int(mismatched[0])
        raise AnnotationError.at(
            source,
            first,
            f"joints differ from {annotation_file} entry {first} (and {len(mismatched) - 1} "
            "other persons): the file is not in the order of this validation JSON",
        )
    return tuple(
        dataclasses.replace(
            person, head_box=(float(box[0]), float(box[1]), float(box[2]), float(box[3]))
        )
        for person, box in zip(persons, truth.head_boxes, strict=True)
    )
