"""MPII's submission file from predictions of a built split: every test image in annolist order,
each scored rect with its person's 16 points, every rect's fields kept; bad predictions refused
with nothing written."""

import io
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow_datasets as tfds
from scipy.io import loadmat

from mpii_pose.base.errors import MpiiPoseError
from mpii_pose.benchmark.predictions import PredictionsError
from mpii_pose.benchmark.scoring import score_submission
from mpii_pose.benchmark.submission import SubmissionError, write_submission
from mpii_pose.cli.main import main
from mpii_pose.sample import OFFICIAL_PATH, write_sample
from mpii_pose.sample.mat_writers import annolist_mat, official_images, official_mat
from mpii_pose.sources.mat_values import mat_bytes
from mpii_pose.sources.official_annotations import parse_official
from mpii_pose.training.evaluation import pckh
from tests.helpers import build, read_json


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sample's manual directory, a build of it, and the official persons."""
    root = tmp_path_factory.mktemp("submission")
    manual = write_sample(
        root / "manual", train_images=4, validation_images=5, test_images=6, seed=7
    )
    build(manual, root / "data", "local")
    official = parse_official((manual / OFFICIAL_PATH).read_bytes(), OFFICIAL_PATH)
    return manual, root / "data", official


def predictions_for(manual, split="test", seed=0):
    """Predictions of every person of the split's file near its objpos, in annotation_index order."""
    entries = read_json(manual / ("test.json" if split == "test" else "valid.json"))
    rng = np.random.default_rng(seed)
    return np.array([[e["center"]] * 16 for e in entries]) + rng.normal(0, 9, (len(entries), 16, 2))


def loaded(path):
    return loadmat(path, squeeze_me=False, struct_as_record=True)


def rect_points(rect) -> np.ndarray | None:
    """The (16, 2) points of a loaded rect, by id; None when it has none."""
    annopoints = rect["annopoints"]
    if annopoints.size == 0:
        return None
    points = annopoints[0, 0]["point"].ravel(order="F")
    out = np.full((16, 2), np.nan)
    for point in points:
        out[int(point["id"][0, 0])] = point["x"][0, 0], point["y"][0, 0]
    return out


def test_a_test_file_holds_every_test_image_in_annolist_order(built, tmp_path):
    manual, data_dir, official = built
    predictions = predictions_for(manual)
    np.save(tmp_path / "test.npy", predictions)
    out = tmp_path / "pred_keypoints_mpii.mat"
    report = write_submission(data_dir, tmp_path / "test.npy", out, manual_dir=manual)
    variables = loaded(out)
    assert [k for k in variables if not k.startswith("__")] == ["pred"]
    pred = variables["pred"].ravel(order="F")
    test_images = list(dict.fromkeys((p.image_index, p.image) for p in official if not p.is_train))
    assert [str(e["image"][0, 0]["name"][0]) for e in pred] == [name for _, name in test_images]
    assert report.images == len(test_images) == len(pred)
    entries = read_json(manual / "test.json")
    by_place = {(e["image"], tuple(e["center"])): i for i, e in enumerate(entries)}
    scored = 0
    for entry, (image_index, _) in zip(pred, test_images, strict=True):
        rects = entry["annorect"].ravel(order="F")
        records = [p for p in official if p.image_index == image_index]
        assert len(rects) == len(records)
        for rect, record in zip(rects, records, strict=True):
            objpos = rect["objpos"][0, 0]
            assert (objpos["x"][0, 0], objpos["y"][0, 0]) == record.objpos  # kept as stored
            assert rect["scale"][0, 0] == record.scale
            points = rect_points(rect)
            if record.single_person:
                scored += 1
                person = by_place[(record.image, record.objpos)]
                np.testing.assert_array_equal(points, predictions[person])
            else:
                assert points is None
    assert scored == report.scored == len(entries)  # the test file holds the single persons


