"""The official mpii_human_pose_v1_u12_1.mat: values as stored, every quirk, errors named precisely."""

import io
import math

import numpy as np
import pytest
from scipy.io import loadmat, savemat

from mpii_pose.base.errors import AnnotationError
from mpii_pose.sample.mat_writers import official_images, official_mat
from mpii_pose.sources.official_annotations import OfficialPerson, parse_official

SOURCE = "/m/mpii_human_pose_v1_u12_1.mat"
NONE16 = (None,) * 16
NO_HEAD_BOX = {"x1": None, "y1": None, "x2": None, "y2": None}


def joints_of(shift: float = 0.0) -> list[tuple[float, float]]:
    """16 sub-pixel joints, one of them with a negative y as the real data has."""
    return [(600.0 + i + shift, 300.25 + i) for i in range(15)] + [(637.0201 + shift, -0.77553)]


def points(joints, visible=1) -> list[dict]:
    return [{"id": i, "x": x, "y": y, "is_visible": visible} for i, (x, y) in enumerate(joints)]


def rect(**overrides) -> dict:
    base = {
        "x1": 627.0,
        "y1": 100.0,
        "x2": 706.0,
        "y2": 198.0,
        "annopoints": {"point": points(joints_of())},
        "scale": 3.021046176409755,
        "objpos": {"x": 594.0, "y": 257.0},
    }
    base.update(overrides)
    return base


def parse(images, **kwargs) -> tuple[OfficialPerson, ...]:
    return parse_official(official_mat(images, **kwargs), SOURCE)


def one(rect_fields: dict) -> OfficialPerson:
    (person,) = parse([{"name": "a.jpg", "annorect": [rect_fields]}])
    return person


# --- values as stored -------------------------------------------------------------------------


def test_round_trip_keeps_values_exactly_as_stored():
    act = {"cat_name": "sports", "act_name": "curling", "act_id": 1.0}
    visible = [1, 0] * 8
    second = points(joints_of(40.0))
    for point, flag in zip(second, visible, strict=True):
        point["is_visible"] = flag
    images = [
        {"name": "015601864.jpg", "annorect": [rect(), rect(annopoints=second, scale=1.5)]}
        | {"single_person": [2], "act": act, "is_train": True},
        {"name": "005808361.jpg", "annorect": [rect()], "is_train": False},
    ]
    first, other, third = parse(images)
    assert (first.image, first.image_index, first.rect_index) == ("015601864.jpg", 0, 0)
    assert (other.image, other.image_index, other.rect_index) == ("015601864.jpg", 0, 1)
    assert (third.image, third.image_index, third.rect_index) == ("005808361.jpg", 1, 0)
    assert first.joints == tuple(joints_of())  # 1-based, sub-pixel and negative values kept
    assert first.joints[15] == (637.0201, -0.77553)
    assert other.joints == tuple(joints_of(40.0))
    assert first.is_visible == (True,) * 16
    assert other.is_visible == tuple(bool(v) for v in visible)
    assert first.head_box == (627.0, 100.0, 706.0, 198.0)
    assert first.objpos == (594.0, 257.0)
    assert first.scale == 3.021046176409755 and other.scale == 1.5
    assert (first.single_person, other.single_person, third.single_person) == (False, True, False)
    assert (first.activity, first.category, first.activity_id) == ("curling", "sports", 1)
    assert (third.activity, third.category, third.activity_id) == ("", "", -1)
    assert first.is_train and not third.is_train
    assert first.labelled == (True,) * 16 and first.annotated
    assert other.where == "annolist[0].annorect[1]"


def test_persons_written_back_read_back_equal():
    persons = parse(
        [
            {"name": "a.jpg", "annorect": [rect(), rect(annopoints=None, **NO_HEAD_BOX)]}
            | {"single_person": [1]},
            {"name": "b.jpg", "annorect": [rect(objpos=None, scale=None)], "is_train": False},
        ]
    )
    assert parse_official(official_mat(official_images(persons)), SOURCE) == persons


