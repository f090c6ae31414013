"""`mpii-pose score` and `submission_score`: MPII's PCKh of submission files, on generated .mat files."""

import json
import sys

import numpy as np
import pytest

from mpii_pose.base.skeleton import JOINT_NAMES, NUM_JOINTS
from mpii_pose.benchmark.scoring import (
    THRESHOLDS,
    ScoringError,
    matlab_colon,
    mpii_pckh,
    score_submission,
)
from mpii_pose.cli.main import main
from mpii_pose.sample.mat_writers import annolist_mat, cell, official_mat
from mpii_pose.sources.official_annotations import OfficialFormatError
from mpii_pose.training.evaluation import pckh
from tests.helpers import checked

# Head box 30 × 40: diagonal 50, head size 30, so PCKh@0.5 allows 15 pixels.
BOX = {"x1": 100.0, "y1": 100.0, "x2": 130.0, "y2": 140.0}
HEAD_SIZE = 30.0
GROUP_KEYS = ("head", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "ubody", "total")


def joints_of(seed: int) -> np.ndarray:
    """(16, 2) whole-pixel joints, 1-based."""
    return np.random.default_rng(seed).integers(50, 400, size=(NUM_JOINTS, 2)).astype(float)


def rect(joints: np.ndarray | None, objpos: bool = True) -> dict:
    """An annorect: head box, objpos and scale, and a point per joint that is not NaN."""
    points = []
    if joints is not None:
        points = [{"id": j, "x": x, "y": y} for j, (x, y) in enumerate(joints) if not np.isnan(x)]
    return {
        **BOX,
        "annopoints": points or None,
        "scale": 1.5,
        "objpos": {"x": 200.0, "y": 200.0} if objpos else None,
    }


def image(name: str, rects: list[dict], single=(), is_train: bool = False) -> dict:
    return {"name": name, "annorect": rects, "single_person": list(single), "is_train": is_train}


def gt_images(people: list[np.ndarray]) -> list[dict]:
    """A train image, then one test image per person (its single person), then a test image with
    a person that is not a single person."""
    images = [image("train.jpg", [rect(joints_of(99))], [1], is_train=True)]
    images += [image(f"{i}.jpg", [rect(p)], [1]) for i, p in enumerate(people)]
    return [*images, image("group.jpg", [rect(joints_of(98)), rect(joints_of(97))])]


def predicted(images: list[dict], predictions: list) -> list[dict]:
    """The test images of `images` with the single persons' points replaced by `predictions`,
    in order (None: no annopoints), the other rects' points left out, objpos kept."""
    found = iter(predictions)
    return [
        {
            **img,
            "annorect": [
                rect(
                    next(found) if r + 1 in img["single_person"] else None,
                    objpos=old["objpos"] is not None,
                )
                for r, old in enumerate(img["annorect"])
            ],
        }
        for img in images
        if not img["is_train"]
    ]


def scored(tmp_path, gt_images, pred_images, split="test", **pred_variables):
    truth = tmp_path / "gt.mat"
    truth.write_bytes(official_mat(gt_images))
    submission = tmp_path / "pred.mat"
    submission.write_bytes(annolist_mat(pred_images, "pred", **pred_variables))
    return score_submission(submission, truth, split)


def test_matlab_colon_counts_the_second_half_back_from_the_end():
    assert len(THRESHOLDS) == 51 and THRESHOLDS[0] == 0 and THRESHOLDS[-1] == 0.5
    assert THRESHOLDS[25] == 0.25
    for k in range(26, 51):
        assert THRESHOLDS[k] == 0.5 - (50 - k) * 0.01
    # numpy's values differ at five places; MATLAB's are those above
    assert list(np.flatnonzero(THRESHOLDS != np.arange(51) * 0.01)) == [29, 33, 34, 35, 47]
    assert list(matlab_colon(1.0, 0.5, 3.0)) == [1.0, 1.5, 2.0, 2.5, 3.0]


def test_a_perfect_submission_scores_100_everywhere(tmp_path):
    people = [joints_of(i) for i in range(3)]
    images = gt_images(people)
    result = scored(tmp_path, images, predicted(images, people))
    assert result.persons == 3
    assert np.all(result.curve == 100.0)
    values = result.to_json()
    for key in ("pckh@0.5", "pckh@0.1", "auc"):
        assert all(values[key][group] == pytest.approx(100.0) for group in GROUP_KEYS)


