"""Assembling a split's source: every annotation file parsed and checked before any write, and
the official annotations attached where they match."""

import pytest

from mpii_pose.base.errors import AnnotationError
from mpii_pose.sample import OFFICIAL_PATH, write_sample
from mpii_pose.sample.mat_writers import official_images, official_mat
from mpii_pose.sources.assembly import load_sources
from mpii_pose.sources.official_annotations import parse_official


def test_every_split_is_validated_before_anything_else(manual_dir):
    (manual_dir / "valid.json").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(AnnotationError, match=r"valid.json: not UTF-8 text"):
        load_sources(manual_dir)
    (manual_dir / "valid.json").write_text("[]")
    with pytest.raises(AnnotationError, match=r"valid.json: holds no person entries"):
        load_sources(manual_dir)


def test_the_official_mat_adds_its_fields_and_unmatched_persons_are_reported(manual_dir, caplog):
    sources = load_sources(manual_dir)  # the sample leaves every eleventh person out of it
    persons = [p for s in sources.values() for p in s.persons]
    known = [p for p in persons if p.is_visible is not None]
    assert 0 < len(known) < len(persons)
    assert {0, 1, -1} <= {v for p in known for v in p.is_visible}
    labelled = [p for s in ("train", "validation") for p in sources[s].persons]
    assert all(p.head_box is not None for p in labelled if p.is_visible is not None)
    test = [p for p in sources["test"].persons if p.is_visible is not None]
    assert test and all(p.is_visible == (-1,) * 16 and p.head_box is None for p in test)
    unknown = sum(p.is_visible is None for p in sources["train"].persons)
    assert f"{unknown} of {len(sources['train'].persons)} persons of" in caplog.text
    assert all(p.activity == "" and p.activity_id == -1 for p in persons if p.is_visible is None)


def test_a_person_is_matched_only_with_records_of_its_split_s_images(tmp_path):
    """An image listed twice in the official file, once as a train image: its test persons are
    placed in the test entry, never in the train one."""
    manual = write_sample(tmp_path / "manual", 2, 2, seed=6, test_images=2)
    path = manual / OFFICIAL_PATH
    images = official_images(parse_official(path.read_bytes(), OFFICIAL_PATH))
    test_image = next(im for im in images if not im["is_train"] and im["annorect"])
    images.insert(0, {**test_image, "is_train": True, "single_person": []})
    path.write_bytes(official_mat(images))
    test = load_sources(manual)["test"].persons
    placed = [p for p in test if p.image == test_image["name"]]
    assert placed and all(p.official_image_index == images.index(test_image) + 1 for p in placed)