def test_the_three_prediction_forms_give_the_same_bytes(built, tmp_path):
    manual, data_dir, _ = built
    predictions = predictions_for(manual)
    np.save(tmp_path / "p.npy", predictions)
    (tmp_path / "pred.mat").write_bytes(mat_bytes({"preds": predictions}))
    order = np.random.default_rng(1).permutation(len(predictions))  # as a shuffled dataset
    np.savez(tmp_path / "p.npz", annotation_index=order, preds=predictions[order])
    files = []
    for name in ("p.npy", "pred.mat", "p.npz"):
        out = tmp_path / f"{name}.submission.mat"
        write_submission(data_dir, tmp_path / name, out, manual_dir=manual)
        files.append(out.read_bytes())
    assert files[0] == files[1] == files[2]
    shuffled = predictions.copy()
    shuffled[[0, 1]] = shuffled[[1, 0]]
    np.save(tmp_path / "swapped.npy", shuffled)
    write_submission(
        data_dir, tmp_path / "swapped.npy", tmp_path / "swapped.mat", manual_dir=manual
    )
    assert (tmp_path / "swapped.mat").read_bytes() != files[0]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: p[:, :15], r"must have shape \(N, 16, 2\)"),
        (lambda p: p.transpose(2, 1, 0), r"looks transposed"),
        (lambda p: np.where(np.arange(16)[None, :, None] == 3, np.nan, p), r"NaN or infinite"),
        (lambda p: p[:-1], r"rows of predictions, but the split has \d+ persons"),
    ],
    ids=["shape", "transposed", "nan", "rows"],
)
def test_bad_predictions_are_refused_and_nothing_is_written(built, tmp_path, change, message):
    manual, data_dir, _ = built
    np.save(tmp_path / "p.npy", change(predictions_for(manual)))
    out = tmp_path / "pred_keypoints_mpii.mat"
    with pytest.raises(PredictionsError, match=message):
        write_submission(data_dir, tmp_path / "p.npy", out, manual_dir=manual)
    assert list(tmp_path.iterdir()) == [tmp_path / "p.npy"]


def test_a_scored_person_without_prediction_is_refused_by_name(built, tmp_path):
    manual, data_dir, _ = built
    predictions = predictions_for(manual)
    np.savez(
        tmp_path / "p.npz", annotation_index=np.arange(1, len(predictions)), preds=predictions[1:]
    )
    first = read_json(manual / "test.json")[0]["image"]
    with pytest.raises(SubmissionError, match=rf"1 of the \d+ test persons MPII scores .* {first}"):
        write_submission(data_dir, tmp_path / "p.npz", tmp_path / "out.mat", manual_dir=manual)
    np.savez(tmp_path / "twice.npz", annotation_index=np.zeros(2, int), preds=predictions[:2])
    with pytest.raises(PredictionsError, match="more than one row"):
        write_submission(data_dir, tmp_path / "twice.npz", tmp_path / "out.mat", manual_dir=manual)
    assert not (tmp_path / "out.mat").exists()


def test_another_official_file_is_refused(built, tmp_path):
    """The indices are positions in the build's official .mat: a file of other content is not it."""
    manual, data_dir, _ = built
    np.save(tmp_path / "p.npy", predictions_for(manual))
    other = tmp_path / "other.mat"
    other.write_bytes((manual / OFFICIAL_PATH).read_bytes() + b"\0")
    with pytest.raises(SubmissionError, match=r"no file with that content was found"):
        write_submission(data_dir, tmp_path / "p.npy", tmp_path / "o.mat", official_mat=other)
    # Found in the build's manual directory by default, or named.
    write_submission(
        data_dir, tmp_path / "p.npy", tmp_path / "o.mat", official_mat=manual / OFFICIAL_PATH
    )
    assert (tmp_path / "o.mat").exists()


