"""Finding the annotations where users keep them, and refusing ambiguous or incomplete folders."""

import shutil

import pytest

from mpii_pose.errors import AnnotationError, ManualDirError
from mpii_pose.manual_dir import find_annotation_file, load_sources


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
    assert list(sources) == ["train", "validation"]
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


def test_every_split_is_validated_before_anything_else(manual_dir):
    (manual_dir / "valid.json").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(AnnotationError, match=r"valid.json: not UTF-8 text"):
        load_sources(manual_dir)
    (manual_dir / "valid.json").write_text("[]")
    with pytest.raises(AnnotationError, match=r"valid.json: holds no person entries"):
        load_sources(manual_dir)
