"""MPII's single-person PCKh of a submission `.mat`, computed as MPII's evaluation toolkit
(evalMPII: `evaluatePCKh.m`) computes it: the table MPII publishes, and its AUC.

A submission holds one variable `pred`, the annolist of the test images (`RELEASE.annolist` where
`RELEASE.img_train == 0`, in that order) with predicted points in
`pred(i).annorect(r).annopoints.point` (`id` the 0-based MPII joint id, `x`, `y` 1-based pixels).
MPII keeps, per test image, the rects that have an `objpos`, in order, in the ground truth and in
`pred` separately, and scores those listed in `RELEASE.single_person` by the ground truth's
positions: a `pred` whose rects with `objpos` differ from the ground truth's would be scored
person against the wrong person, so that is an error here.

A validation submission (`mpii-pose submit --split validation`) holds the same `pred` for the
images of the validation persons, plus `annolist_index` (each entry's 1-based position in
RELEASE.annolist) and `scored_rects` (per entry, the 1-based rects to score).

Scoring: 14 joints (pelvis and thorax are not scored), a missing or NaN prediction is wrong, a
joint without ground truth is left out, and a joint is correct when its distance to the ground
truth is at most `threshold` × the head size, 0.6 × the diagonal of the rect's head box.

Positions in error messages are MATLAB's, counted from 1: `pred(12).annorect(2)`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from mpii_pose.base.errors import MpiiPoseError
from mpii_pose.base.skeleton import JOINT_NAMES, NUM_JOINTS
from mpii_pose.sources.mat_values import (
    NotAMatFile,
    describe,
    empty,
    field,
    has_objpos,
    image_name,
    load_mat,
)
from mpii_pose.sources.official_annotations import HEAD_BOX_FIELDS, ReleaseImages, release_images
from mpii_pose.training import evaluation

SPLITS = ("test", "validation")
# The 14 columns of MPII's joint matrix (`annolist2matrix`), as MPII joint ids.
MATRIX_JOINTS = (0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 8, 9)
# MPII's table (`genTablePCK`): each group averages the curves of its joints' matrix columns.
# HRNet's groups but Head, which MPII averages over upper neck and head top.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Head", ("upper_neck", "head_top")),
    *evaluation.GROUPS[1:],
)
# computePCK's UBody: matrix columns 7 to 12.
UPPER_BODY = tuple(JOINT_NAMES[joint] for joint in MATRIX_JOINTS[6:12])
HEAD_SIZE_FACTOR = evaluation.HEAD_SIZE_FACTOR  # util_get_head_size's SC_BIAS
VALIDATION_VARIABLES = ("annolist_index", "scored_rects")
_COLUMNS = (*(name for name, _ in GROUPS), "UBody", "Total")


class ScoringError(MpiiPoseError, ValueError):
    """A submission or ground-truth file that cannot be scored as MPII scores it."""


def matlab_colon(start: float, step: float, stop: float) -> np.ndarray:
    """MATLAB's `start:step:stop` (step > 0) with MATLAB's values, not numpy's arange or linspace:
    MATLAB computes the first half of the elements forwards (start + k·step) and the second half
    backwards from the end (stop − k·step, the end being `stop` itself when start + n·step is
    within 2·eps of it), and an even count's middle element as (start + end) / 2, so that the
    vector is symmetric. For 0:0.01:0.5 five of the 51 values differ from `arange(51) * 0.01`.
    This follows how MathWorks describes the operator (Cleve Moler's `colonop`)."""
    tolerance = 2.0 * np.finfo(float).eps * max(abs(start), abs(stop))
    count = math.floor((stop - start) / step + 0.5)  # MATLAB's round, for a positive value
    if start + count * step - stop > tolerance:
        count -= 1
    end = start + count * step
    if end - stop > -tolerance:
        end = stop
    values = np.empty(count + 1)
    for k in range(count // 2 + 1):
        values[k] = start + k * step
        values[count - k] = end - k * step
    if count % 2 == 0:
        values[count // 2] = (start + end) / 2
    return values


# evaluatePCKh.m's `range = 0:0.01:0.5`.
THRESHOLDS = matlab_colon(0.0, 0.01, 0.5)


@dataclasses.dataclass(frozen=True, eq=False)
class MpiiScore:
    """MPII's PCKh of `persons` persons at each of THRESHOLDS: `curve` is `computePCK`'s matrix,
    one row per threshold and 16 columns: the 14 joints in MATRIX_JOINTS order, UBody (wrists,
    elbows, shoulders pooled) and Total (all 14 pooled); percentages, NaN for a column without
    ground truth."""

    curve: np.ndarray  # (len(THRESHOLDS), 16)
    persons: int

    def pckh(self, threshold: float = 0.5) -> dict[str, float]:
        """MPII's table row at `threshold` (one of THRESHOLDS): Head, ..., Ankle, UBody, Total."""
        return self._groups(self.curve[_threshold_row(threshold)])

    def joints(self, threshold: float = 0.5) -> dict[str, float | None]:
        """PCKh by joint name (mpii_pose.base.skeleton order); None for pelvis and thorax."""
        return self._joints(self.curve[_threshold_row(threshold)])

    @property
    def auc(self) -> float:
        """MPII's AUC: of the Total curve (see `aucs`)."""
        return self.aucs()["Total"]

    def aucs(self) -> dict[str, float]:
        """The area under each column's curve, thresholds scaled to [0, 1] (evaluatePCKh.m's
        `area_under_curve(scale01(range), pck(:,end))`): `quadgk` of `interp1`'s straight lines
        there, which is the trapezoid rule over the 51 points, computed here exactly."""
        return self._groups(_areas(self.curve))

    def joint_aucs(self) -> dict[str, float | None]:
        """The area under each joint's curve, as `aucs`; None for pelvis and thorax."""
        return self._joints(_areas(self.curve))

    def table(self) -> str:
        """MPII's table (genTablePCK) at 0.5 and 0.1, and the AUC, one decimal as MPII prints."""
        rows = [(f"PCKh@{threshold:g}", self.pckh(threshold).values()) for threshold in (0.5, 0.1)]
        rows.append(("AUC", self.aucs().values()))
        lines = [f"{'':<9}" + "".join(f"{name:>9}" for name in _COLUMNS)]
        lines += [f"{name:<9}" + "".join(f"{v:>9.1f}" for v in values) for name, values in rows]
        lines.append(
            f"{self.persons} persons. Head = mean(upper neck, head top), MPII's convention, "
            "unlike HRNet's and mmpose's validation tables, where Head is head top alone."
        )
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The scores as JSON values: per threshold 0.5 and 0.1 and for the AUC, the table's
        columns in lower case and `joints` (null for pelvis and thorax, and for a column
        without ground truth); percentages, unrounded; and `persons`."""

        def entry(groups: dict[str, float], joints: dict[str, float | None]) -> dict[str, Any]:
            values = {name.lower(): _json_number(value) for name, value in groups.items()}
            return {**values, "joints": {name: _json_number(v) for name, v in joints.items()}}

        return {
            "pckh@0.5": entry(self.pckh(0.5), self.joints(0.5)),
            "pckh@0.1": entry(self.pckh(0.1), self.joints(0.1)),
            "auc": entry(self.aucs(), self.joint_aucs()),
            "persons": self.persons,
        }

    @staticmethod
    def _groups(row: np.ndarray) -> dict[str, float]:
        column = {JOINT_NAMES[joint]: c for c, joint in enumerate(MATRIX_JOINTS)}
        values = {name: (row[column[a]] + row[column[b]]) / 2 for name, (a, b) in GROUPS}
        return {
            name: float(v) for name, v in {**values, "UBody": row[-2], "Total": row[-1]}.items()
        }

    @staticmethod
    def _joints(row: np.ndarray) -> dict[str, float | None]:
        found: dict[str, float | None] = dict.fromkeys(JOINT_NAMES)
        for c, joint in enumerate(MATRIX_JOINTS):
            found[JOINT_NAMES[joint]] = float(row[c])
        return found


def mpii_pckh(predictions: np.ndarray, joints: np.ndarray, head_sizes: np.ndarray) -> MpiiScore:
    """MPII's PCKh curve of N persons: predictions and ground-truth joints (N, 16, 2) in
    mpii_pose.base.skeleton order, NaN where missing (a missing prediction is wrong, a missing ground
    truth left out), and head sizes (N,) (0.6 × the head box's diagonal)."""
    predictions = np.asarray(predictions, np.float64)[:, MATRIX_JOINTS]
    truth = np.asarray(joints, np.float64)[:, MATRIX_JOINTS]
    predictions = np.where(np.isnan(predictions), np.inf, predictions)
    difference = predictions - truth
    with np.errstate(invalid="ignore"):  # inf - inf and inf - NaN: NaN, as in MATLAB
        distance = np.sqrt(difference[..., 0] ** 2 + difference[..., 1] ** 2)
        distance = distance / np.asarray(head_sizes, np.float64)[:, None]
    upper = [MATRIX_JOINTS.index(JOINT_NAMES.index(name)) for name in UPPER_BODY]
    columns = [distance[:, c] for c in range(len(MATRIX_JOINTS))]
    columns += [distance[:, upper].ravel(), distance.ravel()]
    curve = np.empty((len(THRESHOLDS), len(columns)))
    for c, column in enumerate(columns):
        scored = column[~np.isnan(column)]
        with np.errstate(invalid="ignore"):  # no ground truth: NaN, MATLAB's mean([])
            curve[:, c] = 100.0 * (scored[None, :] <= THRESHOLDS[:, None]).mean(axis=1)
    return MpiiScore(curve, len(distance))


def score_submission(
    submission: str | os.PathLike,
    ground_truth: str | os.PathLike,
    split: str = "test",
    official_mat: str | os.PathLike | None = None,
) -> MpiiScore:
    """MPII's PCKh of the submission file `submission` against `ground_truth`: an official-layout
    .mat (struct RELEASE, its annolist holding the points) or a file with a variable `annolist`
    (MPII's annolist_dataset_v12.mat), whose img_train and single_person then come from
    `official_mat` (needed for the test split). `split` is "test" or "validation"."""
    if split not in SPLITS:
        raise ScoringError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    truth = _GroundTruth.read(os.fspath(ground_truth), official_mat, split)
    pred = _Submission.read(os.fspath(submission), split)
    pairs = list(truth.test_pairs(pred) if split == "test" else truth.validation_pairs(pred))
    if not pairs:
        raise ScoringError(f"{pred.path}: no person to score in the {split} split")
    predictions, joints, head_sizes = zip(*pairs, strict=True)
    return mpii_pckh(np.stack(predictions), np.stack(joints), np.array(head_sizes))


@dataclasses.dataclass(frozen=True)
class _Rect:
    """One annorect as the scoring sees it: whether it has an objpos (flatten_annolist's test)
    for every rect; its points and head box read only for the rects scored, as MPII reads them."""

    path: str
    where: str
    struct: np.void

    @property
    def has_objpos(self) -> bool:
        return has_objpos(self.struct)

    def points(self) -> np.ndarray:
        return _points(self.path, self.struct, self.where)

    def head_box(self) -> tuple[float, float, float, float] | None:
        corners = {name: field(self.struct, name) for name in HEAD_BOX_FIELDS}
        if any(empty(value) for value in corners.values()):
            return None
        x1, y1, x2, y2 = (_number(self.path, v, f"{self.where}.{k}") for k, v in corners.items())
        return x1, y1, x2, y2


def _rects(path: str, entry: np.void, where: str) -> list[_Rect]:
    """The annorects of one annolist entry."""
    return [
        _Rect(path, f"{where}.annorect({r + 1})", rect)
        for r, rect in enumerate(_structs(path, field(entry, "annorect"), f"{where}.annorect"))
    ]


def _points(path: str, rect: np.void, where: str) -> np.ndarray:
    """annolist2matrix's points: per MPII joint id the first point with that id (NaN: none);
    no annopoints, or no point in them: all NaN."""
    points = np.full((NUM_JOINTS, 2), np.nan)
    annopoints = _structs(path, field(rect, "annopoints"), f"{where}.annopoints")
    if not annopoints:
        return points
    if len(annopoints) > 1:
        raise ScoringError(
            f"{path}: {where}.annopoints must be one struct with a field 'point', got "
            f"{len(annopoints)} structs"
        )
    at = f"{where}.annopoints.point"
    seen: set[int] = set()
    for p, point in enumerate(_structs(path, field(annopoints[0], "point"), at)):
        if empty(field(point, "id")):
            continue  # MATLAB's `[] == id` is false: util_get_annopoint_by_id passes it over
        joint = _number(path, field(point, "id"), f"{at}({p + 1}).id")
        if joint in seen or not (joint.is_integer() and 0 <= joint < NUM_JOINTS):
            continue  # util_get_annopoint_by_id finds only the first point of an id 0..15
        seen.add(int(joint))
        points[int(joint)] = [_number(path, field(point, k), f"{at}({p + 1}).{k}") for k in "xy"]
    return points


def _structs(path: str, value: Any, where: str) -> list[np.void]:
    """A struct array's elements in MATLAB order; a missing field or an empty array: none."""
    if empty(value):
        return []
    if not isinstance(value, np.ndarray) or value.dtype.names is None:
        raise ScoringError(f"{path}: {where} must be a struct array, got {describe(value)}")
    return list(value.ravel(order="F"))


def _number(path: str, value: Any, where: str) -> float:
    """One number (NaN allowed, as for a prediction MPII counts as wrong)."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf" or value.size != 1:
        raise ScoringError(f"{path}: {where} must be one number, got {describe(value)}")
    return float(value.ravel()[0])


def _load(path: str, what: str) -> dict[str, Any]:
    with open(path, "rb") as f:  # a missing or unreadable file: OSError, with its name
        data = f.read()
    try:
        return load_mat(data)
    except NotAMatFile as err:
        raise ScoringError(f"{path} ({what}): {err}") from None


def _variables(mat: Mapping[str, Any]) -> str:
    return ", ".join(name for name in mat if not name.startswith("__")) or "nothing"


@dataclasses.dataclass(frozen=True)
class _Submission:
    """The `pred` of a submission file, and a validation submission's positions."""

    path: str
    entries: list[np.void]
    annolist_index: list[int]  # validation: per entry its 1-based position in RELEASE.annolist
    scored_rects: list[list[int]]  # validation: per entry the 1-based rects to score

    @classmethod
    def read(cls, path: str, split: str) -> _Submission:
        mat = _load(path, "a submission")
        if "pred" not in mat:
            raise ScoringError(
                f"{path}: no variable 'pred' (a submission to MPII holds one: the annolist of "
                f"the scored images with the predicted points); found {_variables(mat)}"
            )
        entries = _structs(path, mat["pred"], "pred")
        if split == "test":
            return cls(path, entries, [], [])
        missing = [name for name in VALIDATION_VARIABLES if name not in mat]
        if missing:
            raise ScoringError(
                f"{path} has no {' and no '.join(missing)}: it is not a validation submission "
                "written by `mpii-pose submit --split validation`, which records which persons "
                "of which images it predicts; score a test submission with --split test"
            )
        index, rects = mat["annolist_index"], mat["scored_rects"]
        if index.dtype.kind not in "biuf" or index.size != len(entries):
            raise ScoringError(
                f"{path}: annolist_index must hold one number per pred entry ({len(entries)}), "
                f"got {describe(index)}"
            )
        if rects.dtype.kind != "O" or rects.size != len(entries):
            raise ScoringError(
                f"{path}: scored_rects must be a cell with one entry per pred entry "
                f"({len(entries)}), got {describe(rects)}"
            )
        positions = [
            _positive(path, v, f"annolist_index({i + 1})")
            for i, v in enumerate(index.ravel(order="F"))
        ]
        scored = [
            [
                _positive(path, r, f"scored_rects{{{i + 1}}}")
                for r in np.asarray(cell).ravel(order="F")
            ]
            for i, cell in enumerate(rects.ravel(order="F"))
        ]
        return cls(path, entries, positions, scored)


def _positive(path: str, value: Any, where: str) -> int:
    number = float(value) if np.asarray(value).dtype.kind in "biuf" else math.nan
    if not (number.is_integer() and number >= 1):
        raise ScoringError(f"{path}: {where} must be a whole number from 1, got {value!r}")
    return int(number)


@dataclasses.dataclass(frozen=True)
class _GroundTruth:
    """The ground truth's annolist, and for the test split which images are test images and which
    of their rects single persons."""

    path: str
    annolist: list[np.void]
    images: ReleaseImages | None  # None for the validation split of an annolist-only file

    @classmethod
    def read(cls, path: str, official_mat: str | os.PathLike | None, split: str) -> _GroundTruth:
        mat = _load(path, "the ground truth")
        if "RELEASE" in mat:
            images = release_images(mat, path)
            return cls(path, list(images.annolist), images)
        if "annolist" not in mat:
            raise ScoringError(
                f"{path}: no struct RELEASE (the official mpii_human_pose_v1_u12_1.mat) and no "
                f"variable annolist (MPII's annolist_dataset_v12.mat); found {_variables(mat)}"
            )
        annolist = _structs(path, mat["annolist"], "annolist")
        if split != "test":
            return cls(path, annolist, None)
        if official_mat is None:
            raise ScoringError(
                f"{path} holds an annolist but not RELEASE.img_train and single_person, which "
                "say what MPII scores in the test split: give the official "
                "mpii_human_pose_v1_u12_1.mat with --official_mat"
            )
        official = os.fspath(official_mat)
        images = release_images(_load(official, "the official annotations"), official)
        if len(images.annolist) != len(annolist):
            raise ScoringError(
                f"{path} holds {len(annolist)} images, but {official} {len(images.annolist)}: "
                "the annolist and the official file must list the same images"
            )
        return cls(path, annolist, images)

    def test_pairs(self, pred: _Submission) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
        """evaluatePCKh.m's persons: (prediction, ground truth, head size) of each single person
        of each test image, in annolist order."""
        assert self.images is not None
        tests = [i for i, train in enumerate(self.images.is_train) if not train]
        if len(pred.entries) != len(tests):
            raise ScoringError(
                f"{pred.path}: pred holds {len(pred.entries)} entries, expected {len(tests)}: one "
                f"per test image of {self.path} (RELEASE.img_train == 0), in annolist order"
            )
        for n, (index, entry) in enumerate(zip(tests, pred.entries, strict=True)):
            where = f"pred({n + 1})"
            self._check_image(pred, entry, index, where)
            truths = _rects(self.path, self.annolist[index], f"annolist({index + 1})")
            guesses = _rects(pred.path, entry, where)
            self._check_aligned(pred.path, truths, guesses, where, index)
            for r in sorted(self.images.single_person[index]):
                if r > len(truths):
                    raise ScoringError(
                        f"{self.path}: RELEASE.single_person{{{index + 1}}} names rect {r}, but "
                        f"annolist({index + 1}) has {len(truths)}: the annolist and the official "
                        "file must be of the same release"
                    )
                if truths[r - 1].has_objpos:  # flatten_annolist keeps only rects with objpos
                    yield self._pair(
                        truths[r - 1], guesses[r - 1], f"annolist({index + 1})", r, True
                    )

    def validation_pairs(self, pred: _Submission) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
        """The persons `scored_rects` names, each scored against the ground truth's
        annolist(annolist_index(i)).annorect(r)."""
        for n, (index, rects, entry) in enumerate(
            zip(pred.annolist_index, pred.scored_rects, pred.entries, strict=True)
        ):
            where = f"pred({n + 1})"
            if index > len(self.annolist):
                raise ScoringError(
                    f"{pred.path}: annolist_index({n + 1}) is {index}, but {self.path} holds "
                    f"{len(self.annolist)} images: was the submission made for another file?"
                )
            self._check_image(pred, entry, index - 1, where)
            truths = _rects(self.path, self.annolist[index - 1], f"annolist({index})")
            guesses = _rects(pred.path, entry, where)
            for r in rects:
                if r > len(truths) or r > len(guesses):
                    holder, count = (
                        (self.path, len(truths)) if r > len(truths) else (pred.path, len(guesses))
                    )
                    raise ScoringError(
                        f"{pred.path}: scored_rects{{{n + 1}}} names rect {r} of {where}, but "
                        f"{holder} has {count} rects for this image"
                    )
                yield self._pair(truths[r - 1], guesses[r - 1], f"annolist({index})", r, False)

    def _pair(
        self, truth: _Rect, guess: _Rect, where: str, r: int, test: bool
    ) -> tuple[np.ndarray, np.ndarray, float]:
        head_box = truth.head_box()
        if head_box is None:
            public = (
                "; the public mpii_human_pose_v1_u12_1.mat holds no ground truth of test "
                "persons: score a test submission against MPII's annolist_dataset_v12.mat "
                "(with --official_mat), or check your path with --split validation"
                if test
                else ""
            )
            raise ScoringError(
                f"{self.path}: {where}.annorect({r}) is scored but has no head box "
                f"(x1, y1, x2, y2), so PCKh has no head size for it{public}"
            )
        x1, y1, x2, y2 = head_box
        size = HEAD_SIZE_FACTOR * math.sqrt((x2 - x1) ** 2 + (y2 - y1) ** 2)
        return guess.points(), truth.points(), size

    def _check_image(self, pred: _Submission, entry: np.void, index: int, where: str) -> None:
        """The entry's image name, when it has one, is the ground truth's (MPII does not check
        it, and scores a shuffled pred against the wrong images)."""
        name, expected = image_name(entry), image_name(self.annolist[index])
        if name is not None and expected is not None and name != expected:
            raise ScoringError(
                f"{pred.path}: {where}.image.name is {name!r}, but the image it is scored "
                f"against, annolist({index + 1}) of {self.path}, is {expected!r}: pred must "
                "follow the annolist's order"
            )

    @staticmethod
    def _check_aligned(
        path: str, truths: list[_Rect], guesses: list[_Rect], where: str, index: int
    ) -> None:
        """The same rects have an objpos in pred as in the ground truth: MPII flattens pred by
        its own objpos but picks the scored persons by the ground truth's."""
        for r in range(max(len(truths), len(guesses))):
            truth = r < len(truths) and truths[r].has_objpos
            guess = r < len(guesses) and guesses[r].has_objpos
            if truth != guess:
                theirs = f"annolist({index + 1}).annorect({r + 1}) of the ground truth"
                if r >= len(guesses):
                    found = f"{where} lacks annorect({r + 1}), which {theirs} has with an objpos"
                else:
                    has = "has no" if truth else "has an"
                    found = f"{where}.annorect({r + 1}) {has} objpos, unlike {theirs}"
                raise ScoringError(
                    f"{path}: {found}: MPII's evaluation would then score every later person "
                    "against another person's ground truth. Keep every annorect of the "
                    "annolist, objpos included, as it is."
                )


def _threshold_row(threshold: float) -> int:
    rows = np.flatnonzero(np.isclose(THRESHOLDS, threshold, rtol=0, atol=1e-9))
    if not rows.size:
        raise ScoringError(
            f"MPII's curve has thresholds 0 to 0.5 in steps of 0.01, not {threshold}"
        )
    return int(rows[0])


def _areas(curve: np.ndarray) -> np.ndarray:
    """Per column, the trapezoid rule over the thresholds scaled to [0, 1] (scale01)."""
    x = (THRESHOLDS - THRESHOLDS.min()) / (THRESHOLDS.max() - THRESHOLDS.min())
    return ((curve[1:] + curve[:-1]) / 2 * np.diff(x)[:, None]).sum(axis=0)


def _json_number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value
