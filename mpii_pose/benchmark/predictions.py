"""Pose predictions for a split, as pose estimation code saves them: read, checked, and lined up
with the persons of the split's annotation file.

Three forms are read, all (x, y) per joint in MPII joint order, in the `joints` convention (MATLAB
1-based pixels):
- a `.npy` array N × 16 × 2 whose row i is the person with `annotation_index` i (the order of
  HRNet's and mmpose's test outputs);
- HRNet's or mmpose's `pred.mat`: variable `preds`, the same layout (already 1-based);
- a `.npz` with `annotation_index` (N) and `preds` (N × 16 × 2), for predictions collected in any
  order (e.g. while iterating a shuffled dataset).
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
from etils import epath

from mpii_pose.base.errors import MpiiPoseError
from mpii_pose.base.skeleton import JOINT_NAMES, NUM_JOINTS
from mpii_pose.sources.mat_values import describe

FORMS = (
    "a .npy array N x 16 x 2 (row i: the person with annotation_index i), HRNet's or mmpose's "
    "pred.mat (variable 'preds', the same layout) or a .npz with 'annotation_index' (N) and "
    "'preds' (N x 16 x 2)"
)


class PredictionsError(MpiiPoseError, ValueError):
    """A predictions file that cannot be read, or whose values cannot be a split's predictions."""


@dataclasses.dataclass(frozen=True)
class Predictions:
    """Predicted joints (N, 16, 2), float64, 1-based pixels, and the annotation_index of each row
    (None: row i is the person with annotation_index i)."""

    source: str
    points: np.ndarray
    annotation_index: np.ndarray | None = None

    def by_person(self, persons: int) -> dict[int, np.ndarray]:
        """Each person's predicted joints by annotation_index, for a split of `persons` persons;
        refuses a count, an index or a repeated index that does not fit the split."""
        if self.annotation_index is None:
            if len(self.points) != persons:
                raise PredictionsError(
                    f"{self.source}: {len(self.points)} rows of predictions, but the split has "
                    f"{persons} persons: row i must be the person with annotation_index i (or "
                    "give a .npz with 'annotation_index' and 'preds')"
                )
            return dict(enumerate(self.points))
        index = self.annotation_index
        outside = np.flatnonzero((index < 0) | (index >= persons))
        if outside.size:
            raise PredictionsError(
                f"{self.source}: annotation_index {int(index[outside[0]])} (row "
                f"{int(outside[0])}) is not a person of the split, which has annotation_index 0 "
                f"to {persons - 1}"
            )
        values, counts = np.unique(index, return_counts=True)
        if (counts > 1).any():
            twice = values[counts > 1]
            raise PredictionsError(
                f"{self.source}: {twice.size} persons have more than one row of predictions, "
                f"e.g. annotation_index {int(twice[0])}: give one row per person"
            )
        return {int(i): row for i, row in zip(index.tolist(), self.points, strict=True)}


def read_predictions(path: epath.PathLike) -> Predictions:
    """The predictions saved in `path` (.npy, .mat or .npz, see the module's docstring), checked:
    shape N × 16 × 2, numbers, all finite."""
    path = epath.Path(path)
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise PredictionsError(f"{source}: cannot be read ({err.strerror or err})") from None
    suffix = path.suffix.lower()
    if suffix == ".npy":
        points, index = _npy(data, source), None
    elif suffix == ".mat":
        points, index = _mat(data, source), None
    elif suffix == ".npz":
        points, index = _npz(data, source)
    else:
        raise PredictionsError(f"{source}: expected {FORMS}; got a {suffix or 'nameless'} file")
    return checked(points, source, index)


def checked(points: object, source: str, index: object = None) -> Predictions:
    """`points` (and `index`) as Predictions, once their shapes, types and values are checked;
    `source` names them in errors."""
    array = np.asarray(points)
    if array.dtype.kind not in "biuf":
        raise PredictionsError(f"{source}: predictions must be numbers, got {array.dtype}")
    if array.ndim != 3 or array.shape[1:] != (NUM_JOINTS, 2) or not len(array):
        hint = (
            "; it looks transposed (2 x 16 x N): save it as N x 16 x 2"
            if array.shape[:2] == (2, NUM_JOINTS)
            else ""
        )
        raise PredictionsError(
            f"{source}: predictions must have shape (N, {NUM_JOINTS}, 2) with N ≥ 1, got "
            f"{array.shape}{hint}"
        )
    array = array.astype(np.float64)
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        row, joint, _ = bad[0]
        raise PredictionsError(
            f"{source}: {len({(r, j) for r, j, _ in bad.tolist()})} predicted joints are NaN or "
            f"infinite, the first at row {row}, joint {joint} ({JOINT_NAMES[joint]}): "
            f"{array[row, joint].tolist()}; predict every joint of every person"
        )
    if index is None:
        return Predictions(source, array)
    indices = np.asarray(index)
    if indices.dtype.kind not in "iu" or indices.shape != (len(array),):
        raise PredictionsError(
            f"{source}: 'annotation_index' must hold {len(array)} integers (one per row of "
            f"'preds'), got {indices.dtype} of shape {indices.shape}"
        )
    return Predictions(source, array, indices.astype(np.int64))


def _npy(data: bytes, source: str) -> np.ndarray:
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as err:
        raise PredictionsError(f"{source}: not a NumPy .npy array ({err})") from None


def _mat(data: bytes, source: str) -> np.ndarray:
    from scipy.io import loadmat

    try:
        variables = loadmat(io.BytesIO(data))
    except Exception as err:  # scipy raises ValueError, TypeError, NotImplementedError or its own
        raise PredictionsError(f"{source}: not a MATLAB 5 .mat file ({err})") from None
    if "preds" not in variables:
        found = [name for name in variables if not name.startswith("__")]
        already = " (it holds 'pred': already a submission?)" if "pred" in found else ""
        raise PredictionsError(
            f"{source}: no variable 'preds' (HRNet's and mmpose's pred.mat hold one); found "
            f"{', '.join(found) or 'nothing'}{already}"
        )
    preds = variables["preds"]
    if preds.dtype.kind not in "biuf":
        raise PredictionsError(f"{source}: 'preds' must be numbers, got {describe(preds)}")
    return preds


def _npz(data: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except ValueError as err:
        raise PredictionsError(f"{source}: not a NumPy .npz archive ({err})") from None
    missing = [name for name in ("annotation_index", "preds") if name not in arrays]
    if missing:
        raise PredictionsError(
            f"{source}: no {' or '.join(map(repr, missing))} in the archive; a .npz needs "
            f"'annotation_index' (N) and 'preds' (N x 16 x 2), found {', '.join(arrays) or 'nothing'}"
        )
    return arrays["preds"], arrays["annotation_index"]
