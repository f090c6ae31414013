"""The official mpii_human_pose_v1_u12_1.mat: values as stored, every quirk, errors named precisely."""

import io

import numpy as np
import pytest
from scipy.io import loadmat, savemat

from mpii_pose.base.errors import AnnotationError
from mpii_pose.sample.mat_writers import official_images, official_mat
from mpii_pose.sources.official_annotations import parse_official
from tests.official_cases import (
    MALFORMED,
    NO_HEAD_BOX,
    NONE16,
    SOURCE,
    joints_of,
    one,
    parse,
    points,
    rect,
)

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


def test_a_format_error_crosses_process_boundaries():
    """Pickled and back (as a worker process's error reaches the build): the same message and
    fields."""
    import pickle

    from mpii_pose.sources.official_annotations import OfficialFormatError

    error = OfficialFormatError("a.mat", 3, "annolist[3].annorect[1].x2", "expected a number")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is OfficialFormatError and str(again) == str(error)
    assert (again.path, again.index, again.where, again.problem, again.kind) == (
        error.path, error.index, error.where, error.problem, error.kind,
    )  # fmt: skip
