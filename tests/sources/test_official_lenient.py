"""The official .mat enriches and never blocks: what is not the official layout leaves the persons
it concerns unknown, counted per kind; shapes the real file has are read; strict mode refuses."""

import io
import logging

import numpy as np
import pytest
import tensorflow_datasets as tfds
from scipy.io import loadmat, savemat

from mpii_pose import Builder
from mpii_pose.sample import OFFICIAL_PATH
from mpii_pose.sample.mat_writers import official_mat
from mpii_pose.sources.official_annotations import OfficialFormatError, Problems, parse_official
from tests.helpers import BIN, ENV, build, read_json, run
from tests.official_cases import (
    MALFORMED,
    SOURCE,
    joints_of,
    one,
    parse,
    points,
    rect,
)


def rects_of(images: list[dict]) -> list[tuple[int, int]]:
    """(image index, rect index) of every person the images hold."""
    return [(i, r) for i, image in enumerate(images) for r in range(len(image.get("annorect", [])))]


@pytest.mark.parametrize("images, index, expected", MALFORMED)
def test_a_malformed_value_leaves_out_its_person_or_image_and_is_counted(images, index, expected):
    problems = Problems()
    persons = parse_official(official_mat(images), SOURCE, problems)
    ((kind, count),) = problems.counts.items()
    first = problems.first[kind]
    assert count == 1 and str(first) == f"{SOURCE}, entry {index}: {expected}"
    kept = [(p.image_index, p.rect_index) for p in persons]
    if problems.left_out[kind] == "a person":
        rect_index = int(first.where.split(".annorect[")[1].split("]")[0])
        assert kept == [r for r in rects_of(images) if r != (index, rect_index)]
    else:
        assert problems.left_out[kind] == "an image (all its persons)"
        assert kept == [r for r in rects_of(images) if r[0] != index]