def random_case(seed: int, persons: int):
    """Ground truth with some joints missing and predictions near it (some NaN), (N, 16, 2)."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(50, 400, size=(persons, NUM_JOINTS, 2)).round()
    truth[rng.random((persons, NUM_JOINTS)) < 0.1] = np.nan
    guesses = truth + rng.normal(0, 12, size=truth.shape)
    guesses[np.isnan(truth)] = rng.uniform(50, 400)
    guesses[rng.random((persons, NUM_JOINTS)) < 0.05] = np.nan
    return truth, guesses


def assert_matches_evaluation(result, truth, guesses):
    boxes = np.tile([BOX["x1"], BOX["y1"], BOX["x2"], BOX["y2"]], (len(truth), 1))
    expected = pckh(guesses, np.nan_to_num(truth), ~np.isnan(truth[..., 0]), boxes)
    got = result.joints(0.5)
    for name in JOINT_NAMES:
        if name in ("pelvis", "thorax"):
            assert got[name] is None
        else:
            assert got[name] == pytest.approx(expected.per_joint[name], abs=1e-9)
    assert result.pckh(0.5)["Total"] == pytest.approx(expected.mean, abs=1e-9)
    assert 20 < expected.mean < 95  # neither all right nor all wrong


def test_the_test_split_agrees_with_evaluation_pckh(tmp_path):
    truth, guesses = random_case(1, 60)
    images = gt_images(list(truth))
    images.insert(5, image("between.jpg", [rect(joints_of(5))], [1], is_train=True))
    result = scored(tmp_path, images, predicted(images, list(guesses)))
    assert result.persons == 60
    assert_matches_evaluation(result, truth, guesses)


def test_the_validation_split_agrees_with_evaluation_pckh(tmp_path):
    truth, guesses = random_case(2, 40)
    # train images of two persons each; the second person of each is a validation person
    images = [
        image(f"v{i}.jpg", [rect(joints_of(100 + i)), rect(truth[i])], [2], is_train=True)
        for i in range(40)
    ]
    images.insert(0, image("other.jpg", [rect(joints_of(3))], [1], is_train=True))
    pred_images = [
        {**img, "annorect": [rect(None), rect(guess)]}
        for img, guess in zip(images[1:], guesses, strict=True)
    ]
    result = scored(
        tmp_path,
        images,
        pred_images,
        "validation",
        annolist_index=np.arange(2, 42, dtype=float)[None],
        scored_rects=cell([[2]] * 40),
    )
    assert result.persons == 40
    assert_matches_evaluation(result, truth, guesses)


def two_people():
    people = [joints_of(1), joints_of(2)]
    return people, gt_images(people)


def test_a_missing_point_counts_wrong(tmp_path):
    people, images = two_people()
    guess = people[0].copy()
    guess[JOINT_NAMES.index("right_wrist")] = np.nan  # no point of this id in pred
    result = scored(tmp_path, images, predicted(images, [guess, people[1]]))
    assert result.pckh(0.5)["Total"] == pytest.approx(100 * 27 / 28)
    assert result.pckh(0.5)["Wrist"] == pytest.approx(75.0)
    assert result.joints(0.5)["right_wrist"] == 50.0


def test_a_nan_prediction_counts_wrong(tmp_path):
    people, images = two_people()
    pred_images = predicted(images, people)
    point = pred_images[1]["annorect"][0]["annopoints"][JOINT_NAMES.index("left_knee")]
    point["x"] = point["y"] = float("nan")
    result = scored(tmp_path, images, pred_images)
    assert result.pckh(0.5)["Total"] == pytest.approx(100 * 27 / 28)
    assert result.joints(0.5)["left_knee"] == 50.0


def test_a_joint_without_ground_truth_is_left_out(tmp_path):
    people, _ = two_people()
    truth = people[0].copy()
    truth[JOINT_NAMES.index("left_ankle")] = np.nan
    images = gt_images([truth, people[1]])
    far = people[0].copy()
    far[JOINT_NAMES.index("left_ankle")] += 300  # would be wrong if scored
    far[JOINT_NAMES.index("head_top")] += 300  # wrong
    result = scored(tmp_path, images, predicted(images, [far, people[1]]))
    assert result.pckh(0.5)["Total"] == pytest.approx(100 * 26 / 27)
    assert result.joints(0.5)["left_ankle"] == 100.0
    assert result.pckh(0.5)["Head"] == pytest.approx((100 + 50) / 2)


def test_a_prediction_at_exactly_half_a_head_size_counts(tmp_path):
    people, images = two_people()
    # 9, 12: 15 pixels away, 0.5 head sizes exactly; 4.5, 6: 0.25 head sizes
    result = scored(
        tmp_path, images, predicted(images, [people[0] + [9, 12], people[1] + [4.5, 6]])
    )
    total = result.curve[:, -1]
    assert total[50] == 100.0 and total[49] == 50.0
    assert total[25] == 50.0 and total[24] == 0.0
    assert result.pckh(0.5)["Total"] == 100.0
    # the trapezoid rule over x = threshold / 0.5: one curve steps at 0.5, the other at 1
    assert result.auc == pytest.approx((51 + 1) / 2)


def test_a_zero_based_submission_scores_lower_on_tight_thresholds(tmp_path):
    people, images = two_people()
    one_based = scored(tmp_path, images, predicted(images, people))
    zero_based = scored(tmp_path, images, predicted(images, [p - 1 for p in people]))
    assert one_based.pckh(0.01)["Total"] == 100.0 and zero_based.pckh(0.01)["Total"] == 0.0
    assert zero_based.pckh(0.5)["Total"] == 100.0  # √2 pixels: right at 0.05 and above
    assert zero_based.auc < one_based.auc


def test_a_scored_rect_without_annopoints_is_all_wrong(tmp_path):
    people, images = two_people()
    result = scored(tmp_path, images, predicted(images, [None, people[1]]))
    assert result.pckh(0.5)["Total"] == 50.0
    assert all(value == 50.0 for value in result.pckh(0.5).values())


@pytest.mark.parametrize("change", ["drop", "add", "remove"])
def test_a_rect_whose_objpos_differs_from_the_ground_truth_is_refused(tmp_path, change):
    """MPII flattens pred by its own objpos but scores by the ground truth's."""
    people, images = two_people()
    images.insert(2, image("pair.jpg", [rect(people[0]), rect(people[1], objpos=False)], [1]))
    pred_images = predicted(images, [people[0], people[0], people[1]])
    pair = pred_images[1]["annorect"]
    if change == "drop":
        pair[0]["objpos"] = None
    elif change == "add":
        pair[1]["objpos"] = {"x": 1.0, "y": 1.0}
    else:
        pred_images[1]["annorect"] = []
    with pytest.raises(ScoringError) as caught:
        scored(tmp_path, images, pred_images)
    expected = {
        "drop": "pred(2).annorect(1) has no objpos, unlike annolist(3).annorect(1)",
        "add": "pred(2).annorect(2) has an objpos, unlike annolist(3).annorect(2)",
        "remove": "pred(2) lacks annorect(1), which annolist(3).annorect(1) of the ground "
        "truth has with an objpos",
    }[change]
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'pred.mat'}: {expected}")
    assert "score every later person against another person's ground truth" in message