def test_an_official_file_without_single_person_is_refused(tmp_path):
    manual = write_sample(tmp_path / "manual", 2, 2, seed=2, test_images=2)
    path = manual / OFFICIAL_PATH
    release = loadmat(io.BytesIO(path.read_bytes()), squeeze_me=False)["RELEASE"]
    names = [n for n in release.dtype.names if n != "single_person"]
    stripped = np.empty((1, 1), dtype=[(n, object) for n in names])
    stripped[0, 0] = tuple(release[0, 0][n] for n in names)
    path.write_bytes(mat_bytes({"RELEASE": stripped}))
    build(manual, tmp_path / "data", "local")  # the build goes on without official fields
    np.save(tmp_path / "p.npy", predictions_for(manual))
    with pytest.raises(MpiiPoseError, match="RELEASE has no field single_person"):
        write_submission(
            tmp_path / "data", tmp_path / "p.npy", tmp_path / "o.mat", manual_dir=manual
        )


def test_shuffled_or_0_based_predictions_are_warned_about(built, tmp_path):
    manual, data_dir, _ = built
    predictions = predictions_for(manual)
    by_x = np.argsort(predictions[:, 7, 0])  # each person given the prediction of its mirror in x
    mirrored = predictions.copy()
    mirrored[by_x] = predictions[by_x[::-1]]
    np.save(tmp_path / "reversed.npy", mirrored)
    report = write_submission(
        data_dir, tmp_path / "reversed.npy", tmp_path / "r.mat", manual_dir=manual
    )
    assert any("annotation_index order" in w for w in report.warnings)
    joints = np.array([e["joints"] for e in read_json(manual / "valid.json")])
    np.save(tmp_path / "zero.npy", joints - 1)
    report = write_submission(
        data_dir, tmp_path / "zero.npy", tmp_path / "z.mat", manual_dir=manual, split="validation"
    )
    assert [w for w in report.warnings if "0-based" in w]
    np.save(tmp_path / "one.npy", joints)
    report = write_submission(
        data_dir, tmp_path / "one.npy", tmp_path / "o.mat", manual_dir=manual, split="validation"
    )
    assert report.warnings == ()


def test_a_validation_file_lists_the_images_and_rects_of_its_persons(built, tmp_path):
    manual, data_dir, official = built
    joints = np.array([e["joints"] for e in read_json(manual / "valid.json")], dtype=float)
    out = tmp_path / "val.mat"
    write_submission(data_dir, joints, out, manual_dir=manual, split="validation")
    variables = loaded(out)
    images = variables["annolist_index"].ravel().astype(int)
    rects = [r.ravel().astype(int).tolist() for r in variables["scored_rects"].ravel()]
    valid_images = {e["image"] for e in read_json(manual / "valid.json")}
    expected = sorted(
        (p.image_index + 1, p.rect_index + 1) for p in official if p.image in valid_images
    )
    assert [(i, r) for i, rs in zip(images, rects, strict=True) for r in rs] == expected
    assert list(images) == sorted(images)  # annolist order


def test_the_cli_writes_the_file_and_says_what_next(built, tmp_path, capsys):
    manual, data_dir, _ = built
    np.save(tmp_path / "p.npy", predictions_for(manual))
    out = tmp_path / "sub" / "pred_keypoints_mpii.mat"
    args = ["submit", "--data_dir", str(data_dir), "--predictions", str(tmp_path / "p.npy")]
    assert main([*args, "--out", str(out), "--manual_dir", str(manual)]) == 0
    said = capsys.readouterr().out
    assert f"Wrote {out}: 'pred' with 6 test images" in said
    assert "72 hours apart" in said and out.exists()
    empty_manual = tmp_path / "empty"
    empty_manual.mkdir()
    out.unlink()
    assert main([*args, "--out", str(out), "--manual_dir", str(empty_manual)]) == 1
    assert "--official_mat" in capsys.readouterr().err and not out.exists()
    shutil.rmtree(empty_manual)