def truncated() -> bytes:
    data = official_mat([{"name": "a.jpg", "annorect": [rect()]}])
    return data[: len(data) // 2]


def wrong_act_count() -> bytes:
    release = loadmat(io.BytesIO(official_mat([{"name": "a.jpg"}, {"name": "b.jpg"}])))["RELEASE"]
    release[0, 0]["act"] = release[0, 0]["act"][:1]
    out = io.BytesIO()
    savemat(out, {"RELEASE": release})
    return out.getvalue()


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", "not a MATLAB 5 .mat file"),
        (truncated(), "not a MATLAB 5 .mat file"),
        (wrong_act_count(), "RELEASE.act: must hold one struct per image (2), got 1"),
    ],
    ids=["empty", "truncated", "act count"],
)
def test_a_file_that_cannot_be_read_leaves_every_person_out(data, expected):
    with pytest.raises(OfficialFormatError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        parse_official(data, SOURCE)
    problems = Problems()
    assert parse_official(data, SOURCE, problems) == ()
    assert sum(problems.counts.values()) == 1
    assert list(problems.left_out.values()) == ["the whole file (every person)"]


def test_counts_per_kind_with_the_first_position():
    broken = [
        {"name": "a.jpg", "annorect": [rect(x2=None), rect(), rect(y1=None)]},
        {"name": "b.jpg", "annorect": [rect(annopoints=points(joints_of()[:3]) + [{"id": 99}])]},
        {"name": "c.jpg", "annorect": [rect(x1=None)]},
    ]
    problems = Problems()
    persons = parse_official(official_mat(broken), SOURCE, problems)
    assert [(p.image, p.rect_index) for p in persons] == [("a.jpg", 1)]
    assert sorted(problems.counts.values()) == [1, 3]
    lines = problems.lines()
    assert lines[0] == (
        f"3 × a person left out of {SOURCE}: a head box needs all of x1, y1, x2, y2 or none, got "
        "only x1, y1, y2 (first at annolist[0].annorect[0])"
    )
    assert (
        "1 × a person" in lines[1] and "annolist[1].annorect[0].annopoints.point[3].id" in lines[1]
    )


# --- shapes the real file has ------------------------------------------------------------------


def test_points_out_of_id_order():
    shuffled = [
        points(joints_of())[i] for i in (9, 0, 15, 3, 8, 1, 2, 4, 5, 6, 7, 10, 11, 12, 13, 14)
    ]
    person = one(rect(annopoints={"point": shuffled}))
    assert person.joints == tuple(joints_of())


def test_neck_and_head_top_with_an_empty_is_visible():
    stored = points(joints_of())
    for neck_or_top in (8, 9):
        stored[neck_or_top]["is_visible"] = None
    person = one(rect(annopoints={"point": stored}))
    assert person.is_visible == tuple(None if j in (8, 9) else True for j in range(16))
    assert person.labelled == (True,) * 16


def rewritten(data: bytes, edit) -> bytes:
    """`data` loaded, changed in place by `edit(release)`, and saved again."""
    release = loadmat(io.BytesIO(data))["RELEASE"]
    edit(release[0, 0])
    out = io.BytesIO()
    savemat(out, {"RELEASE": release})
    return out.getvalue()


def test_integer_coordinates_stored_as_uint8_and_uint16_beside_floats():
    def to_integers(release):
        person = release["annolist"][0, 0]["annorect"][0, 0]
        person["x1"] = np.array([[627]], np.uint16)
        point = person["annopoints"][0, 0]["point"][0, 3]
        point["x"], point["y"] = np.array([[603]], np.uint16), np.array([[200]], np.uint8)

    data = rewritten(official_mat([{"name": "a.jpg", "annorect": [rect()]}]), to_integers)
    (person,) = parse_official(data, SOURCE)
    assert person.joints[3] == (603.0, 200.0) and person.joints[4] == joints_of()[4]
    assert person.head_box == (627.0, 100.0, 706.0, 198.0)


def test_empty_frame_sec_and_vididx_and_extra_test_fields():
    test_person = {"scale": 2.0, "objpos": {"x": 5.0, "y": 6.0}}
    extra = {f"{part}_r11": None for part in ("head", "torso")} | {"part_occ1": None}
    images = [
        {"name": "a.jpg", "annorect": [rect()], "frame_sec": None, "vididx": None},
        {"name": "t.jpg", "annorect": [test_person | extra], "is_train": 0, "frame_sec": 3.0},
    ]
    train, test = parse(images)
    assert train.joints == tuple(joints_of()) and not test.is_train
    assert (test.objpos, test.scale, test.head_box) == ((5.0, 6.0), 2.0, None)


def test_as_many_annolist_act_and_single_person_entries_as_the_real_file():
    images = [{"name": f"{i:09d}.jpg"} for i in range(24_987)]
    images[24_986] = {"name": "last.jpg", "annorect": [rect()], "single_person": [1]}
    (person,) = parse_official(official_mat(images), SOURCE)
    assert (person.image, person.image_index, person.single_person) == ("last.jpg", 24_986, True)


# --- builds -----------------------------------------------------------------------------------


def break_official(manual_dir) -> None:
    """Two persons of the first train image with problems of two kinds in the official .mat."""
    path = manual_dir / OFFICIAL_PATH

    def edit(release):
        first = release["annolist"][0, 0]["annorect"]
        first[0, 0]["x2"] = np.zeros((0, 0))  # a partial head box
        point = first[0, -1]["annopoints"][0, 0]["point"][0, 0]
        point["id"] = np.array([[16.0]])  # a joint id out of range

    path.write_bytes(rewritten(path.read_bytes(), edit))


def test_a_build_goes_on_with_one_warning_per_kind(manual_dir, tmp_path, caplog):
    first_image = read_json(manual_dir / "train.json")[0]["image"]
    persons_of_first = sum(e["image"] == first_image for e in read_json(manual_dir / "train.json"))
    assert persons_of_first >= 2
    break_official(manual_dir)
    with caplog.at_level(logging.WARNING, logger="mpii_pose"):
        builder = build(manual_dir, tmp_path)
    left_out = [r.getMessage() for r in caplog.records if "left out of" in r.getMessage()]
    assert len(left_out) == 2, left_out
    assert any("1 × a person" in m and "a head box needs all" in m for m in left_out)
    assert any("1 × a person" in m and "expected a joint id from 0 to 15" in m for m in left_out)
    examples = tfds.as_numpy(builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()}))  # fmt: skip
    unknown = [
        e for e in examples if e["filename"].decode() == first_image and e["activity"] == b""
    ]
    assert len(unknown) == 2  # the two persons left out; the image's others keep their values


def test_strict_official_stops_the_build_with_the_position(manual_dir, tmp_path):
    break_official(manual_dir)
    config = tfds.download.DownloadConfig(manual_dir=str(manual_dir))
    with pytest.raises(OfficialFormatError, match=r"entry 0: annolist\[0\].annorect\[0\]: a head"):
        Builder(data_dir=str(tmp_path), strict_official=True).download_and_prepare(
            download_config=config
        )
    args = [
        BIN / "mpii-pose",
        "build",
        "--manual_dir",
        manual_dir,
        "--data_dir",
        tmp_path,
        "--quiet",
    ]
    result = run([*args, "--strict_official"])
    assert result.returncode == 1 and "a head box needs all of x1, y1, x2, y2" in result.stderr
    result = run(args, env={**ENV, "MPII_POSE_STRICT_OFFICIAL": "1"})
    assert result.returncode == 1 and "a head box needs all of x1, y1, x2, y2" in result.stderr
