"""Pairing the official .mat's persons with the JSON's: by image, place, size and joints; never
guessed when two fit."""

import json

import pytest

from mpii_pose.sources.annotations import parse_annotations
from mpii_pose.sources.official_matching import attach_official, match_persons
from tests.official_cases import joints_of, parse, points, rect


def json_entry(image: str, joints, center=(594.0, 257.0), scale=3.021046, labelled=None) -> dict:
    """An HRNet JSON entry: joints rounded to 4 decimals, scale to 6, unlabelled as [-1, -1]."""
    labelled = [True] * 16 if labelled is None else labelled
    return {
        "image": image,
        "joints": [
            [round(x, 4), round(y, 4)] if flag else [-1.0, -1.0]
            for (x, y), flag in zip(joints, labelled, strict=True)
        ],
        "joints_vis": [int(flag) for flag in labelled],
        "center": list(center),
        "scale": scale,
    }


def json_persons(*entries):
    return parse_annotations(json.dumps(list(entries)), "/m/train.json")


OFFICIAL = parse(
    [
        {
            "name": "a.jpg",
            "annorect": [rect(), rect(objpos={"x": 900.0, "y": 300.0}, scale=2.5)],
        },
        {"name": "b.jpg", "annorect": [rect(annopoints=points(joints_of(7.0)))]},
    ]
)


def test_each_json_person_finds_its_record():
    persons = json_persons(
        json_entry("b.jpg", joints_of(7.0)),
        json_entry("a.jpg", joints_of(), center=(900.0, 300.0), scale=2.5),
        json_entry("a.jpg", joints_of()),
    )
    matches = match_persons(persons, OFFICIAL)
    assert [m.where for m in matches] == [
        "annolist[1].annorect[0]",
        "annolist[0].annorect[1]",
        "annolist[0].annorect[0]",
    ]


def test_joints_break_a_tie_between_persons_at_the_same_place():
    official = parse(
        [{"name": "a.jpg", "annorect": [rect(), rect(annopoints=points(joints_of(30.0)))]}]
    )
    for shift, expected in ((30.0, 1), (0.0, 0)):
        labelled = [True] * 8 + [False] * 8  # unlabelled joints are not compared
        (person,) = json_persons(json_entry("a.jpg", joints_of(shift), labelled=labelled))
        (match,) = match_persons([person], official)
        assert match.rect_index == expected


def test_joints_are_the_fallback_when_the_record_has_no_place():
    official = parse([{"name": "a.jpg", "annorect": [rect(objpos=None), rect(scale=None)]}])
    (person,) = json_persons(json_entry("a.jpg", joints_of()))
    assert match_persons([person], official) == [None]  # two fit equally: not guessed
    other = rect(annopoints=points(joints_of(50.0)))
    official = parse([{"name": "a.jpg", "annorect": [rect(objpos=None), other]}])
    assert match_persons([person], official)[0].rect_index == 0


def test_a_record_without_joints_is_no_match():
    unannotated = rect(annopoints=None)
    (person,) = json_persons(json_entry("a.jpg", joints_of()))
    official = parse([{"name": "a.jpg", "annorect": [unannotated, rect()]}])
    assert match_persons([person], official)[0].rect_index == 1
    official = parse([{"name": "a.jpg", "annorect": [unannotated]}])
    assert match_persons([person], official) == [None]


@pytest.mark.parametrize(
    "entry",
    [
        json_entry("c.jpg", joints_of()),  # image not in the file
        json_entry("a.jpg", joints_of(5.0)),  # joints contradict at the same place
        json_entry("a.jpg", joints_of(5.0), center=(10.0, 10.0)),  # nothing agrees
    ],
    ids=["other image", "joints differ", "nothing agrees"],
)
def test_a_json_person_without_record_gets_none(entry):
    persons = json_persons(json_entry("b.jpg", joints_of(7.0)), entry)
    matches = match_persons(persons, OFFICIAL)
    assert matches[0] is OFFICIAL[2] and matches[1] is None


def test_a_record_that_fits_two_json_persons_is_given_to_neither():
    persons = json_persons(
        json_entry("a.jpg", joints_of()),
        json_entry("b.jpg", joints_of(7.0)),
        json_entry("a.jpg", joints_of()),
    )
    matches = match_persons(persons, OFFICIAL)
    assert matches[0] is None and matches[2] is None
    assert matches[1] is OFFICIAL[2]


def test_two_identical_records_are_ambiguous():
    official = parse([{"name": "a.jpg", "annorect": [rect(), rect()]}])
    persons = json_persons(json_entry("a.jpg", joints_of()))
    assert match_persons(persons, official) == [None]


def test_a_test_person_is_placed_by_position_and_size_alone():
    """Test persons have no joints: the record at their objpos and scale, and no other one, even
    when it is the image's only record."""
    test_rects = [rect(annopoints=None, x1=None, y1=None, x2=None, y2=None)]
    test_rects.append({**test_rects[0], "objpos": {"x": 100.0, "y": 80.0}, "scale": 1.5})
    official = parse([{"name": "t.jpg", "annorect": test_rects, "is_train": False}])
    entries = [
        {"image": "t.jpg", "center": [100.0, 80.0], "scale": 1.5},
        {"image": "t.jpg", "center": [594.0, 257.0], "scale": 3.021046},
        {"image": "t.jpg", "center": [300.0, 80.0], "scale": 1.5},  # nowhere in the file
    ]
    persons = parse_annotations(json.dumps(entries), "/m/test.json", joints_optional=True)
    matches = match_persons(persons, official)
    assert [m and m.rect_index for m in matches] == [1, 0, None]
    alone = parse([{"name": "t.jpg", "annorect": test_rects[1:], "is_train": False}])
    assert match_persons(persons[1:2], alone) == [None]  # its image's only record, elsewhere


def test_a_match_gives_the_record_s_place_and_single_person_flag():
    official = parse(
        [
            {"name": "b.jpg", "annorect": [rect(annopoints=points(joints_of(7.0)))]},
            {"name": "a.jpg", "annorect": [rect(scale=2.0), rect()], "single_person": [2]},
        ]
    )
    persons = json_persons(json_entry("a.jpg", joints_of()), json_entry("c.jpg", joints_of()))
    attached, unmatched = attach_official(persons, official)
    assert unmatched == 1
    found, missing = attached
    assert (found.official_image_index, found.official_rect_index, found.single_person) == (
        2,
        2,
        True,
    )
    assert (missing.official_image_index, missing.official_rect_index) == (-1, -1)
    assert not missing.single_person
