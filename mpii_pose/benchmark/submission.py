"""MPII's benchmark file `pred_keypoints_mpii.mat` from predictions of a built split.

MPII's evaluation (evalMPII's `evaluatePCKh.m`) loads one variable, `pred`: the struct array
`RELEASE.annolist(RELEASE.img_train == 0)`, one entry per test image in annolist order, each
entry's `annorect` as in the official file, and in every rect it scores (those listed in
`RELEASE.single_person`) `annopoints.point`: 16 points with `id` (0-based MPII joint id), `x`, `y`
(MATLAB 1-based pixels, the convention of the dataset's `joints`). It pairs the submission's rects
with its ground truth by their order among the rects that have an `objpos`, so every rect keeps
its fields, `objpos` included. Each person's place in the official file comes from the build:
the examples' `official_image_index` and `official_rect_index`.

A validation file (`split="validation"`) has the same layout over the images of the validation
persons, plus `annolist_index` (each entry's 1-based index in RELEASE.annolist) and
`scored_rects` (per entry, the 1-based rects of its validation persons), so that
`mpii-pose score` can check the whole path against the official annotations before a test file
is sent.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from etils import epath

from mpii_pose.base.errors import MpiiPoseError
from mpii_pose.base.skeleton import JOINT_NAMES, NUM_JOINTS
from mpii_pose.benchmark.predictions import Predictions, checked, read_predictions
from mpii_pose.sources import build_record, official_annotations
from mpii_pose.sources.manual_dir import OFFICIAL_FILE, SAMPLE_DIR, TEST_SPLIT, find_official_file
from mpii_pose.sources.mat_values import (
    NotAMatFile,
    empty,
    field,
    has_objpos,
    image_name,
    load_mat,
    mat_bytes,
)

LOG = logging.getLogger(__name__)  # the warnings about predictions
SUBMISSION_FILE = "pred_keypoints_mpii.mat"
VALIDATION_SPLIT = "validation"
EVALUATION_PAGE = (
    "https://www.mpi-inf.mpg.de/departments/computer-vision-and-machine-learning/"
    "software-and-datasets/mpii-human-pose-dataset/evalution"
)
THORAX = JOINT_NAMES.index("thorax")
# A predicted thorax this many person heights (200 x scale pixels) from objpos is misplaced.
FAR_FROM_OBJPOS = 0.5
_SHOWN = 5  # image names listed in a message


class SubmissionError(MpiiPoseError, ValueError):
    """Predictions that cannot become MPII's submission file; nothing was written."""


@dataclasses.dataclass(frozen=True)
class SplitPersons:
    """The persons of a built split in annotation_index order, with where the official .mat
    holds each (1-based indices, -1 when unmatched) and what the plausibility checks use."""

    split: str
    filename: tuple[str, ...]
    image_index: np.ndarray  # (N,) int
    rect_index: np.ndarray  # (N,) int
    single_person: np.ndarray  # (N,) bool
    center: np.ndarray  # (N, 2)
    scale: np.ndarray  # (N,)
    joints: np.ndarray  # (N, 16, 2), 1-based; [-1, -1] where not labelled
    visibility: np.ndarray  # (N, 16) bool: labelled

    def __len__(self) -> int:
        return len(self.filename)