def test_a_hand_built_file_in_the_official_layout():
    """Built with savemat directly (not the module's writer), with MATLAB's types: uint8 flags,
    char is_visible, an annorect without annopoints field, a 1×1 annorect and 1×1 point."""

    def struct(shape, **fields):
        array = np.zeros(shape, dtype=[(name, object) for name in fields])
        for name, values in fields.items():
            for i, value in enumerate(values):
                array[name].reshape(-1)[i] = value
        return array

    empty = np.zeros((0, 0))
    point = struct(
        (1, 3),
        id=[np.array([[0]], np.uint8), np.array([[9]], np.uint8), np.array([[13]], np.uint8)],
        x=[np.array([[620.0]]), np.array([[695.9799]]), np.array([[692.0]])],
        y=[np.array([[394.0]]), np.array([[108.1817]]), np.array([[185.0]])],
        is_visible=[np.array([[1]], np.uint8), "0", empty],
    )
    lone_point = struct((1, 1), id=[np.array([[7.0]])], x=[1.5], y=[2.5], is_visible=["1"])
    rects_a = struct(
        (1, 2),
        x1=[np.array([[627.0]]), empty],
        y1=[np.array([[100.0]]), empty],
        x2=[np.array([[706.0]]), empty],
        y2=[np.array([[198.0]]), empty],
        annopoints=[struct((1, 1), point=[point]), struct((1, 1), point=[lone_point])],
        scale=[np.array([[3.021046176409755]]), empty],
        objpos=[struct((1, 1), x=[np.array([[594.0]])], y=[np.array([[257.0]])]), empty],
    )
    rects_b = struct((1, 1), scale=[np.array([[2.0]])], objpos=[struct((1, 1), x=[10.0], y=[20.0])])
    names = ["015601864.jpg", "015599452.jpg", "005808361.jpg"]
    annolist = struct(
        (1, 3),
        image=[struct((1, 1), name=[name]) for name in names],
        annorect=[rects_a, np.zeros((0, 0), dtype=[("scale", object)]), rects_b],
        frame_sec=[empty] * 3,
        vididx=[empty] * 3,
    )
    single = np.empty((3, 1), dtype=object)
    for i, value in enumerate([np.array([[1], [2]], np.uint8), empty, np.array([[1]], np.uint8)]):
        single[i, 0] = value
    act = struct(
        (3, 1),
        cat_name=["sports", empty, empty],
        act_name=["curling", empty, empty],
        act_id=[np.array([[1.0]]), np.array([[-1.0]]), np.array([[-1.0]])],
    )
    release = struct(
        (1, 1),
        annolist=[annolist],
        img_train=[np.array([[1, 1, 0]], np.uint8)],
        version=["12"],
        single_person=[single],
        act=[act],
        video_list=[np.array([["vid"]], dtype=object)],
    )
    out = io.BytesIO()
    savemat(out, {"RELEASE": release})

    a, lone, test = parse_official(out.getvalue(), SOURCE)
    assert a.joints[0] == (620.0, 394.0) and a.joints[9] == (695.9799, 108.1817)
    assert a.joints[13] == (692.0, 185.0)
    assert sum(a.labelled) == 3
    assert (a.is_visible[0], a.is_visible[9], a.is_visible[13]) == (True, False, None)
    assert a.head_box == (627.0, 100.0, 706.0, 198.0)
    assert a.objpos == (594.0, 257.0) and a.scale == 3.021046176409755
    assert (a.activity, a.category, a.activity_id) == ("curling", "sports", 1)
    assert lone.joints[7] == (1.5, 2.5) and lone.is_visible[7] is True
    assert (lone.head_box, lone.objpos, lone.scale) == (None, None, None)
    assert a.single_person and lone.single_person and test.single_person
    assert (test.image, test.image_index, test.is_train) == ("005808361.jpg", 2, False)
    assert test.joints == NONE16 and not test.annotated and test.head_box is None
    assert (test.objpos, test.scale, test.activity_id, test.activity) == ((10.0, 20.0), 2.0, -1, "")


# --- quirks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stored, expected",
    [(1, True), (0, False), (1.0, True), (None, None), ("1", True), ("0", False), ("", None)],
)
def test_is_visible_forms(stored, expected):
    person = one(rect(annopoints={"point": points(joints_of(), stored)}))
    assert person.is_visible == (expected,) * 16
    assert person.labelled == (True,) * 16  # an unknown visibility still is an annotated joint


