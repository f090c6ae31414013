"""PCKh, the MPII metric, computed as HRNet's and mmpose's `evaluate` do; numpy only, no TensorFlow.

A labelled joint is correct when its prediction lies within `threshold` head sizes of the ground
truth, a head size being 0.6 x the diagonal of the person's head box. Everything is 1-based pixels.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from mpii_pose.base.errors import MpiiPoseError
from mpii_pose.base.skeleton import JOINT_NAMES, NUM_JOINTS

HEAD_SIZE_FACTOR = 0.6  # HRNet's SC_BIAS
# Left out of the mean, as in every published MPII table.
MEAN_EXCLUDES: tuple[str, ...] = ("pelvis", "thorax")
# HRNet's table: each column averages these joints' PCKh. Its "Head" is head top alone; MPII's
# own table (`submission_score`) averages upper neck and head top.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Head", ("head_top",)),
    ("Shoulder", ("left_shoulder", "right_shoulder")),
    ("Elbow", ("left_elbow", "right_elbow")),
    ("Wrist", ("left_wrist", "right_wrist")),
    ("Hip", ("left_hip", "right_hip")),
    ("Knee", ("left_knee", "right_knee")),
    ("Ankle", ("left_ankle", "right_ankle")),
)
_IN_MEAN = np.array([name not in MEAN_EXCLUDES for name in JOINT_NAMES])
# Each array's shape after its first axis, the persons.
_SHAPES = {
    "joints": (NUM_JOINTS, 2),
    "predictions": (NUM_JOINTS, 2),
    "visibility": (NUM_JOINTS,),
    "head_boxes": (4,),
}


class EvaluationError(MpiiPoseError, ValueError):
    """Arrays given to PCKh have the wrong shape, or a head box has no size."""


class HeadBoxesUnknown(EvaluationError):
    """An example has no head box (NaN), so its head size and PCKh are undefined."""


@dataclasses.dataclass(frozen=True)
class PCKhResult:
    """Per-joint counts of correct and labelled joints, at `threshold` and at `low_threshold`.

    Results of disjoint sets of persons add up (`a + b`), which is how the accumulator works.
    """

    threshold: float
    correct: tuple[int, ...]
    labelled: tuple[int, ...]
    low_threshold: float
    correct_at_low: tuple[int, ...]

    @property
    def per_joint(self) -> dict[str, float]:
        """PCKh in percent by joint name; NaN for a joint that is never labelled."""
        values = _percent(self.correct, self.labelled)
        return {name: float(v) for name, v in zip(JOINT_NAMES, values, strict=True)}

    @property
    def counts(self) -> dict[str, int]:
        """How many labelled joints were evaluated, by joint name."""
        return dict(zip(JOINT_NAMES, self.labelled, strict=True))

    @property
    def mean(self) -> float:
        """The usual PCKh in percent: all joints but pelvis and thorax, weighted by their counts."""
        return _weighted_mean(self.correct, self.labelled)

    @property
    def mean_at_low(self) -> float:
        """As `mean`, at `low_threshold`: the Mean@0.1 column of HRNet's table."""
        return _weighted_mean(self.correct_at_low, self.labelled)

    def groups(self) -> dict[str, float]:
        """HRNet's table: Head, Shoulder, ..., Ankle (left/right averaged), Mean, Mean@low."""
        pck = self.per_joint
        table = {name: float(np.mean([pck[j] for j in joints])) for name, joints in GROUPS}
        return {**table, "Mean": self.mean, f"Mean@{self.low_threshold:g}": self.mean_at_low}

    def table(self, arch: str = "model") -> str:
        """HRNet's printed Markdown table of `groups()`, one row for `arch`."""
        groups = self.groups()
        return _markdown(["Arch", *groups], [[arch, *groups.values()]])

    def joint_table(self) -> str:
        """A Markdown table of every joint's PCKh and correct/labelled counts."""
        rows = [
            [name, value, f"{correct}/{labelled}"]
            for name, value, correct, labelled in zip(
                JOINT_NAMES, self.per_joint.values(), self.correct, self.labelled, strict=True
            )
        ]
        return _markdown(["Joint", f"PCKh@{self.threshold:g}", "correct/labelled"], rows)

    def __add__(self, other: PCKhResult) -> PCKhResult:
        """The result of both sets of persons together; the thresholds must be the same."""
        if (self.threshold, self.low_threshold) != (other.threshold, other.low_threshold):
            raise EvaluationError(
                f"cannot add PCKh@{other.threshold:g} (low {other.low_threshold:g}) to "
                f"PCKh@{self.threshold:g} (low {self.low_threshold:g})"
            )
        return PCKhResult(
            self.threshold,
            _sum(self.correct, other.correct),
            _sum(self.labelled, other.labelled),
            self.low_threshold,
            _sum(self.correct_at_low, other.correct_at_low),
        )