def test_a_pred_of_the_wrong_length_is_refused(tmp_path):
    people, images = two_people()
    with pytest.raises(ScoringError, match=r"pred holds 2 entries, expected 3: one per test"):
        scored(tmp_path, images, predicted(images, people)[:2])


def test_a_pred_in_another_order_is_refused(tmp_path):
    people, images = two_people()
    pred_images = predicted(images, people)
    pred_images[0], pred_images[1] = pred_images[1], pred_images[0]
    with pytest.raises(ScoringError, match=r"pred\(1\).image.name is '1.jpg'.*'0.jpg'"):
        scored(tmp_path, images, pred_images)


def test_an_annolist_ground_truth_takes_the_split_from_the_official_file(tmp_path):
    people, images = two_people()
    guesses = [people[0] + [20, 0], people[1]]
    public = [
        img if img["is_train"] else {**img, "annorect": [rect(None) for _ in img["annorect"]]}
        for img in images
    ]
    (tmp_path / "annolist.mat").write_bytes(annolist_mat(images, "annolist"))
    (tmp_path / "official.mat").write_bytes(official_mat(public))
    (tmp_path / "pred.mat").write_bytes(annolist_mat(predicted(images, guesses), "pred"))
    result = score_submission(
        tmp_path / "pred.mat", tmp_path / "annolist.mat", official_mat=tmp_path / "official.mat"
    )
    assert result.persons == 2 and result.pckh(0.5)["Total"] == 50.0
    with pytest.raises(ScoringError, match="give the official .* with --official_mat"):
        score_submission(tmp_path / "pred.mat", tmp_path / "annolist.mat")
    with pytest.raises(OfficialFormatError, match="no struct 'RELEASE'"):
        score_submission(
            tmp_path / "pred.mat", tmp_path / "annolist.mat", official_mat=tmp_path / "pred.mat"
        )


