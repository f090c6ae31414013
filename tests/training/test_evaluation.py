"""PCKh: thresholds measured in head sizes, unlabelled joints ignored, HRNet's mean and table."""

import sys

import numpy as np
import numpy.ma as ma
import pytest
import tensorflow_datasets as tfds

from mpii_pose.base.skeleton import JOINT_NAMES
from mpii_pose.sample import OFFICIAL_PATH
from mpii_pose.sample.mat_writers import ground_truth_mat
from mpii_pose.sources.head_boxes import parse_ground_truth
from mpii_pose.training.evaluation import (
    EvaluationError,
    HeadBoxesUnknown,
    PCKhAccumulator,
    head_sizes,
    pckh,
)
from tests.helpers import build, checked, read_json, write_json

PELVIS, THORAX = JOINT_NAMES.index("pelvis"), JOINT_NAMES.index("thorax")
HEAD_BOX = (101.0, 51.0, 131.0, 91.0)  # 30 x 40: diagonal 50, head size 30


def people(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ground truth of `count` persons, every joint labelled, each with HEAD_BOX."""
    joints = np.random.default_rng(seed).uniform(1, 640, (count, 16, 2))
    return joints, np.ones((count, 16), bool), np.tile(HEAD_BOX, (count, 1))


def moved(joints: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """`joints` moved by `distances` (one per joint) along the unit vector (0.6, -0.8)."""
    return joints + np.asarray(distances, dtype=np.float64)[..., None] * np.array([0.6, -0.8])


def test_exact_predictions_score_100_everywhere():
    joints, labelled, boxes = people(5)
    result = pckh(joints, joints, labelled, boxes)
    assert set(result.per_joint.values()) == {100.0}
    assert set(result.groups().values()) == {100.0}
    assert result.counts == dict.fromkeys(JOINT_NAMES, 5)


@pytest.mark.parametrize("threshold", [0.5, 0.1, 0.25])
@pytest.mark.parametrize("joint", range(16))
def test_just_inside_counts_and_just_outside_does_not(threshold, joint):
    joints, labelled, boxes = people(1)
    limit = threshold * 0.6 * np.hypot(30, 40)  # from the head box, not from head_sizes()
    distances = np.full(16, limit * (1 + 1e-9))
    distances[joint] = limit * (1 - 1e-9)
    result = pckh(moved(joints, distances), joints, labelled, boxes, threshold=threshold)
    expected = {name: 100.0 if i == joint else 0.0 for i, name in enumerate(JOINT_NAMES)}
    assert result.per_joint == expected


def test_unlabelled_joints_are_ignored_even_with_wild_predictions():
    joints, labelled, boxes = people(3)
    predictions = joints.copy()
    labelled[0, [2, 9]] = labelled[2, 9] = False
    joints[~labelled] = -1.0
    predictions[0, 2], predictions[0, 9], predictions[2, 9] = (1e9, -1e9), (np.nan, 0), np.inf
    result = pckh(predictions, joints, labelled, boxes)
    assert set(result.per_joint.values()) == {100.0} and result.mean == 100.0
    assert result.counts["right_hip"] == 2 and result.counts["head_top"] == 1


def test_a_non_finite_prediction_of_a_labelled_joint_is_wrong():
    joints, labelled, boxes = people(2)
    predictions = joints.copy()
    predictions[0, 9] = np.nan
    assert pckh(predictions, joints, labelled, boxes).per_joint["head_top"] == 50.0


def test_a_joint_never_labelled_has_no_pckh_and_no_weight():
    joints, labelled, boxes = people(2)
    labelled[:, 0] = False
    result = pckh(joints, joints, labelled, boxes)
    assert np.isnan(result.per_joint["right_ankle"]) and result.counts["right_ankle"] == 0
    assert result.mean == 100.0


def test_the_mean_leaves_out_pelvis_and_thorax():
    joints, labelled, boxes = people(4)
    distances = np.full((4, 16), 1000.0)
    distances[:, [PELVIS, THORAX]] = 0.0
    result = pckh(moved(joints, distances), joints, labelled, boxes)
    assert result.per_joint["pelvis"] == result.per_joint["thorax"] == 100.0
    assert result.mean == 0.0  # with pelvis and thorax it would be 2/16 = 12.5 %
    assert np.mean(list(result.per_joint.values())) == 12.5


def test_the_mean_weights_each_joint_by_its_labelled_count():
    """One labelled left wrist (right) and four right wrists (wrong): 1 of 5, not (100 + 0) / 2."""
    joints, labelled, boxes = people(4)
    labelled[:] = False
    left, right = JOINT_NAMES.index("left_wrist"), JOINT_NAMES.index("right_wrist")
    labelled[0, left] = labelled[:, right] = True
    distances = np.zeros((4, 16))
    distances[:, right] = 1000.0
    result = pckh(moved(joints, distances), joints, labelled, boxes)
    assert (result.per_joint["left_wrist"], result.per_joint["right_wrist"]) == (100.0, 0.0)
    assert result.mean == 20.0
    assert result.groups()["Wrist"] == 50.0  # HRNet's columns average left and right


def test_threshold_is_configurable_and_the_table_has_mean_at_low():
    joints, labelled, boxes = people(2)
    predictions = moved(joints, np.full((2, 16), 0.3 * 30))  # 0.3 head sizes away
    at_half = pckh(predictions, joints, labelled, boxes)
    at_tenth = pckh(predictions, joints, labelled, boxes, threshold=0.1)
    assert (at_half.mean, at_half.mean_at_low, at_tenth.mean) == (100.0, 0.0, 0.0)
    assert pckh(predictions, joints, labelled, boxes, low_threshold=0.35).mean_at_low == 100.0
    assert list(at_half.groups()) == [
        "Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean", "Mean@0.1",
    ]  # fmt: skip
    lines = at_half.table("pose_hrnet_w32").splitlines()
    assert lines[0] == (
        "| Arch | Head | Shoulder | Elbow | Wrist | Hip | Knee | Ankle | Mean | Mean@0.1 |"
    )
    assert lines[1] == "|---" * 10 + "|"
    assert lines[2] == "| pose_hrnet_w32 | " + " | ".join(["100.000"] * 8) + " | 0.000 |"
    assert "| head_top | 100.000 | 2/2 |" in at_half.joint_table()


def test_head_size_is_0_6_times_the_head_box_diagonal():
    assert head_sizes(np.array([HEAD_BOX, (0, 0, -6, 8)])).tolist() == [30.0, 6.0]


def test_an_unknown_head_box_raises_with_where_head_boxes_come_from():
    joints, labelled, boxes = people(3)
    boxes[1] = np.nan
    with pytest.raises(HeadBoxesUnknown) as raised:
        pckh(joints, joints, labelled, boxes)
    message = str(raised.value)
    assert "1 of 3 persons" in message and "index 1" in message
    assert "gt_valid.mat" in message and "mpii_gt_val.mat" in message
    assert "manual directory" in message and "mpii_human_pose_v1_u12_1.mat" in message
    with pytest.raises(HeadBoxesUnknown):
        PCKhAccumulator().update(joints, joints, labelled, boxes)


def test_a_head_box_without_size_is_an_error():
    joints, labelled, boxes = people(2)
    boxes[1] = (5, 5, 5, 5)
    with pytest.raises(EvaluationError, match=r"head boxes have no size, the first at index 1"):
        pckh(joints, joints, labelled, boxes)


@pytest.mark.parametrize(
    "name, index, bad, message",
    [
        ("joints", 1, np.zeros((16, 2)), r"joints must have shape \(N, 16, 2\).*got \(16, 2\)"),
        ("predictions", 0, np.zeros((3, 17, 2)), r"predictions must have shape \(N, 16, 2\)"),
        ("visibility", 2, np.ones((2, 16)), r"visibility .* \(N = 3, from joints\), got \(2, 16\)"),
        ("head_boxes", 3, np.zeros((3, 2, 2)), r"head_boxes must have shape \(N, 4\)"),
    ],
)
def test_wrong_shapes_are_named(name, index, bad, message):
    arrays = [*people(3)]
    arrays.insert(0, arrays[0])  # predictions, joints, visibility, head boxes
    arrays[index] = bad
    with pytest.raises(EvaluationError, match=message):
        pckh(*arrays)


def test_nothing_to_evaluate_is_an_error():
    with pytest.raises(EvaluationError, match="no persons"):
        pckh(np.zeros((0, 16, 2)), np.zeros((0, 16, 2)), np.zeros((0, 16)), np.zeros((0, 4)))
    with pytest.raises(EvaluationError, match="call update"):
        PCKhAccumulator().result()


def test_accumulating_batches_equals_one_call():
    predictions, joints, labelled, boxes = random_evaluation(100, seed=3)
    accumulator = PCKhAccumulator(threshold=0.3)
    for start, stop in [(0, 1), (1, 40), (40, 41), (41, 100)]:
        accumulator.update(*(a[start:stop] for a in (predictions, joints, labelled, boxes)))
    assert accumulator.result() == pckh(predictions, joints, labelled, boxes, threshold=0.3)
    with pytest.raises(EvaluationError, match="cannot add"):
        accumulator.result() + pckh(predictions, joints, labelled, boxes)


def random_evaluation(count: int, seed: int) -> tuple[np.ndarray, ...]:
    """Predictions scattered around the ground truth by about a head size, ~15 % unlabelled."""
    rng = np.random.default_rng(seed)
    joints = rng.uniform(1, 1280, (count, 16, 2))
    corner = rng.uniform(1, 1200, (count, 2))
    boxes = np.concatenate([corner, corner + rng.uniform(8, 80, (count, 2))], axis=1)
    spread = head_sizes(boxes)[:, None, None] * rng.uniform(0.05, 0.6, (count, 16, 1))
    predictions = joints + rng.normal(0, 1, (count, 16, 2)) * spread
    labelled = rng.random((count, 16)) > 0.15
    joints[~labelled] = -1.0
    return predictions, joints, labelled, boxes


def hrnet_evaluate(preds, joints, labelled, boxes):
    """HRNet's MPIIDataset.evaluate written out again, on its .mat layout (joint, xy, person)."""
    pos_pred_src = np.transpose(preds, [1, 2, 0])
    pos_gt_src = np.transpose(joints, [1, 2, 0])
    jnt_missing = 1 - np.transpose(labelled).astype(int)
    headboxes_src = np.transpose(boxes.reshape(-1, 2, 2), [1, 2, 0])

    jnt_visible = 1 - jnt_missing
    uv_err = np.linalg.norm(pos_pred_src - pos_gt_src, axis=1)
    headsizes = np.linalg.norm(headboxes_src[1, :, :] - headboxes_src[0, :, :], axis=0) * 0.6
    scaled_uv_err = np.multiply(uv_err / (headsizes * np.ones((len(uv_err), 1))), jnt_visible)
    jnt_count = np.sum(jnt_visible, axis=1)
    rng = np.arange(0, 0.5 + 0.01, 0.01)
    pck_all = np.zeros((len(rng), 16))
    for r, threshold in enumerate(rng):
        less = np.multiply(scaled_uv_err <= threshold, jnt_visible)
        pck_all[r, :] = 100.0 * np.sum(less, axis=1) / jnt_count
    pck = ma.array(pck_all[50], mask=False)
    pck.mask[6:8] = True
    jnt_count = ma.array(jnt_count, mask=False)
    jnt_count.mask[6:8] = True
    jnt_ratio = jnt_count / np.sum(jnt_count).astype(np.float64)
    rank, rkne, rhip, lhip, lkne, lank, _, _, _, head, rwri, relb, rsho, lsho, lelb, lwri = range(
        16
    )
    return {
        "Head": pck[head],
        "Shoulder": 0.5 * (pck[lsho] + pck[rsho]),
        "Elbow": 0.5 * (pck[lelb] + pck[relb]),
        "Wrist": 0.5 * (pck[lwri] + pck[rwri]),
        "Hip": 0.5 * (pck[lhip] + pck[rhip]),
        "Knee": 0.5 * (pck[lkne] + pck[rkne]),
        "Ankle": 0.5 * (pck[lank] + pck[rank]),
        "Mean": np.sum(pck * jnt_ratio),
        "Mean@0.1": np.sum(pck_all[11, :] * jnt_ratio),  # sic: HRNet's row 11 is 0.11
    }, pck_all[50]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_hrnets_evaluate_on_random_data(seed):
    predictions, joints, labelled, boxes = random_evaluation(500, seed)
    expected, per_joint = hrnet_evaluate(predictions, joints, labelled, boxes)
    low = np.arange(0, 0.51, 0.01)[11]
    result = pckh(predictions, joints, labelled, boxes, low_threshold=low)
    groups = result.groups()
    groups["Mean@0.1"] = groups.pop(f"Mean@{low:g}")
    assert 20 < result.mean < 95  # neither trivial nor hopeless
    np.testing.assert_allclose(list(groups.values()), list(expected.values()), rtol=1e-12)
    np.testing.assert_allclose(list(result.per_joint.values()), per_joint, rtol=1e-12)
    assert result.mean_at_low != pckh(predictions, joints, labelled, boxes).mean_at_low


def test_a_built_validation_split_evaluates_and_train_has_no_head_boxes(manual_dir, tmp_path):
    (manual_dir / OFFICIAL_PATH).unlink()  # train head boxes would come from the official .mat
    builder = build(manual_dir, tmp_path)  # validation head boxes come from gt_valid.mat
    labelled = sum(sum(entry["joints_vis"]) for entry in read_json(manual_dir / "valid.json"))

    def batches(split: str):
        skip = {"image": tfds.decode.SkipDecoding()}
        return tfds.as_numpy(builder.as_dataset(split=split, batch_size=3, decoders=skip))

    accumulator = PCKhAccumulator()
    for batch in batches("validation"):
        near = moved(batch["joints"], 0.49 * head_sizes(batch["head_box"])[:, None])
        accumulator.update(near, batch["joints"], batch["visibility"], batch["head_box"])
    result = accumulator.result()
    assert (result.mean, result.mean_at_low, sum(result.labelled)) == (100.0, 0.0, labelled)
    train = next(iter(batches("train")))
    with pytest.raises(HeadBoxesUnknown, match="official mpii_human_pose_v1_u12_1.mat"):
        pckh(train["joints"], train["joints"], train["visibility"], train["head_box"])


def test_evaluation_and_drawing_import_no_tensorflow():
    code = "import sys, mpii_pose.training.evaluation, mpii_pose.training.drawing; print('tensorflow' in sys.modules)"
    assert checked([sys.executable, "-c", code]).stdout.split() == ["False"]


def test_pckh_through_a_build_equals_the_float64_evaluation_of_the_source_at_a_tie(
    manual_dir, tmp_path
):
    """A prediction exactly 0.5 head sizes from a sub-pixel joint counts (`<=`, as HRNet and the
    official MATLAB code compare); float32 storage of that joint would move it past the threshold.
    """
    entries = read_json(manual_dir / "valid.json")
    mat = manual_dir / "gt_valid.mat"
    truth = parse_ground_truth(mat.read_bytes(), str(mat))
    # The first person's head: 30 x 40 px, head size 30, so that 0.5 head sizes is 15 px.
    x1, y1 = truth.head_boxes[0, :2]
    truth.head_boxes[0] = (x1, y1, x1 + 30, y1 + 40)
    mat.write_bytes(ground_truth_mat(truth.head_boxes, truth.joints, ~truth.missing))
    size = head_sizes(truth.head_boxes[:1])[0]
    joint = entries[0]["joints_vis"].index(1)
    x0, y = entries[0]["joints"][joint]

    def correct(gt: np.ndarray, prediction: np.ndarray) -> bool:
        """Whether `prediction` of the joint counts, as `pckh` decides."""
        gts, predictions = np.zeros((2, 1, 16, 2))
        gts[0, joint], predictions[0, joint] = gt, prediction
        labelled = np.arange(16)[None] == joint
        return pckh(predictions, gts, labelled, truth.head_boxes[:1]).correct[joint] == 1

    tie = None
    for k in range(1, 10_000):  # sub-pixel x within 1 px of the .mat's joint
        gt = np.array([np.floor(x0) + k / 10_000, y])
        prediction = gt + [0.5 * size, 0.0]
        at_threshold = np.linalg.norm(prediction - gt) / size == 0.5
        if at_threshold and correct(gt, prediction) and not correct(np.float32(gt), prediction):
            tie = (gt, prediction)
            break
    assert tie is not None, "no float32 tie found"
    entries[0]["joints"][joint] = list(tie[0])
    write_json(manual_dir / "valid.json", entries)
    builder = build(manual_dir, tmp_path)

    source = np.array([e["joints"] for e in entries], np.float64)
    labelled = np.array([e["joints_vis"] for e in entries], bool)
    predictions = source.copy()
    predictions[0, joint] = tie[1]
    accumulator = PCKhAccumulator()
    split = builder.as_dataset(split="validation", batch_size=4, decoders={"image": tfds.decode.SkipDecoding()})  # fmt: skip
    for batch in tfds.as_numpy(split):
        guesses = predictions[batch["annotation_index"]]
        accumulator.update(guesses, batch["joints"], batch["visibility"], batch["head_box"])
    expected = pckh(predictions, source, labelled, truth.head_boxes)
    assert accumulator.result() == expected
    assert expected.correct == expected.labelled  # the tie counts
    as_float32 = pckh(predictions, source.astype(np.float32), labelled, truth.head_boxes)
    assert as_float32 != expected  # what float32 storage gave