def test_submit_then_score_on_validation_gives_evaluation_s_numbers(built, tmp_path):
    """The whole path, as a user checks it before emailing MPII: predictions collected through
    tfds.load, written by submit, scored by score against the official file, equal
    mpii_pose.training.evaluation's PCKh of the same predictions, joint by joint and in total."""
    manual, data_dir, _ = built
    validation = tfds.load(
        "mpii_pose",
        data_dir=str(data_dir),
        split="validation",
        decoders={"image": tfds.decode.SkipDecoding()},
    )
    examples = list(tfds.as_numpy(validation))
    rng = np.random.default_rng(3)
    joints = np.stack([e["joints"] for e in examples])
    preds = joints + rng.normal(0, 6, joints.shape)  # some within 0.1 head sizes, some beyond 0.5
    index = np.array([e["annotation_index"] for e in examples])
    np.savez(tmp_path / "val.npz", annotation_index=index, preds=preds)
    out = tmp_path / "val.mat"
    args = ["--data_dir", str(data_dir), "--predictions", str(tmp_path / "val.npz")]
    args += ["--manual_dir", str(manual), "--split", "validation", "--out", str(out)]
    assert main(["submit", *args]) == 0
    scored = score_submission(out, manual / OFFICIAL_PATH, split="validation").to_json()
    expected = pckh(
        preds,
        joints,
        np.stack([e["visibility"] for e in examples]),
        np.stack([e["head_box"] for e in examples]),
    )
    assert scored["persons"] == len(examples)
    for threshold, result in (("pckh@0.5", expected), ("pckh@0.1", None)):
        if result is None:
            result = pckh(
                preds,
                joints,
                np.stack([e["visibility"] for e in examples]),
                np.stack([e["head_box"] for e in examples]),
                threshold=0.1,
            )
        per_joint = {k: v for k, v in result.per_joint.items() if k not in ("pelvis", "thorax")}
        assert {k: v for k, v in scored[threshold]["joints"].items() if v is not None} == per_joint
        assert scored[threshold]["total"] == result.mean
    assert 0 < scored["pckh@0.1"]["total"] < scored["pckh@0.5"]["total"] < 100


