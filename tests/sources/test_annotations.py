"""Parsing and validation of the HRNet/mmpose JSON: values kept exactly, bad input named precisely."""

import json

import pytest

from mpii_pose.base.errors import AnnotationError
from mpii_pose.sources.annotations import parse_annotations

SOURCE = "/m/train.json"


def entry(**overrides):
    base = {
        "image": "015601864.jpg",
        "joints": [[float(600 + i), float(300 + i)] for i in range(16)],
        "joints_vis": [1] * 16,
        "center": [594.0, 257.0],
        "scale": 3.021,
    }
    base.update(overrides)
    return base


def parse(entries) -> tuple:
    return parse_annotations(json.dumps(entries), SOURCE)


def test_values_are_kept_exactly_as_in_the_json():
    joints = [[-1, -1]] + [[637.0201, 189.8183]] * 14 + [[12.0, -0.77553]]
    (person,) = parse([entry(joints=joints, joints_vis=[0] + [1] * 15, center=[1.5, 2], scale=2)])
    assert person.joints[0] == (-1.0, -1.0)
    assert person.joints[1] == (637.0201, 189.8183)  # sub-pixel, not truncated
    assert person.joints[15] == (12.0, -0.77553)  # a negative y keeps its own value
    assert person.labelled == (False,) + (True,) * 15
    assert person.center == (1.5, 2.0) and person.scale == 2.0


def test_indices_count_entries_and_persons_per_image():
    persons = parse(
        [entry(image="a.jpg"), entry(image="a.jpg"), entry(image="b.jpg"), entry(image="a.jpg")]
    )
    assert [p.annotation_index for p in persons] == [0, 1, 2, 3]
    assert [p.person_index for p in persons] == [0, 1, 0, 2]


def test_labelled_flag_accepts_booleans_and_integral_numbers():
    (person,) = parse([entry(joints_vis=[True, 0.0, 1.0] + [0] * 13)])
    assert person.labelled[:3] == (True, False, True)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{not json", "/m/train.json: not valid JSON"),
        (
            '{"image": "a.jpg"}',
            "/m/train.json: expected a JSON list of person entries, got an object",
        ),
        ("[1]", "/m/train.json, entry 0: expected a JSON object, got the number 1"),
    ],
)
def test_file_level_errors_name_the_file(text, expected):
    with pytest.raises(AnnotationError, match="^" + expected.replace("(", r"\(")):
        parse_annotations(text, SOURCE)


@pytest.mark.parametrize(
    "bad, expected",
    [
        ({"scale": None}, "'scale' must be a number, got null"),
        ({"joints": [[1, 2]] * 15}, "'joints' must be a list of 16 [x, y] pairs, got 15 items"),
        (
            {"joints": [[1, 2]] * 15 + [[1, 2, 3]]},
            "'joints[15]' must be a list [x, y] of 2 numbers, got 3 items",
        ),
        ({"joints": [[1, 2]] * 15 + [[1, "2"]]}, "'joints[15][1]' must be a number, got a string"),
        (
            {"joints": [[1, 2]] * 15 + [[float("nan"), 2]]},
            "'joints[15][0]' must be a finite number, got nan",
        ),
        ({"center": [1, float("inf")]}, "'center[1]' must be a finite number, got inf"),
        ({"center": 5}, "'center' must be a list [x, y] of 2 numbers, got the number 5"),
        (
            {"joints_vis": [1] * 17},
            "'joints_vis' must be a list of 16 flags (0 or 1), got 17 items",
        ),
        ({"joints_vis": [1] * 15 + [2]}, "'joints_vis[15]' must be 0 or 1, got 2"),
        ({"scale": 0}, "'scale' must be positive, got 0.0"),
        ({"scale": True}, "'scale' must be a number, got a boolean"),
        ({"image": 3}, "'image' must be a file name, got the number 3"),
    ],
)
def test_entry_errors_name_file_entry_and_expectation(bad, expected):
    entries = [entry(), entry(), entry(**bad)]
    with pytest.raises(AnnotationError) as info:
        parse(entries)
    assert str(info.value).startswith("/m/train.json, entry 2: ")
    assert expected in str(info.value)
    assert (info.value.path, info.value.index) == (SOURCE, 2)


def test_missing_keys_are_all_listed():
    bad = entry()
    del bad["center"], bad["scale"]
    with pytest.raises(AnnotationError, match=r"entry 0: missing key\(s\) 'center', 'scale'"):
        parse([bad])


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "../secret.jpg", "sub/../../x.jpg", "..", "C:/x.jpg", "a\\..\\b.jpg", ""],
)
def test_image_paths_outside_the_images_folder_are_refused(name):
    with pytest.raises(AnnotationError, match="entry 0: 'image' must be"):
        parse([entry(image=name)])


def test_image_paths_inside_subfolders_are_allowed():
    (person,) = parse([entry(image="batch1/015601864.jpg")])
    assert person.image == "batch1/015601864.jpg"


def test_errors_survive_pickling_for_worker_processes():
    import pickle

    err = AnnotationError.at(SOURCE, 4, "bad")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) == "/m/train.json, entry 4: bad"
    assert (again.path, again.index) == (SOURCE, 4)


def test_a_test_file_entry_may_leave_out_joints():
    test = {"image": "a.jpg", "center": [12.5, 3.0], "scale": 1.25}
    person, labelled_too = parse_annotations(
        json.dumps([test, entry(image="b.jpg")]), "/m/test.json", joints_optional=True
    )
    assert person.joints == ((-1.0, -1.0),) * 16 and person.labelled == (False,) * 16
    assert (person.center, person.scale) == ((12.5, 3.0), 1.25)
    assert labelled_too.labelled == (True,) * 16  # a test entry with joints keeps them


@pytest.mark.parametrize(
    "drop, optional, expected",
    [
        (("joints", "joints_vis"), False, "missing key(s) 'joints', 'joints_vis'; every entry"),
        (("joints_vis",), True, "missing key(s) 'joints_vis'; every entry needs"),
        (("center",), True, "missing key(s) 'center'; every entry needs"),
    ],
)
def test_only_a_test_file_entry_may_leave_out_both_joint_keys(drop, optional, expected):
    bad = {k: v for k, v in entry().items() if k not in drop}
    with pytest.raises(AnnotationError) as caught:
        parse_annotations(json.dumps([entry(), bad]), SOURCE, joints_optional=optional)
    assert str(caught.value).startswith(f"{SOURCE}, entry 1: {expected}")
    note = "only a test file's entries may leave out both joints and joints_vis"
    assert (note in str(caught.value)) == ("center" not in drop)
