"""The per_image config built end to end: every engine and format writes the bytes of `tfds build
mpii_pose/per_image`; an image is in one split with all its persons, the official .mat's
unannotated ones included."""

import dataclasses
import json
import logging
from pathlib import Path

import pytest
import tensorflow_datasets as tfds

from mpii_pose.engines import EngineOptions, make_engine
from mpii_pose.sample import OFFICIAL_PATH, write_sample
from mpii_pose.sample.mat_writers import official_images, official_mat
from mpii_pose.sources.official_annotations import parse_official
from tests.helpers import BIN, TFDS_WRITER_ENV, checked, digests, leftovers, read_json, write_json

CONFIG = "mpii_pose/per_image"


@pytest.fixture(scope="module")
def multi_person_dir(tmp_path_factory) -> Path:
    """A manual directory where a train person shares a validation image, and the official .mat
    holds two persons of a train image that the JSON leaves out (one with points, one with only
    a place and a size)."""
    manual = write_sample(tmp_path_factory.mktemp("per_image") / "manual", 10, 4, seed=11)
    train, valid = read_json(manual / "train.json"), read_json(manual / "valid.json")
    guest = valid[0]  # a train person beside the first validation person, in no official record
    train.append({**guest, "center": [guest["center"][0] + 60, guest["center"][1]],
                  "joints": [[x + 60 if x >= 0 else x, y] for x, y in guest["joints"]]})  # fmt: skip
    write_json(manual / "train.json", train)
    official = manual / OFFICIAL_PATH
    persons = list(parse_official(official.read_bytes(), str(official)))
    host = next(p for p in persons if p.image == train[0]["image"])
    shifted = tuple(None if j is None else (j[0] + 40.0, j[1]) for j in host.joints)
    persons += [
        dataclasses.replace(host, joints=shifted, objpos=(host.objpos[0] + 40.0, host.objpos[1])),
        dataclasses.replace(host, joints=(None,) * 16, is_visible=(None,) * 16, head_box=None,
                            objpos=(host.objpos[0] - 60.0, host.objpos[1]), single_person=False),
    ]  # fmt: skip
    persons.sort(key=lambda p: p.image_index)  # stable: the two come after the image's others
    official.write_bytes(official_mat(official_images(persons)))
    return manual


@pytest.fixture(scope="module")
def per_image_reference(multi_person_dir, tmp_path_factory) -> dict[str, str]:
    """sha256 of every file `tfds build mpii_pose/per_image` writes with TFDS's own writer."""
    data_dir = tmp_path_factory.mktemp("per_image_reference")
    checked([BIN / "tfds", "build", CONFIG, "--imports", "mpii_pose",
             "--manual_dir", multi_person_dir, "--data_dir", data_dir], env=TFDS_WRITER_ENV)  # fmt: skip
    return digests(data_dir)


def build_per_image(manual, data_dir, engine, **config):
    builder = tfds.builder(CONFIG, data_dir=str(data_dir), engine=engine, **config)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(manual))
    )
    return builder


def test_the_local_engine_writes_the_bytes_of_tfds_build(
    multi_person_dir, per_image_reference, tmp_path
):
    build_per_image(multi_person_dir, tmp_path, make_engine("local"))
    assert digests(tmp_path) == per_image_reference


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, options",
    [("ray", {"workers": 2}), ("beam", {"beam_pipeline_options": "direct_num_workers=1"})],
)
def test_ray_and_beam_write_the_bytes_of_tfds_build(
    name, options, multi_person_dir, per_image_reference, tmp_path
):
    build_per_image(multi_person_dir, tmp_path, make_engine(name, EngineOptions(**options)))
    assert digests(tmp_path) == per_image_reference


@pytest.mark.slow
def test_array_record_shards_are_those_of_tfds_build(multi_person_dir, tmp_path):
    reference = tmp_path / "reference"
    checked([BIN / "tfds", "build", CONFIG, "--imports", "mpii_pose", "--manual_dir",
             multi_person_dir, "--data_dir", reference, "--file_format", "array_record"],
            env=TFDS_WRITER_ENV)  # fmt: skip
    build_per_image(multi_person_dir, tmp_path / "local", "local", file_format="array_record")
    assert digests(tmp_path / "local") == digests(reference)


def test_images_are_in_one_split_with_every_person(multi_person_dir, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="mpii_pose")
    builder = build_per_image(multi_person_dir, tmp_path, "local")
    splits = {split: list(tfds.as_numpy(builder.as_dataset(split=split)))
              for split in ("train", "validation", "test")}  # fmt: skip
    names = [ex["filename"] for examples in splits.values() for ex in examples]
    assert len(names) == len(set(names))  # never the same image in two splits
    train, valid = (
        read_json(multi_person_dir / "train.json"),
        read_json(multi_person_dir / "valid.json"),
    )
    shared = next(ex for ex in splits["validation"] if ex["filename"].decode() == valid[0]["image"])
    assert list(shared["persons"]["annotation_split"]) == [b"validation"] * (
        sum(e["image"] == valid[0]["image"] for e in valid)) + [b"train"]  # fmt: skip
    assert "1 persons of train share their images with validation persons" in caplog.text
    host = next(ex for ex in splits["train"] if ex["filename"].decode() == train[0]["image"])
    persons = host["persons"]
    assert list(persons["annotated"][-2:]) == [False, False]
    assert (persons["annotation_index"][-2:] == -1).all()
    assert persons["visibility"][-2].any() and not persons["visibility"][-1].any()
    listed = sum(len(ex["persons"]["annotated"]) for ex in splits["train"] + splits["validation"])
    assert listed == len(train) + len(valid) + 2  # every listed person, and the two added


def test_without_the_official_mat_only_the_json_persons_and_a_warning(
    multi_person_dir, tmp_path, caplog
):
    manual = tmp_path / "manual"
    for name in ("images", "train.json", "valid.json", "test.json", "gt_valid.mat"):
        (manual / name).parent.mkdir(parents=True, exist_ok=True)
        (manual / name).symlink_to(multi_person_dir / name)
    builder = build_per_image(manual, tmp_path / "data", "local")
    assert "per_image without the official .mat" in caplog.text
    annotated = [a for ex in tfds.as_numpy(builder.as_dataset(split="train"))
                 for a in ex["persons"]["annotated"]]  # fmt: skip
    assert all(annotated) and len(annotated) == len(read_json(manual / "train.json")) - 1


def test_a_failed_per_image_build_leaves_nothing(multi_person_dir, tmp_path):
    manual = tmp_path / "manual"
    (manual / "images").mkdir(parents=True)
    for name in ("train.json", "valid.json"):
        (manual / name).write_text(json.dumps(read_json(multi_person_dir / name)))
    with pytest.raises(Exception, match="missing"):  # the images are not there
        build_per_image(manual, tmp_path / "data", "local")
    assert leftovers(tmp_path / "data") == []
