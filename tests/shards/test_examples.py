"""Either config's records as TFDS's writer takes them: (key, example) pairs, a person keyed by its
entry and an image by its file name, each image read once for a run of its records."""

import dataclasses
from pathlib import Path

import numpy as np
from etils import epath

from mpii_pose.shards.examples import example_key, generate_examples, keyed_example, persons_of
from mpii_pose.sources.annotations import NO_JOINTS, Person
from mpii_pose.sources.assembly import SplitSource
from mpii_pose.sources.image_records import ImagePerson, ImageRecord
from tests.helpers import encoded_image

ANNOTATIONS = "/m/train.json"
PERSON = Person(0, 0, "a.png", NO_JOINTS, (False,) * 16, (10.0, 20.0), 1.5)


def images_folder(tmp_path: Path) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.png").write_bytes(encoded_image("RGB", "PNG"))
    (images / "b.jpg").write_bytes(encoded_image("RGB", "JPEG"))
    return images


def test_persons_are_keyed_by_their_entry_and_an_image_read_once_for_a_run_of_its_persons(
    tmp_path,
):
    images = images_folder(tmp_path)
    persons = tuple(
        dataclasses.replace(PERSON, image=image, annotation_index=index, person_index=i)
        for index, (image, i) in enumerate([("a.png", 0), ("a.png", 1), ("b.jpg", 0), ("a.png", 2)])
    )
    source = SplitSource("train", epath.Path(ANNOTATIONS), epath.Path(images), persons)
    examples = list(generate_examples(source, "per_person"))
    assert [key for key, _ in examples] == [0, 1, 2, 3]
    assert [e["person_index"] for _, e in examples] == [0, 1, 0, 2]
    images_of = [e["image"] for _, e in examples]
    assert images_of[0] is images_of[1]  # one read (and conversion) for both persons
    assert images_of[3] is not images_of[0] and images_of[3] == images_of[0]  # read again
    assert images_of[2] == encoded_image("RGB", "JPEG")
    key, example = keyed_example(persons[3], str(images), ANNOTATIONS)
    assert key == 3 and example["image"] == images_of[0]
    assert example["filename"] == "a.png" and example["person_index"] == 2


def test_images_are_keyed_by_their_file_name_with_every_person_in_rows(tmp_path):
    images = images_folder(tmp_path)
    listed = dataclasses.replace(PERSON, image="b.jpg", annotation_index=5)
    unlisted = dataclasses.replace(PERSON, image="b.jpg", annotation_index=-1, center=(1.0, 2.0))
    record = ImageRecord(
        "b.jpg",
        (ImagePerson(unlisted, False, "", 2), ImagePerson(listed, True, "train")),
        ANNOTATIONS,
        official_image_index=7,
    )
    source = SplitSource("train", epath.Path(ANNOTATIONS), epath.Path(images), (listed,),
                         images=(record,))  # fmt: skip
    ((key, example),) = list(generate_examples(source, "per_image"))
    assert key == example_key(record) == "b.jpg"
    assert example["image"] == encoded_image("RGB", "JPEG")
    persons = example["persons"]
    assert persons["annotated"] == [False, True] and persons["group"] == [2, -1]
    assert persons["annotation_split"] == ["", "train"] and persons["annotation_index"] == [-1, 5]
    np.testing.assert_array_equal(persons["center"], [[1.0, 2.0], [10.0, 20.0]])
    assert persons["joints"].shape == (2, 16, 2) and example["official_image_index"] == 7
    assert persons_of([record]) == [unlisted, listed]
    assert keyed_example(record, str(images), ANNOTATIONS)[0] == "b.jpg"