@dataclasses.dataclass(frozen=True)
class SubmissionReport:
    """What a written submission holds, for its summary."""

    out: str
    official: str  # the official .mat it was laid out from
    split: str
    images: int  # pred entries: test images (test), images of the split's persons (validation)
    scored: int  # rects MPII scores (all with a prediction)
    other_persons: int  # persons written to rects MPII does not score (not single_person)
    unmatched: int  # persons without a place in the official .mat, left out
    without_prediction: int  # persons of the split given no prediction (a .npz may leave some out)
    warnings: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The summary printed by `mpii-pose submit`."""
        what = "test images" if self.split == TEST_SPLIT else "images of validation persons"
        scored = (
            "single persons, the persons MPII scores" if self.split == TEST_SPLIT else "persons"
        )
        lines = [
            f"Wrote {self.out}: 'pred' with {self.images} {what} in annolist order, "
            f"predictions for {self.scored} {scored}."
        ]
        if self.other_persons:
            lines.append(
                f"{self.other_persons} {self.split} persons have no single-person rect: their "
                "predictions are written, but MPII does not score them."
            )
        if self.unmatched:
            lines.append(
                f"{self.unmatched} {self.split} persons have no place in the official .mat "
                "(official_image_index -1): left out."
            )
        if self.without_prediction:
            lines.append(f"{self.without_prediction} {self.split} persons had no prediction.")
        lines += [f"warning: {text}" for text in self.warnings]
        if self.split == TEST_SPLIT:
            lines.append(
                f"Next: email {os.path.basename(self.out)} to MPII (eldar at mpi-inf.mpg.de) as "
                f"its evaluation page says ({EVALUATION_PAGE}); at most 4 submissions per "
                "method, 72 hours apart. Check the path first on validation: "
                "`mpii-pose submit --split validation` then `mpii-pose score --split validation`."
            )
        else:
            lines.append(
                f"Next: `mpii-pose score --submission {self.out} --ground_truth "
                f"{self.official} --split validation` scores it as MPII would."
            )
        return lines


@dataclasses.dataclass(frozen=True)
class _Layout:
    """Where the predictions go: the pred entries (annolist positions, from 0), each placed
    prediction by (image, rect) from 0, the rects MPII scores, and the persons not placed."""

    images: list[int]
    placed: dict[tuple[int, int], np.ndarray]
    scored: set[tuple[int, int]]
    other_persons: int
    unmatched: int


def write_submission(
    data_dir: epath.PathLike | None,
    predictions: epath.PathLike | np.ndarray | Predictions,
    out: epath.PathLike = SUBMISSION_FILE,
    *,
    manual_dir: epath.PathLike | None = None,
    official_mat: epath.PathLike | None = None,
    split: str = TEST_SPLIT,
    annotation_index: np.ndarray | None = None,
) -> SubmissionReport:
    """Writes `out` in MPII's submission layout from predictions of the `split` built in
    `data_dir` (TFDS's default data dir when None); returns what it holds, its warnings too
    (also logged).

    `predictions` is a file (see `mpii_pose.benchmark.predictions`) or an array N × 16 × 2 in the `joints`
    convention, row i the person with annotation_index i, or rows of the persons
    `annotation_index` lists. The official .mat is `official_mat`, else the build's own input,
    found in `manual_dir` (default `data_dir/downloads/manual`), in the build's downloads or
    in the bundled sample. Refuses (SubmissionError, nothing written) what MPII would misread
    or score as wrong.
    """
    if split not in (TEST_SPLIT, VALIDATION_SPLIT):
        raise SubmissionError(f"--split must be test or validation, got {split!r}")
    if isinstance(predictions, Predictions):
        given = predictions
    elif isinstance(predictions, np.ndarray):
        given = checked(predictions, "the predictions", annotation_index)
    else:
        given = read_predictions(predictions)
    root = _data_dir(data_dir)
    builder, record = _prepared_build(root, split)
    official = _official_file(root, record, manual_dir, official_mat)
    try:
        mat = load_mat(official.read_bytes())
    except NotAMatFile as err:
        raise SubmissionError(f"{official}: {err}") from None
    release = official_annotations.release_images(mat, str(official))
    persons = read_split_persons(builder, split)
    by_person = given.by_person(len(persons))
    layout = _layout(release, persons, by_person, given.source)
    arrays: dict[str, Any] = {"pred": _pred_array(release, layout.images, layout.placed)}
    if split == VALIDATION_SPLIT:
        arrays |= _validation_arrays(layout)
    warnings = _warnings(persons, by_person)
    out = epath.Path(out)
    _write_atomically(out, arrays)
    return SubmissionReport(
        out=str(out),
        official=str(official),
        split=split,
        images=len(layout.images),
        scored=len(layout.scored),
        other_persons=layout.other_persons,
        unmatched=layout.unmatched,
        without_prediction=len(persons) - len(by_person),
        warnings=warnings,
    )


def _data_dir(data_dir: epath.PathLike | None) -> epath.Path:
    from tensorflow_datasets.core import constants

    return epath.Path(data_dir or constants.get_default_data_dir())


def _prepared_build(data_dir: epath.Path, split: str) -> tuple[Any, build_record.BuildRecord]:
    """TFDS's builder of the build in `data_dir`, and its record; refuses a build that cannot
    give a submission (none, no such split, capped, made without the official .mat)."""
    import tensorflow_datasets as tfds  # the package's __init__ has registered the builder

    builder = tfds.builder("mpii_pose", data_dir=str(data_dir))
    if not builder.is_prepared():
        raise SubmissionError(
            f"mpii_pose {builder.version} is not built in {data_dir}: build it with the official "
            f"annotations (`mpii-pose build --manual_dir M --data_dir {data_dir}`) first"
        )
    record = build_record.read_build(epath.Path(builder.data_dir))
    if split not in builder.info.splits:
        raise SubmissionError(
            f"the build in {builder.data_dir} has no {split} split (its splits: "
            f"{', '.join(builder.info.splits)}); a test split is built when the annotations "
            "include test.json or mpii_test.json"
        )
    if record.max_examples_per_split is not None:
        raise SubmissionError(
            f"the build in {builder.data_dir} is a trial build of at most "
            f"{record.max_examples_per_split} persons per split: build the whole dataset"
        )
    if not record.has_official:
        raise SubmissionError(
            f"the build in {builder.data_dir} was made without the official .mat "
            f"({OFFICIAL_FILE}), so its persons have no place in it: add it to the manual "
            "directory and rebuild"
        )
    return builder, record


def read_split_persons(builder: Any, split: str) -> SplitPersons:
    """The persons of `split` of a prepared mpii_pose builder, without their images."""
    keys = [
        "annotation_index",
        "filename",
        "official_image_index",
        "official_rect_index",
        "single_person",
        "center",
        "scale",
        "joints",
        "visibility",
    ]
    columns: dict[str, list] = {key: [] for key in keys}
    for example in _examples(builder, split):
        for key in keys:
            columns[key].append(example[key])
    order = np.argsort(np.asarray(columns["annotation_index"]), kind="stable")
    if not np.array_equal(np.asarray(columns["annotation_index"])[order], np.arange(len(order))):
        raise SubmissionError(
            f"the {split} split in {builder.data_dir} does not hold annotation_index 0 to "
            f"{len(order) - 1} once each: rebuild it"
        )

    def column(key: str) -> np.ndarray:
        return np.asarray(columns[key])[order]

    return SplitPersons(
        split=split,
        filename=tuple(name.decode() for name in column("filename")),
        image_index=column("official_image_index").astype(np.int64),
        rect_index=column("official_rect_index").astype(np.int64),
        single_person=column("single_person").astype(bool),
        center=column("center"),
        scale=column("scale"),
        joints=column("joints"),
        visibility=column("visibility").astype(bool),
    )


def _examples(builder: Any, split: str) -> Iterator[dict[str, Any]]:
    """The split's examples as numpy values, their images left undecoded, in either format."""
    import tensorflow_datasets as tfds

    skip = {"image": tfds.decode.SkipDecoding()}
    if builder.info.file_format == tfds.core.file_adapters.FileFormat.ARRAY_RECORD:
        yield from builder.as_data_source(split=split, decoders=skip)  # no tf.data reader
    else:
        yield from tfds.as_numpy(builder.as_dataset(split=split, decoders=skip))


def _official_file(
    data_dir: epath.Path,
    record: build_record.BuildRecord,
    manual_dir: epath.PathLike | None,
    official_mat: epath.PathLike | None,
) -> epath.Path:
    """The official .mat the build's persons were matched with: `official_mat` when given, else
    the build's own input, in the manual directory, the build's downloads or the bundled sample.
    A file whose content differs from the build's input is refused: the indices refer to the
    build's file."""
    (used,) = [s for s in record.sources if s.role == build_record.OFFICIAL_ROLE]
    if official_mat is not None:
        candidates = [epath.Path(official_mat)]
    else:
        manual = epath.Path(manual_dir) if manual_dir else data_dir / "downloads" / "manual"
        extracted = data_dir / "downloads" / "extracted"
        roots = [manual] + (sorted(extracted.iterdir()) if extracted.is_dir() else [])
        roots.append(epath.Path(SAMPLE_DIR))  # a build of the bundled sample
        candidates = [p for root in roots if (p := find_official_file([root])) is not None]
    for candidate in candidates:
        if not candidate.is_file():
            raise SubmissionError(f"{candidate}: no such file (--official_mat)")
        if used.sha256 is None or build_record.file_sha256(candidate) == used.sha256:
            return candidate
    where = ", ".join(map(str, candidates)) or "no official .mat found"
    raise SubmissionError(
        f"the build was matched with an official .mat of sha256 {used.sha256} ({used.name} from "
        f"the {used.origin}), and no file with that content was found ({where}): name it with "
        "--official_mat, or rebuild with the file you have"
    )


def _layout(
    release: official_annotations.ReleaseImages,
    persons: SplitPersons,
    by_person: Mapping[int, np.ndarray],
    predictions_source: str,
) -> _Layout:
    """Each prediction's rect; refuses a rect MPII scores without a prediction, and places
    that do not fit the official file."""
    placed: dict[tuple[int, int], np.ndarray] = {}
    unmatched = other = 0
    test = persons.split == TEST_SPLIT
    for index, points in by_person.items():
        image, rect = int(persons.image_index[index]) - 1, int(persons.rect_index[index]) - 1
        if image < 0 or rect < 0:
            unmatched += 1
            continue
        if image >= len(release.annolist) or rect >= release.rect_counts[image]:
            raise SubmissionError(
                f"the official .mat has no annolist({image + 1}).annorect({rect + 1}), where the "
                f"build places {persons.split} person {index}: it is not the file the build "
                "matched; give that one with --official_mat"
            )
        if test == release.is_train[image]:
            raise SubmissionError(
                f"image {image + 1} ({persons.filename[index]}) of the official .mat is "
                f"{'not ' if test else ''}a test image, but the build places {persons.split} "
                f"person {index} in it: not the file the build matched"
            )
        placed[(image, rect)] = points
        other += test and not persons.single_person[index]
    if test:  # evaluatePCKh.m: the single persons of the test images that have an objpos
        images = [i for i, train in enumerate(release.is_train) if not train]
        scored = {
            (i, r - 1)
            for i in images
            for r in release.single_person[i]
            if _has_objpos(release.annolist[i], r - 1)
        }
    else:
        images = sorted({image for image, _ in placed})
        scored = set(placed)
    if not scored:
        raise SubmissionError(
            f"no {persons.split} person of {predictions_source} has a place in the official "
            ".mat that MPII scores: was the build made with MPII's official file?"
        )
    missing = sorted(scored - set(placed))
    if missing:
        names = [image_name(release.annolist[i]) or f"image {i + 1}" for i, _ in missing[:_SHOWN]]
        raise SubmissionError(
            f"{len(missing)} of the {len(scored)} {persons.split} persons MPII scores have no "
            f"prediction in {predictions_source}, e.g. in {', '.join(names)}: MPII counts each "
            "as wrong. Predict every person of the split (a .npz must list every "
            "annotation_index), from a build matched with the official .mat"
        )
    return _Layout(images, placed, scored, int(other), unmatched)


def _has_objpos(image: np.void, rect: int) -> bool:
    """Whether rect `rect` (from 0) of the annolist entry has an objpos (see `has_objpos`)."""
    rects = np.asarray(field(image, "annorect")).ravel(order="F")
    return rect < len(rects) and has_objpos(rects[rect])


def _pred_array(
    release: official_annotations.ReleaseImages,
    images: list[int],
    placed: Mapping[tuple[int, int], np.ndarray],
) -> np.ndarray:
    """annolist(images) as stored, every rect's annopoints replaced by its prediction ([] for
    a rect without one)."""
    first = release.annolist[0]
    pred = np.empty((1, len(images)), dtype=first.dtype)
    for k, image in enumerate(images):
        entry = release.annolist[image]
        if entry.dtype != first.dtype:  # a struct array's elements share its fields
            raise SubmissionError("the official .mat's annolist entries differ in their fields")
        values = [entry[name] for name in entry.dtype.names or ()]
        rects = field(entry, "annorect")
        if not empty(rects):
            at = list(entry.dtype.names or ()).index("annorect")
            values[at] = _rects(np.asarray(rects), image, placed)
        pred[0, k] = tuple(values)
    return pred


def _rects(
    rects: np.ndarray, image: int, placed: Mapping[tuple[int, int], np.ndarray]
) -> np.ndarray:
    names = list(rects.dtype.names or ())
    names += [] if "annopoints" in names else ["annopoints"]
    out = np.empty(rects.shape, dtype=[(name, object) for name in names])
    for r, rect in enumerate(rects.ravel(order="F")):
        values = {name: field(rect, name) for name in names}
        points = placed.get((image, r))
        values["annopoints"] = np.zeros((0, 0)) if points is None else _annopoints(points)
        out[np.unravel_index(r, rects.shape, order="F")] = tuple(values[n] for n in names)
    return out


def _annopoints(points: np.ndarray) -> np.ndarray:
    """`annopoints` holding 16 points: id (0-based joint id), x, y, as 1×1 doubles."""
    point = np.empty((1, NUM_JOINTS), dtype=[("id", object), ("x", object), ("y", object)])
    for joint, (x, y) in enumerate(points.tolist()):
        point[0, joint] = (np.array([[float(joint)]]), np.array([[x]]), np.array([[y]]))
    annopoints = np.empty((1, 1), dtype=[("point", object)])
    annopoints[0, 0] = (point,)
    return annopoints


def _validation_arrays(layout: _Layout) -> dict[str, np.ndarray]:
    """A validation file's `annolist_index` and `scored_rects`, parallel to its `pred`."""
    scored = np.empty((1, len(layout.images)), dtype=object)
    for k, image in enumerate(layout.images):
        rects = sorted(r + 1 for i, r in layout.placed if i == image)
        scored[0, k] = np.array(rects, dtype=np.float64).reshape(-1, 1)
    return {
        "annolist_index": np.array([[i + 1 for i in layout.images]], dtype=np.float64),
        "scored_rects": scored,
    }


def _warnings(persons: SplitPersons, by_person: Mapping[int, np.ndarray]) -> tuple[str, ...]:
    """What suggests predictions in another order or pixel convention than the split's: the
    thorax far from objpos for most persons; on average a pixel up and left of the labelled
    joints (validation only: test persons have no joints)."""
    indices = np.array(sorted(by_person))
    points = np.stack([by_person[i] for i in indices])
    warnings = []
    height = 200 * persons.scale[indices]
    far = np.linalg.norm(points[:, THORAX] - persons.center[indices], axis=-1) > (
        FAR_FROM_OBJPOS * height
    )
    if far.mean() > 0.5:
        warnings.append(
            f"for {far.sum()} of {len(indices)} persons the predicted thorax is more than "
            f"{FAR_FROM_OBJPOS:g} person heights from the person's objpos: are the rows in "
            "annotation_index order (or the .npz's annotation_index right)?"
        )
    labelled = persons.visibility[indices]
    if labelled.any():
        error = (points - persons.joints[indices])[labelled]  # (joints, 2)
        bias = error.mean(axis=0)
        if np.all(np.abs(bias + 1) < 0.5) and np.abs(error + 1).mean() < np.abs(error).mean():
            warnings.append(
                f"predictions are on average {-bias[0]:.2f}, {-bias[1]:.2f} pixels left of and "
                "above the labelled joints: they look 0-based; MPII's convention is 1-based "
                "(add 1 to 0-based pixel coordinates)"
            )
    for text in warnings:
        LOG.warning("%s", text)
    return tuple(warnings)


def _write_atomically(out: epath.Path, arrays: Mapping[str, Any]) -> None:
    """Saves `arrays` to `out` as a MATLAB 5 file, whole or not at all; equal input, equal bytes."""
    data = mat_bytes(dict(arrays), compress=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        temporary.write_bytes(data)
        temporary.replace(out)
    finally:
        if temporary.exists():
            temporary.unlink()
