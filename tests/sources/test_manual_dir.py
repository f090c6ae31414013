"""Finding the annotations where users keep them, and refusing ambiguous or incomplete folders."""

import shutil

import pytest

from mpii_pose.base.errors import AnnotationError, ManualDirError
from mpii_pose.sample import OFFICIAL_PATH
from mpii_pose.sources.assembly import load_sources
from mpii_pose.sources.manual_dir import (
    GROUPS_FILE,
    OFFICIAL_DIR,
    OFFICIAL_FILE,
    find_annotation_file,
    find_groups_file,
)


def move(manual_dir, name, to):
    target = manual_dir / to
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(manual_dir / name, target)


@pytest.mark.parametrize(
    "train, validation",
    [
        ("train.json", "valid.json"),
        ("train.json", "validation.json"),
        ("annot/train.json", "annot/valid.json"),
        ("annotations/mpii_train.json", "annotations/mpii_val.json"),
        ("mpii_human_pose_v1_u12_2/train.json", "mpii_human_pose_v1_u12_2/validation.json"),
        ("mpii_train.json", "annot/valid.json"),
    ],
)
def test_layouts_users_keep(manual_dir, train, validation):
    move(manual_dir, "train.json", train)
    move(manual_dir, "valid.json", validation)
    sources = load_sources(manual_dir)
    assert list(sources) == ["train", "validation", "test"]  # test.json stays at the top
    assert sources["train"].annotation_file == manual_dir / train
    assert sources["validation"].annotation_file == manual_dir / validation
    assert sources["train"].images_dir == manual_dir / "images"
    assert len(sources["train"].persons) > 0 and len(sources["validation"].persons) > 0


def test_missing_annotations_say_where_they_were_looked_for(manual_dir):
    (manual_dir / "valid.json").unlink()
    with pytest.raises(ManualDirError) as info:
        find_annotation_file(manual_dir, "validation")
    message = str(info.value)
    assert "no validation annotations" in message
    assert "valid.json or validation.json or mpii_val.json" in message
    assert str(manual_dir / "annotations") in message


def test_two_candidates_for_a_split_are_refused(manual_dir):
    (manual_dir / "annot").mkdir()
    shutil.copy(manual_dir / "train.json", manual_dir / "annot" / "mpii_train.json")
    with pytest.raises(
        ManualDirError, match="several train annotation files: .*train.json, .*mpii_train.json"
    ):
        load_sources(manual_dir)


def test_missing_images_folder(manual_dir):
    shutil.rmtree(manual_dir / "images")
    with pytest.raises(ManualDirError, match=r"no images/ folder in .*manual"):
        load_sources(manual_dir)


def test_the_official_mat_is_found_at_the_top_too_and_is_optional(manual_dir):
    official = manual_dir / OFFICIAL_PATH
    move(manual_dir, OFFICIAL_PATH, OFFICIAL_FILE)
    assert any(p.is_visible for p in load_sources(manual_dir)["train"].persons)
    shutil.copy(manual_dir / OFFICIAL_FILE, official)
    with pytest.raises(ManualDirError, match="several official annotation files"):
        load_sources(manual_dir)
    (manual_dir / OFFICIAL_FILE).unlink()
    official.write_bytes(b"not a mat file")
    with pytest.raises(AnnotationError, match=rf"{OFFICIAL_FILE}: not a MATLAB"):
        load_sources(manual_dir, strict_official=True)
    persons = [p for s in load_sources(manual_dir).values() for p in s.persons]
    assert all(p.is_visible is None and p.activity == "" for p in persons)  # read, not used
    official.unlink()
    persons = [p for s in load_sources(manual_dir).values() for p in s.persons]
    assert all(p.is_visible is None and p.activity == "" for p in persons)


def test_the_groups_file_is_found_where_the_official_mat_is_and_is_optional(tmp_path):
    download, manual = tmp_path / "download", tmp_path / "manual"
    assert find_groups_file([manual, download]) is None
    for folder in ("", "annot", "annotations", OFFICIAL_DIR):
        found = download / folder / GROUPS_FILE
        found.parent.mkdir(parents=True, exist_ok=True)
        found.write_bytes(b"")
        assert find_groups_file([manual, download]) == found
        found.unlink()
    (download / GROUPS_FILE).write_bytes(b"")
    (manual / OFFICIAL_DIR).mkdir(parents=True)
    (manual / OFFICIAL_DIR / GROUPS_FILE).write_bytes(b"")
    assert find_groups_file([manual, download]) == manual / OFFICIAL_DIR / GROUPS_FILE  # first root
    (manual / GROUPS_FILE).write_bytes(b"")
    with pytest.raises(ManualDirError, match="several multi-person groups files: .*manual"):
        find_groups_file([manual, download])