def test_is_visible_field_missing_is_unknown():
    person = one(rect(annopoints=[{"id": 3, "x": 5.0, "y": 6.0}]))
    assert person.joints[3] == (5.0, 6.0) and person.is_visible == NONE16


def test_a_single_person_and_a_single_point():
    person = one(rect(annopoints=[{"id": 12, "x": 1.25, "y": 2.5, "is_visible": 1}]))
    expected = [None] * 16
    expected[12] = (1.25, 2.5)
    assert person.joints == tuple(expected)
    assert person.is_visible[12] is True and sum(v is not None for v in person.is_visible) == 1


@pytest.mark.parametrize(
    "fields", [{"annopoints": None}, {"annopoints": {"point": []}}], ids=["empty", "no points"]
)
def test_empty_annopoints_leave_the_person_unannotated(fields):
    person = one(rect(**fields))
    assert person.joints == NONE16 and person.is_visible == NONE16 and not person.annotated
    assert person.objpos == (594.0, 257.0)  # the rest is still read


def test_persons_without_annopoints_field_objpos_or_scale():
    bare = {"scale": 2.0, "objpos": {"x": 5.0, "y": 6.0}}
    first, second = parse([{"name": "t.jpg", "annorect": [bare, {"objpos": None, "scale": None}]}])
    assert first.joints == NONE16 and first.head_box is None
    assert (first.objpos, first.scale) == ((5.0, 6.0), 2.0)
    assert (second.objpos, second.scale) == (None, None)


def test_objpos_with_empty_coordinates_is_unknown():
    assert one(rect(objpos={"x": None, "y": None})).objpos is None


def test_images_without_persons_keep_the_indices():
    persons = parse(
        [
            {"name": "a.jpg", "annorect": []},
            {"name": "b.jpg"},
            {"name": "c.jpg", "annorect": [rect(), rect()]},
        ]
    )
    assert [(p.image, p.image_index, p.rect_index) for p in persons] == [
        ("c.jpg", 2, 0),
        ("c.jpg", 2, 1),
    ]


def test_no_image_has_an_annorect_field():
    assert parse([{"name": "a.jpg"}, {"name": "b.jpg"}]) == ()


@pytest.mark.parametrize(
    "single, expected",
    [(None, [False, False]), ([], [False, False]), (2, [False, True]), ([1, 2], [True, True])],
)
def test_single_person_forms(single, expected):
    persons = parse([{"name": "a.jpg", "annorect": [rect(), rect()], "single_person": single}])
    assert [p.single_person for p in persons] == expected


def test_unknown_activity():
    person = one(rect())
    images = [{"name": "a.jpg", "annorect": [rect()], "act": {"cat_name": None, "act_name": None}}]
    (other,) = parse(images)
    for p in (person, other):
        assert (p.activity, p.category, p.activity_id) == ("", "", -1)


# --- structural errors ------------------------------------------------------------------------


def release_without(field: str) -> bytes:
    full = {"annolist": {"image": {"name": "a.jpg"}}, "img_train": 1.0, "single_person": 0.0}
    full["act"] = {"act_id": -1.0}
    del full[field]
    out = io.BytesIO()
    savemat(out, {"RELEASE": full})
    return out.getvalue()


def other_variable() -> bytes:
    out = io.BytesIO()
    savemat(out, {"annolist": np.zeros((1, 1))})
    return out.getvalue()


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"not a mat file", "not a MATLAB 5 .mat file"),
        (other_variable(), "no struct 'RELEASE' (the official mpii_human_pose_v1_u12_1.mat"),
        (release_without("annolist"), "RELEASE has no field annolist; the official layout has"),
        (release_without("act"), "RELEASE has no field act"),
    ],
    ids=["not a mat", "no RELEASE", "no annolist", "no act"],
)
def test_a_file_without_the_official_structure_is_refused(data, expected):
    with pytest.raises(AnnotationError) as caught:
        parse_official(data, SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}: {expected}")
    assert caught.value.path == SOURCE and caught.value.index is None