def pckh(
    predictions: np.ndarray,
    joints: np.ndarray,
    visibility: np.ndarray,
    head_boxes: np.ndarray,
    threshold: float = 0.5,
    low_threshold: float = 0.1,
) -> PCKhResult:
    """PCKh of N persons: predictions and joints (N, 16, 2), visibility (N, 16), head boxes (N, 4).

    Unlabelled joints are ignored; a non-finite prediction of a labelled joint counts as wrong.
    HRNet prints its Mean@0.1 at 0.11 (its `pckAll[11]`): pass `low_threshold=0.11` to match it.
    """
    predictions, joints, labelled, head_boxes = _checked(
        predictions, joints, visibility, head_boxes
    )
    distances = np.linalg.norm(predictions - joints, axis=-1) / head_sizes(head_boxes)[:, None]

    def correct_within(limit: float) -> tuple[int, ...]:
        return tuple(int(n) for n in ((distances <= limit) & labelled).sum(axis=0))

    return PCKhResult(
        float(threshold),
        correct_within(threshold),
        tuple(int(n) for n in labelled.sum(axis=0)),
        float(low_threshold),
        correct_within(low_threshold),
    )


def head_sizes(head_boxes: np.ndarray) -> np.ndarray:
    """0.6 x the diagonal of each (x1, y1, x2, y2) head box, as HRNet computes it."""
    boxes = np.asarray(head_boxes, dtype=np.float64)
    return HEAD_SIZE_FACTOR * np.linalg.norm(boxes[:, 2:] - boxes[:, :2], axis=-1)


class PCKhAccumulator:
    """Adds up PCKh batch by batch (e.g. in a training loop); `result()` equals one `pckh` call."""

    def __init__(self, threshold: float = 0.5, low_threshold: float = 0.1):
        self.threshold, self.low_threshold = threshold, low_threshold
        self._total: PCKhResult | None = None

    def update(
        self,
        predictions: np.ndarray,
        joints: np.ndarray,
        visibility: np.ndarray,
        head_boxes: np.ndarray,
    ) -> None:
        """Adds one batch; arguments as for `pckh`."""
        batch = pckh(
            predictions, joints, visibility, head_boxes, self.threshold, self.low_threshold
        )
        self._total = batch if self._total is None else self._total + batch

    def result(self) -> PCKhResult:
        """PCKh of every person added so far."""
        if self._total is None:
            raise EvaluationError("no persons to evaluate: call update() with a batch first")
        return self._total


def _checked(
    predictions: np.ndarray, joints: np.ndarray, visibility: np.ndarray, head_boxes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four arrays as float64 and bool, once shapes and head boxes are checked."""
    arrays = {
        "joints": np.asarray(joints, dtype=np.float64),
        "predictions": np.asarray(predictions, dtype=np.float64),
        "visibility": np.asarray(visibility).astype(bool),
        "head_boxes": np.asarray(head_boxes, dtype=np.float64),
    }
    count = len(arrays["joints"]) if arrays["joints"].ndim else 0
    for name, tail in _SHAPES.items():
        if arrays[name].shape != (count, *tail):
            expected = ", ".join(["N", *map(str, tail)])
            source = "" if name == "joints" else f" (N = {count}, from joints)"
            raise EvaluationError(
                f"{name} must have shape ({expected}) for N persons{source}, "
                f"got {arrays[name].shape}"
            )
    if count == 0:
        raise EvaluationError("no persons to evaluate (N = 0)")
    _check_head_boxes(arrays["head_boxes"])
    return arrays["predictions"], arrays["joints"], arrays["visibility"], arrays["head_boxes"]


def _check_head_boxes(head_boxes: np.ndarray) -> None:
    """Raises HeadBoxesUnknown for NaN boxes and EvaluationError for boxes without size."""
    unknown = np.flatnonzero(np.isnan(head_boxes).any(axis=1))
    if unknown.size:
        raise HeadBoxesUnknown(
            f"{unknown.size} of {len(head_boxes)} persons have no head box (NaN), the first at "
            f"index {unknown[0]}, so PCKh is undefined. Head boxes come from HRNet's "
            "gt_valid.mat or mmpose's mpii_gt_val.mat (validation persons) or the official "
            "mpii_human_pose_v1_u12_1.mat (every person it holds) in the manual directory: "
            "rebuild with them there (`mpii-pose info` says what a build lacks)."
        )
    sizes = head_sizes(head_boxes)
    bad = np.flatnonzero(~(np.isfinite(sizes) & (sizes > 0)))
    if bad.size:
        raise EvaluationError(
            f"{bad.size} head boxes have no size, the first at index {bad[0]}: "
            f"{head_boxes[bad[0]].tolist()} (x1, y1, x2, y2); PCKh divides by the head size"
        )


def _percent(correct: tuple[int, ...], labelled: tuple[int, ...]) -> np.ndarray:
    """100 x (correct / labelled) per joint, NaN where nothing is labelled: a fraction in percent,
    as MPII's `100*mean(...)` computes it, so both give the same float for the same counts."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (np.asarray(correct, dtype=np.float64) / np.asarray(labelled))


def _weighted_mean(correct: tuple[int, ...], labelled: tuple[int, ...]) -> float:
    """HRNet's sum(PCKh x jnt_ratio) over the mean's joints, which is their pooled percentage."""
    total = int(np.asarray(labelled)[_IN_MEAN].sum())
    return 100.0 * (int(np.asarray(correct)[_IN_MEAN].sum()) / total) if total else math.nan


def _sum(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """Per-joint counts added."""
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _markdown(header: list[str], rows: list[list]) -> str:
    """A Markdown table as HRNet's `_print_name_value` prints it: numbers with three decimals."""

    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
