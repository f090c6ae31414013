"""Validation head boxes from gt_valid.mat / mpii_gt_val.mat: found, checked against the JSON, refused when wrong."""

import io
import math
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds
from scipy.io import savemat

from mpii_pose.base.errors import AnnotationError, ManualDirError
from mpii_pose.sample import OFFICIAL_PATH
from mpii_pose.sample.mat_writers import ground_truth_mat
from mpii_pose.sources.assembly import load_sources
from mpii_pose.sources.head_boxes import parse_ground_truth
from tests.helpers import build, leftovers, read_json


@pytest.fixture(autouse=True)
def without_official_mat(manual_dir):
    """These tests are about gt_valid.mat: the official .mat would give train persons head boxes."""
    (manual_dir / OFFICIAL_PATH).unlink()


def truth_of(entries: list[dict], shift: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes, joints and flags matching `entries`: one box per person, around its first joint."""
    joints = np.array([e["joints"] for e in entries], np.float64)
    labelled = np.array([e["joints_vis"] for e in entries], bool)
    boxes = np.array([[x, y, x + 20.5 + i, y + 25.25] for i, (x, y) in enumerate(joints[:, 0])])
    return boxes, joints + shift, labelled


def write_truth(manual_dir, name: str = "gt_valid.mat", entries=None, **kwargs):
    """Replaces the sample's gt_valid.mat with one at `name`, for `entries` (default: valid.json)."""
    (manual_dir / "gt_valid.mat").unlink()
    entries = read_json(manual_dir / "valid.json") if entries is None else entries
    boxes, joints, labelled = truth_of(entries, **kwargs)
    path = manual_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ground_truth_mat(boxes, joints, labelled))
    return boxes


@pytest.mark.parametrize(
    "name", ["gt_valid.mat", "annot/gt_valid.mat", "annotations/mpii_gt_val.mat"]
)
def test_validation_persons_get_their_head_boxes(manual_dir, name):
    boxes = write_truth(manual_dir, name)
    sources = load_sources(manual_dir)
    got = [p.head_box for p in sources["validation"].persons]
    np.testing.assert_array_equal(np.array(got), boxes)
    assert all(p.head_box is None for p in sources["train"].persons)


def test_without_a_file_no_person_has_a_head_box(manual_dir):
    (manual_dir / "gt_valid.mat").unlink()
    sources = load_sources(manual_dir)
    assert all(p.head_box is None for s in sources.values() for p in s.persons)


def test_written_file_is_reproducible_and_reads_back(manual_dir):
    entries = read_json(manual_dir / "valid.json")
    boxes, joints, labelled = truth_of(entries)
    data = ground_truth_mat(boxes, joints, labelled)
    assert data == ground_truth_mat(boxes, joints, labelled)
    truth = parse_ground_truth(data, "gt_valid.mat")
    np.testing.assert_array_equal(truth.head_boxes, boxes)
    np.testing.assert_array_equal(truth.joints, joints)
    np.testing.assert_array_equal(truth.missing, ~labelled)


def test_two_head_box_files_are_refused(manual_dir):
    (manual_dir / "annotations").mkdir()
    shutil.copy(manual_dir / "gt_valid.mat", manual_dir / "annotations" / "mpii_gt_val.mat")
    with pytest.raises(ManualDirError, match="several validation head-box files"):
        load_sources(manual_dir)


def test_a_file_of_another_length_is_refused(manual_dir):
    entries = read_json(manual_dir / "valid.json")
    write_truth(manual_dir, entries=entries[:-1])
    with pytest.raises(
        AnnotationError,
        match=rf"holds {len(entries) - 1} persons but .*valid.json has {len(entries)}",
    ):
        load_sources(manual_dir)


def test_a_file_in_another_order_is_refused(manual_dir):
    entries = read_json(manual_dir / "valid.json")
    write_truth(manual_dir, entries=entries[::-1])
    with pytest.raises(
        AnnotationError, match=r"gt_valid.mat, entry 0: joints differ from .*valid.json entry 0"
    ):
        load_sources(manual_dir)


def test_joints_within_a_pixel_still_match(manual_dir):
    write_truth(manual_dir, shift=0.9)
    assert all(p.head_box is not None for p in load_sources(manual_dir)["validation"].persons)
    write_truth(manual_dir, shift=1.5)
    with pytest.raises(AnnotationError, match="joints differ"):
        load_sources(manual_dir)


def mat_bytes(arrays: dict) -> bytes:
    out = io.BytesIO()
    savemat(out, arrays)
    return out.getvalue()


def test_malformed_files_are_named_with_what_was_expected():
    n = 3
    good = {
        "headboxes_src": np.ones((2, 2, n)),
        "pos_gt_src": np.ones((16, 2, n)),
        "jnt_missing": np.zeros((16, n)),
    }
    with pytest.raises(AnnotationError, match=r"^m.mat: not a MATLAB .mat file"):
        parse_ground_truth(b"not a mat file at all", "m.mat")
    with pytest.raises(
        AnnotationError,
        match=r"expected a numeric array 'headboxes_src' of shape \(2, 2, N\), got nothing",
    ):
        parse_ground_truth(
            mat_bytes({k: v for k, v in good.items() if k != "headboxes_src"}), "m.mat"
        )
    with pytest.raises(
        AnnotationError, match=r"'pos_gt_src' must have shape \(16, 2, N\), got \(15, 2, 3\)"
    ):
        parse_ground_truth(mat_bytes({**good, "pos_gt_src": np.ones((15, 2, n))}), "m.mat")
    with pytest.raises(AnnotationError, match=r"same number of persons, got 3, 3 and 2"):
        parse_ground_truth(mat_bytes({**good, "jnt_missing": np.zeros((16, 2))}), "m.mat")
    boxes = np.ones((2, 2, n))
    boxes[1, 0, 2] = math.nan
    with pytest.raises(AnnotationError, match=r"m.mat, entry 2: head box must be 4 finite numbers"):
        parse_ground_truth(mat_bytes({**good, "headboxes_src": boxes}), "m.mat")


def test_a_bad_file_stops_the_build_and_leaves_nothing(manual_dir, tmp_path):
    (manual_dir / "gt_valid.mat").write_bytes(b"garbage")
    with pytest.raises(AnnotationError, match="manual/gt_valid.mat: not a MATLAB .mat file"):
        build(manual_dir, tmp_path / "data")
    assert leftovers(tmp_path / "data") == []


def test_a_build_stores_validation_head_boxes_and_nan_for_train(manual_dir, tmp_path):
    boxes = write_truth(manual_dir)
    builder = build(manual_dir, tmp_path / "data")
    for split in ("train", "validation"):
        for ex in tfds.as_numpy(
            builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
        ):
            if split == "train":
                assert np.isnan(ex["head_box"]).all()
            else:
                np.testing.assert_array_equal(
                    ex["head_box"], boxes[ex["annotation_index"]].astype(np.float32)
                )
