"""Grouping the annotations by image (the per_image config): splits by image, every person of an
image together, the official .mat's persons the JSON leaves out added and not duplicated."""

import math
import random

from mpii_pose.sources.annotations import Person
from mpii_pose.sources.image_records import group_by_image, official_person, split_of_images
from mpii_pose.sources.official_annotations import OfficialPerson

FILES = {"train": "/m/train.json", "validation": "/m/valid.json", "test": "/m/test.json"}
JOINTS = tuple((10.0 * j, 5.0 * j) for j in range(16))


def person(index, image, x=100.0, labelled=True, **official):
    return Person(
        annotation_index=index,
        person_index=0,
        image=image,
        joints=tuple((a + x, b) for a, b in JOINTS) if labelled else ((-1.0, -1.0),) * 16,
        labelled=(labelled,) * 16,
        center=(x, 50.0),
        scale=1.5,
        **official,
    )


def record(image, image_index, rect_index, x=100.0, points=True, objpos=True, train=True):
    return OfficialPerson(
        image=image,
        image_index=image_index,
        rect_index=rect_index,
        is_train=train,
        joints=tuple((a + x, b) for a, b in JOINTS) if points else (None,) * 16,
        is_visible=(True,) * 8 + (False,) * 7 + (None,) if points else (None,) * 16,
        head_box=(1.0, 2.0, 3.0, 4.0) if points else None,
        objpos=(x, 50.0) if objpos else None,
        scale=1.5 if objpos else None,
        single_person=rect_index == 0,
        activity="running",
        category="sports",
        activity_id=7,
    )


def matched(p: Person, r: OfficialPerson) -> Person:
    """`p` as assembly leaves it once matched with `r`."""
    return Person(**{**p.__dict__, "official_image_index": r.image_index + 1,
                     "official_rect_index": r.rect_index + 1, "activity": r.activity,
                     "category": r.category, "activity_id": r.activity_id})  # fmt: skip


def test_an_image_goes_to_validation_then_test_then_train_with_all_its_persons():
    persons = {
        "train": [person(0, "a.jpg"), person(1, "shared.jpg", x=300.0), person(2, "b.jpg")],
        "validation": [person(0, "shared.jpg")],
        "test": [person(0, "t.jpg", labelled=False)],
    }
    assert split_of_images(persons) == {
        "shared.jpg": "validation", "t.jpg": "test", "a.jpg": "train", "b.jpg": "train"
    }  # fmt: skip
    images, regrouping = group_by_image(persons, FILES, None)
    assert [r.image for r in images["train"]] == ["a.jpg", "b.jpg"]
    (shared,) = images["validation"]
    assert [(p.annotation_split, p.person.annotation_index) for p in shared.persons] == [
        ("validation", 0), ("train", 1)
    ]  # fmt: skip
    assert regrouping.moved == {("train", "validation"): 1}
    assert (
        shared.annotation_file == FILES["validation"] and shared.first_listed.image == "shared.jpg"
    )
    assert all(p.annotated and p.group == -1 for r in images["train"] for p in r.persons)


def test_persons_only_the_official_mat_holds_are_added_unannotated_in_its_order():
    with_points, only_place, listed = (record("a.jpg", 4, r, x=100.0 + 200 * r, points=r != 1)
                                       for r in range(3))  # fmt: skip
    json_person = matched(person(0, "a.jpg", x=500.0), listed)
    images, regrouping = group_by_image(
        {"train": [json_person]}, FILES, [with_points, only_place, listed]
    )
    (image,) = images["train"]
    assert [p.annotated for p in image.persons] == [False, False, True]  # rects 1, 2, 3
    assert [p.person.official_rect_index for p in image.persons] == [1, 2, 3]
    assert regrouping.official_only == {"train": 2}
    first, second = (p.person for p in image.persons[:2])
    assert first.joints == with_points.joints and first.labelled == (True,) * 16
    assert first.is_visible == (1,) * 8 + (0,) * 7 + (-1,)
    assert first.head_box == (1.0, 2.0, 3.0, 4.0) and first.single_person
    assert second.joints == ((-1.0, -1.0),) * 16 and not any(second.labelled)
    assert second.head_box is None and second.annotation_index == -1
    assert (image.official_image_index, image.activity, image.activity_id) == (5, "running", 7)


def test_a_listed_person_without_a_clear_match_is_not_added_again():
    """Two records fit the JSON person equally (it got no match): neither is a new person."""
    twins = [record("a.jpg", 0, 0), record("a.jpg", 0, 1)]
    images, _ = group_by_image({"train": [person(0, "a.jpg")]}, FILES, twins)
    (image,) = images["train"]
    assert [p.annotated for p in image.persons] == [True]


def test_a_place_only_record_is_unannotated_unless_a_person_is_there():
    test_person = person(0, "t.jpg", x=100.0, labelled=False)
    elsewhere = record("t.jpg", 0, 1, x=900.0, points=False, train=False)
    here = record("t.jpg", 0, 0, x=100.0, points=False, train=False)
    images, _ = group_by_image({"test": [test_person]}, FILES, [here, elsewhere])
    (image,) = images["test"]
    # The unmatched test person comes after the official file's persons; `here` is not added.
    assert [(p.annotated, p.person.center) for p in image.persons] == [
        (False, (900.0, 50.0)), (True, (100.0, 50.0))
    ]  # fmt: skip


def test_without_a_position_the_official_person_holds_nan():
    made = official_person(record("a.jpg", 0, 0, objpos=False))
    assert all(math.isnan(v) for v in made.center) and math.isnan(made.scale)


def test_groups_number_the_persons_of_their_image():
    records = [record("a.jpg", 1, r, x=100.0 + 200 * r) for r in range(3)]
    json_person = matched(person(0, "a.jpg", x=100.0), records[0])
    groups = ({}, {0: 2, 2: 1})  # image 1: rect 0 in group 2, rect 2 in group 1, rect 1 in none
    images, _ = group_by_image({"train": [json_person]}, FILES, records, groups)
    assert [p.group for p in images["train"][0].persons] == [2, -1, 1]


def test_no_image_is_in_two_splits():
    rng = random.Random(3)
    names = [f"{i}.jpg" for i in range(30)]
    persons = {
        split: [person(i, rng.choice(names), x=rng.uniform(0, 900)) for i in range(40)]
        for split in ("train", "validation", "test")
    }
    images, _ = group_by_image(persons, FILES, None)
    seen = [r.image for records in images.values() for r in records]
    assert len(seen) == len(set(seen)) == len({p.image for ps in persons.values() for p in ps})
    assert sum(len(r.persons) for rs in images.values() for r in rs) == 120  # nobody lost