def test_a_test_submission_is_not_a_validation_submission(tmp_path):
    people, images = two_people()
    with pytest.raises(ScoringError) as caught:
        scored(tmp_path, images, predicted(images, people), "validation")
    message = str(caught.value)
    assert "pred.mat has no annolist_index and no scored_rects" in message
    assert "not a validation submission written by `mpii-pose submit --split validation`" in message


def test_head_and_the_upper_body_follow_mpii_columns():
    truth = np.stack([joints_of(1)] * 2)
    guesses = truth.copy()
    guesses[0, JOINT_NAMES.index("upper_neck")] += 100
    guesses[:, JOINT_NAMES.index("pelvis")] += 100  # not scored
    guesses[0, JOINT_NAMES.index("left_wrist")] += 100
    result = mpii_pckh(guesses, truth, np.full(2, HEAD_SIZE))
    row = result.pckh(0.5)
    assert row["Head"] == 75.0 and row["Wrist"] == 75.0 and row["Shoulder"] == 100.0
    assert row["UBody"] == pytest.approx(100 * 11 / 12)
    assert row["Total"] == pytest.approx(100 * 26 / 28)


def write_case(tmp_path):
    people, images = two_people()
    (tmp_path / "gt.mat").write_bytes(official_mat(images))
    guesses = [people[0] + [0, 100], people[1]]
    (tmp_path / "pred.mat").write_bytes(annolist_mat(predicted(images, guesses), "pred"))
    return ["score", "--submission", str(tmp_path / "pred.mat")] + [
        "--ground_truth",
        str(tmp_path / "gt.mat"),
    ]


def test_the_command_prints_mpiis_table_without_tensorflow(tmp_path):
    code = (
        "import sys; from mpii_pose.cli.main import main; code = main(sys.argv[1:]); "
        "print('tensorflow' in sys.modules); sys.exit(code)"
    )
    out = checked([sys.executable, "-c", code, *write_case(tmp_path)]).stdout
    assert out.endswith("False\n")
    lines = out.splitlines()
    assert lines[0].split() == [
        "Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "UBody", "Total"
    ]  # fmt: skip
    assert lines[1].split() == ["PCKh@0.5", *["50.0"] * 7, "50.0", "50.0"]
    assert lines[3].split()[0] == "AUC"
    assert "2 persons. Head = mean(upper neck, head top), MPII's convention" in out


def test_the_command_prints_json_with_every_score(tmp_path, capsys):
    assert main([*write_case(tmp_path), "--json"]) == 0
    values = json.loads(capsys.readouterr().out)
    assert set(values) == {"pckh@0.5", "pckh@0.1", "auc", "persons"}
    assert values["persons"] == 2
    for key in ("pckh@0.5", "pckh@0.1", "auc"):
        assert set(values[key]) == {*GROUP_KEYS, "joints"}
        assert list(values[key]["joints"]) == list(JOINT_NAMES)
        assert values[key]["joints"]["pelvis"] is None and values[key]["joints"]["thorax"] is None
    assert values["pckh@0.5"]["total"] == 50.0 and values["pckh@0.5"]["joints"]["head_top"] == 50.0


def test_the_command_reports_a_bad_submission(tmp_path, capsys):
    args = write_case(tmp_path)
    (tmp_path / "pred.mat").write_bytes(b"not a mat file")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mpii-pose: error: {tmp_path / 'pred.mat'} (a submission): not a MATLAB")
