"""Official-layout .mat cases shared by the tests of the official annotations, their matching
and their writers: a person's fields, points and joints, parsed, and malformed values with the
error each gives."""

import math

from mpii_pose.sample.mat_writers import official_mat
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