def with_point(**point) -> list[dict]:
    """Two images; the second's second person has `point` as its fourth point."""
    fields = {"id": 3, "x": 5.0, "y": 6.0, "is_visible": 1} | point
    broken = rect(annopoints=points(joints_of()[:3]) + [fields])
    return [
        {"name": "a.jpg", "annorect": [rect()]},
        {"name": "b.jpg", "annorect": [rect(), broken]},
    ]


POINT = "annolist[1].annorect[1].annopoints.point[3]"


# Values not in the official layout: (images, the entry at fault, the message after it).
MALFORMED = [
    (with_point(is_visible="x"), 1, f"{POINT}: is_visible must be 0, 1 or empty, got 'x'"),
    (with_point(is_visible=2), 1, f"{POINT}: is_visible must be 0, 1 or empty, got 2.0"),
    (with_point(id=16), 1, f"{POINT}.id: expected a joint id from 0 to 15, got 16"),
    (with_point(id=-1), 1, f"{POINT}.id: expected a joint id from 0 to 15, got -1"),
    (with_point(id=None), 1, f"{POINT}.id: expected a joint id from 0 to 15, got nothing"),
    (with_point(id=2.5), 1, f"{POINT}.id: expected a whole number, got 2.5"),
    (with_point(id=2), 1, f"{POINT}.id: joint id 2 appears twice"),
    (with_point(x=math.nan), 1, f"{POINT}.x: expected a finite number, got nan"),
    (with_point(y=-math.inf), 1, f"{POINT}.y: expected a finite number, got -inf"),
    (with_point(y=None), 1, f"{POINT}: expected numbers x and y"),
    (with_point(x="12"), 1, f"{POINT}.x: expected a number, got '12'"),
    (
        [{"name": "a.jpg"}, {"name": None}],
        1,
        "annolist[1].image.name: expected the image's file name, got ''",
    ),
    (
        [{"name": "../a.jpg"}],
        0,
        "annolist[0].image.name: expected the image's file name, got '../a.jpg'",
    ),
    (
        [{"name": "a.jpg", "annorect": [rect(x2=None)]}],
        0,
        "annolist[0].annorect[0]: a head box needs all of x1, y1, x2, y2 or none, "
        "got only x1, y1, y2",
    ),
    (
        [{"name": "a.jpg", "annorect": [rect(scale=0.0)]}],
        0,
        "annolist[0].annorect[0].scale: expected a positive number, got 0.0",
    ),
    (
        [{"name": "a.jpg", "annorect": [rect(objpos={"x": 1.0})]}],
        0,
        "annolist[0].annorect[0].objpos: expected both x and y or neither",
    ),
    (
        [{"name": "a.jpg", "annorect": [rect(annopoints={"points": []})]}],
        0,
        "annolist[0].annorect[0].annopoints: expected a struct with a field 'point'",
    ),
    (
        [{"name": "a.jpg", "annorect": [rect()]}, {"name": "b.jpg", "single_person": [1]}],
        1,
        "RELEASE.single_person[1]: expected none (no persons), got 1.0",
    ),
    (
        [{"name": "a.jpg", "is_train": 2}],
        0,
        "RELEASE.img_train[0]: expected 0 or 1, got 2.0",
    ),
    (
        [{"name": "a.jpg", "act": {"act_id": 1.5}}],
        0,
        "RELEASE.act[0].act_id: expected a whole number, got 1.5",
    ),
]


@pytest.mark.parametrize("images, index, expected", MALFORMED)
def test_a_malformed_value_is_named_with_its_position(images, index, expected):
    with pytest.raises(AnnotationError) as caught:
        parse(images)
    assert str(caught.value) == f"{SOURCE}, entry {index}: {expected}"
    assert (caught.value.path, caught.value.index) == (SOURCE, index)


def test_per_image_arrays_of_another_length_are_refused():
    release = loadmat(io.BytesIO(official_mat([{"name": "a.jpg"}, {"name": "b.jpg"}])))["RELEASE"]
    release[0, 0]["img_train"] = np.array([[1.0, 1.0, 0.0]])
    out = io.BytesIO()
    savemat(out, {"RELEASE": release})
    with pytest.raises(AnnotationError) as caught:
        parse_official(out.getvalue(), SOURCE)
    assert str(caught.value) == (
        f"{SOURCE}: RELEASE.img_train: must hold one value per image (2), got 3"
    )