@pytest.mark.skipif(
    shutil.which("octave-cli") is None,
    reason="Octave is not installed here (.ci/run installs it where apt-get can)",
)
def test_octave_reads_the_file_as_mpii_s_evaluation_does(built, tmp_path):
    """MATLAB's view of the file: `pred` a 1×N struct array of the test images, each scored rect's
    `annopoints.point` 16 structs with id, x, y; the rects with objpos in the same places as in
    the official file (MPII pairs persons by their order among those)."""
    manual, data_dir, official = built
    predictions = predictions_for(manual)
    out = tmp_path / "pred_keypoints_mpii.mat"
    write_submission(data_dir, predictions, out, manual_dir=manual)
    script = tmp_path / "read.m"
    script.write_text(
        "load('pred_keypoints_mpii.mat', 'pred');\n"
        "printf('%s %d\\n', class(pred), numel(pred));\n"
        "for i = 1:numel(pred)\n"
        "  for r = 1:numel(pred(i).annorect)\n"
        "    rect = pred(i).annorect(r);\n"
        "    placed = isfield(rect, 'objpos') && ~isempty(rect.objpos);\n"
        "    if isempty(rect.annopoints)\n"
        "      printf('%s %d %d none\\n', pred(i).image.name, r, placed);\n"
        "    else\n"
        "      p = rect.annopoints.point;\n"
        "      printf('%s %d %d %s %.6f %.6f\\n', pred(i).image.name, r, placed, "
        "mat2str([p.id]), p(8).x, p(8).y);\n"
        "    end\n"
        "  end\n"
        "end\n"
    )
    result = subprocess.run(
        ["octave-cli", "--no-gui", "--quiet", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    test_rects = [p for p in official if not p.is_train]
    assert lines[0] == f"struct {len({p.image_index for p in test_rects})}", result.stderr
    entries = read_json(manual / "test.json")
    by_place = {(e["image"], tuple(e["center"])): i for i, e in enumerate(entries)}
    expected = []
    for p in test_rects:
        head = f"{p.image} {p.rect_index + 1} 1"
        if p.single_person:
            x, y = predictions[by_place[(p.image, p.objpos)], 7]
            expected.append(f"{head} {list(range(16))} {x:.6f} {y:.6f}".replace(", ", " "))
        else:
            expected.append(f"{head} none")
    assert lines[1:] == expected


def test_an_array_record_build_gives_the_same_file(built, tmp_path):
    """ArrayRecord builds have no tf.data reader: their persons are read through data_source."""
    manual, data_dir, _ = built
    build(manual, tmp_path / "data", "local", file_format="array_record")
    predictions = predictions_for(manual)
    files = []
    for root in (data_dir, tmp_path / "data"):
        out = tmp_path / f"{root.name}-{len(files)}.mat"
        write_submission(root, predictions, out, manual_dir=manual)
        files.append(out.read_bytes())
    assert files[0] == files[1]


def test_the_official_file_s_quirks_keep_every_person_in_place(tmp_path):
    """As in MPII's file: a test image without persons, a rect without objpos before the scored
    ones (MPII's evaluation skips it when pairing), integer objpos: the written file keeps each,
    and MPII's scoring of it, against ground truth at the predictions, is perfect for exactly the
    single persons."""
    manual = write_sample(tmp_path / "manual", 2, 2, seed=4, test_images=3)
    path = manual / OFFICIAL_PATH
    images = official_images(parse_official(path.read_bytes(), OFFICIAL_PATH))
    quirky = next(im for im in images if not im["is_train"] and im["single_person"])
    for rect in quirky["annorect"]:
        rect["objpos"] = {k: np.array([[v]], np.uint16) for k, v in rect["objpos"].items()}
    quirky["annorect"].insert(0, {"scale": 1.5})  # no objpos: not a person MPII can score
    quirky["single_person"] = [1] + [r + 1 for r in quirky["single_person"]]  # 1: not scored
    images.insert(1, {"name": "999999999.jpg", "is_train": False})  # no annorect at all
    path.write_bytes(official_mat(images))
    build(manual, tmp_path / "data", "local")
    predictions = predictions_for(manual)
    out = tmp_path / "pred_keypoints_mpii.mat"
    report = write_submission(tmp_path / "data", predictions, out, manual_dir=manual)
    pred = loaded(out)["pred"].ravel(order="F")
    tests = [im for im in images if not im["is_train"]]
    assert [str(e["image"][0, 0]["name"][0]) for e in pred] == [im["name"] for im in tests]
    assert pred[0]["annorect"].size == 0 or pred[1]["annorect"].size == 0
    written = pred[tests.index(quirky)]["annorect"].ravel(order="F")
    assert written[0]["objpos"].size == 0 and rect_points(written[0]) is None
    assert written[1]["objpos"][0, 0]["x"].dtype == np.uint16  # as stored
    single = sum(len(im.get("single_person", ())) for im in tests) - 1  # with an objpos
    assert report.scored == single == len(predictions)
    truth = list(images)  # MPII's ground truth: test persons' points where predicted, head boxes
    for k, image in enumerate(tests):
        rects = [
            {**rect, "x1": 0.0, "y1": 0.0, "x2": 30.0, "y2": 40.0}
            | ({"annopoints": points_of(pred, k, r)} if "objpos" in rect else {})
            for r, rect in enumerate(image.get("annorect", []))
        ]
        truth[images.index(image)] = {**image, "annorect": rects} if rects else image
    (tmp_path / "truth.mat").write_bytes(annolist_mat(truth))
    scored = score_submission(out, tmp_path / "truth.mat", official_mat=path)
    assert scored.persons == single
    assert scored.to_json()["pckh@0.1"]["total"] == 100.0


def points_of(pred, image: int, rect: int) -> list[dict]:
    """The points written in pred(image).annorect(rect) (from 0), as the .mat writers take
    them; none for a rect without."""
    points = rect_points(pred[image]["annorect"].ravel(order="F")[rect])
    if points is None:
        return []
    return [{"id": j, "x": float(x), "y": float(y)} for j, (x, y) in enumerate(points)]
