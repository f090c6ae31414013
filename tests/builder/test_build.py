"""End-to-end builds with real TFDS: what is stored, how it is sharded, and what a failure leaves."""

import io
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image
from tensorflow_datasets.core.utils import shard_utils

from mpii_pose.base.errors import AnnotationError, ImageError
from mpii_pose.sample import OFFICIAL_PATH, write_sample
from mpii_pose.shards.image_bytes import is_stored_verbatim
from mpii_pose.sources.head_boxes import parse_ground_truth
from mpii_pose.sources.official_annotations import parse_official
from tests.helpers import build, leftovers, read_json, write_json


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A build with more examples than shards: 64 train and 8 validation shards."""
    root = tmp_path_factory.mktemp("full")
    manual = write_sample(root / "manual", train_images=40, validation_images=6, seed=3)
    return manual, build(manual, root / "data")


def test_splits_have_64_8_and_32_shards_with_tfds_boundaries(built):
    manual, builder = built
    assert list(builder.info.splits) == ["train", "validation", "test"]
    for split, annotations, most in (
        ("train", "train.json", 64),
        ("validation", "valid.json", 8),
        ("test", "test.json", 32),
    ):
        n = len(read_json(manual / annotations))
        info = builder.info.splits[split]
        shards = min(n, most)  # the sample's test split is smaller than 32
        assert n > shards or split == "test"
        assert info.num_examples == n and info.num_shards == shards
        bounds = shard_utils.get_shard_boundaries(n, shards)
        assert info.shard_lengths == list(np.diff([0, *bounds]))
        files = sorted(Path(builder.data_dir).glob(f"mpii_pose-{split}.tfrecord-*-of-{shards:05d}"))
        assert len(files) == shards


@pytest.mark.parametrize(
    "split, annotations",
    [("train", "train.json"), ("validation", "valid.json"), ("test", "test.json")],
)
def test_every_example_matches_its_json_entry_and_image(built, split, annotations):
    manual, builder = built
    entries = read_json(manual / annotations)
    ds = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
    truth = parse_ground_truth((manual / "gt_valid.mat").read_bytes(), "gt_valid.mat")
    official = {  # the sample's official persons, by image and objpos (= the JSON's center)
        (p.image, p.objpos): p
        for p in parse_official((manual / OFFICIAL_PATH).read_bytes(), OFFICIAL_PATH)
    }
    seen = set()
    for ex in tfds.as_numpy(ds):
        index = int(ex["annotation_index"])
        seen.add(index)
        entry = {"joints": [[-1.0, -1.0]] * 16, "joints_vis": [0] * 16} | entries[index]
        assert ex["filename"].decode() == entry["image"]
        assert ex["joints"].dtype == ex["center"].dtype == ex["head_box"].dtype == np.float64
        assert ex["joints"].tolist() == entry["joints"]  # exactly the JSON's values
        np.testing.assert_array_equal(ex["visibility"], np.asarray(entry["joints_vis"], bool))
        assert ex["center"].tolist() == entry["center"] and ex["scale"] == entry["scale"]
        record = official.get((entry["image"], tuple(entry["center"])))
        if split == "validation":  # from the sample's gt_valid.mat
            assert ex["head_box"].tolist() == truth.head_boxes[index].tolist()
        elif record is not None and record.head_box is not None:  # from the official .mat
            assert ex["head_box"].tolist() == list(record.head_box)
        else:
            assert np.isnan(ex["head_box"]).all()
        if record is None:  # left out of the official .mat: unknown
            assert (ex["is_visible"] == -1).all() and ex["activity"] == b""
            assert ex["official_image_index"] == ex["official_rect_index"] == -1
            assert not ex["single_person"]
        else:
            place = (record.image_index + 1, record.rect_index + 1, record.single_person)
            assert (
                ex["official_image_index"],
                ex["official_rect_index"],
                ex["single_person"],
            ) == place
            visible = [
                -1 if v is None or not labelled else int(v)
                for v, labelled in zip(record.is_visible, entry["joints_vis"], strict=True)
            ]
            assert ex["is_visible"].tolist() == visible
            assert ex["activity"].decode() == record.activity
            assert ex["category"].decode() == record.category
            assert ex["activity_id"] == record.activity_id
        same_image = [i for i, e in enumerate(entries[:index]) if e["image"] == entry["image"]]
        assert ex["person_index"] == len(same_image)
        stored = ex["image"]
        assert is_stored_verbatim(stored)
        assert tf.io.decode_jpeg(stored).shape[-1] == 3
        source = (manual / "images" / entry["image"]).read_bytes()
        with Image.open(io.BytesIO(source)) as original:
            if original.format == "JPEG" and original.mode == "RGB":
                assert stored == source  # kept byte for byte
            else:
                assert stored != source and original.size == Image.open(io.BytesIO(stored)).size
    assert seen == set(range(len(entries)))


def test_odd_image_kinds_are_present_in_the_sample_build(built):
    manual, _ = built
    kinds = {Image.open(p).format + "/" + Image.open(p).mode for p in (manual / "images").iterdir()}
    assert {"JPEG/RGB", "JPEG/L", "JPEG/CMYK", "PNG/RGB"} <= kinds


def test_tfds_load_reads_the_decoded_dataset(built):
    _, builder = built
    ds = tfds.load("mpii_pose", data_dir=builder.data_dir_root, split="validation[:3]")
    examples = list(tfds.as_numpy(ds))
    assert len(examples) == 3
    assert all(ex["image"].ndim == 3 and ex["image"].shape[2] == 3 for ex in examples)


def test_max_examples_per_split_keeps_the_first_entries(manual_dir, tmp_path):
    builder = build(manual_dir, tmp_path / "data", max_examples_per_split=4)
    for split in ("train", "validation"):
        assert builder.info.splits[split].shard_lengths == [1, 1, 1, 1]
        indices = {
            int(ex["annotation_index"]) for ex in tfds.as_numpy(builder.as_dataset(split=split))
        }
        assert indices == {0, 1, 2, 3}


def test_array_record_build_gives_random_access(manual_dir, tmp_path):
    builder = build(manual_dir, tmp_path / "data", file_format="array_record")
    source = tfds.data_source("mpii_pose", data_dir=str(tmp_path / "data"), split="train")
    assert (
        len(source)
        == builder.info.splits["train"].num_examples
        == len(read_json(manual_dir / "train.json"))
    )
    assert source[len(source) - 1]["joints"].shape == (16, 2)


def test_missing_image_names_file_and_entry_and_leaves_nothing(manual_dir, tmp_path):
    entries = read_json(manual_dir / "valid.json")
    missing = manual_dir / "images" / entries[-1]["image"]
    missing.unlink()
    index = next(i for i, e in enumerate(entries) if e["image"] == entries[-1]["image"])
    with pytest.raises(ImageError) as info:
        build(manual_dir, tmp_path / "data")
    assert str(info.value).splitlines()[1] == (
        f"  {missing} (used by {manual_dir / 'valid.json'}, entry {index}): image file not found"
    )
    assert list((tmp_path / "data").iterdir()) == []  # no mpii_pose/ nor downloads/ folder


def test_a_failed_build_keeps_the_folders_that_were_there(manual_dir, tmp_path):
    """It removes only the empty folders it made: here downloads/extracted/ and mpii_pose/."""
    (manual_dir / "images" / read_json(manual_dir / "train.json")[0]["image"]).unlink()
    data_dir = tmp_path / "data"
    (data_dir / "downloads" / "mpii_pose").mkdir(parents=True)
    with pytest.raises(ImageError):
        build(manual_dir, data_dir)
    folders = sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*"))
    assert folders == ["downloads", "downloads/mpii_pose"]


def test_truncated_image_stops_the_build(manual_dir, tmp_path):
    entries = read_json(manual_dir / "train.json")
    path = manual_dir / "images" / entries[0]["image"]
    path.write_bytes(path.read_bytes()[:-300])
    with pytest.raises(
        ImageError, match=rf"{path.name} \(used by .*train.json, entry 0\): cannot be decoded"
    ):
        build(manual_dir, tmp_path / "data")
    assert leftovers(tmp_path / "data") == []


def test_annotation_pointing_outside_is_refused_before_any_image_is_read(manual_dir, tmp_path):
    secret = manual_dir / "outside.jpg"
    secret.write_bytes(
        (manual_dir / "images")
        .joinpath(read_json(manual_dir / "train.json")[0]["image"])
        .read_bytes()
    )
    entries = read_json(manual_dir / "valid.json")
    entries[1]["image"] = "../outside.jpg"
    write_json(manual_dir / "valid.json", entries)
    with pytest.raises(
        AnnotationError, match=r"valid.json, entry 1: 'image' must be a path relative"
    ):
        build(manual_dir, tmp_path / "data")
    assert leftovers(tmp_path / "data") == []


def test_the_test_split_comes_with_a_test_file_under_either_name(manual_dir, tmp_path):
    test_file = manual_dir / "test.json"
    entries = read_json(test_file)
    test_file.rename(manual_dir / "mpii_test.json")  # mmpose's name
    builder = build(manual_dir, tmp_path / "mmpose", max_examples_per_split=3)
    assert builder.info.splits["test"].num_examples == min(3, len(entries))
    (manual_dir / "mpii_test.json").unlink()
    builder = build(manual_dir, tmp_path / "none", max_examples_per_split=3)
    assert list(builder.info.splits) == ["train", "validation"]
