"""Top-down training from one copy of MPII: per_image examples split into their persons give
exactly the crops, heatmaps and weights of the per_person config, in tf.data, numpy and Grain."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from mpii_pose.sample import write_sample
from mpii_pose.training import numpy_transforms, tf_pipeline
from mpii_pose.training.config import PipelineConfig
from mpii_pose.training.grain_loader import data_loader
from tests.helpers import read_json

CONFIG = PipelineConfig(image_size=(96, 96), heatmap_size=(24, 24))
# (multiplier, rotation, flip): none, and each kind of augmentation.
AUGMENTATIONS = [(1.0, 0.0, False), (1.2, 25.0, True), (0.8, -30.0, False)]
COMPARED = ("image", "heatmaps", "target_weight", "joints", "visibility", "transform", "head_box")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Both configs of one sample, in TFRecord (for tf.data) and ArrayRecord (for Grain)."""
    root = tmp_path_factory.mktemp("per_image_reading")
    manual = write_sample(root / "manual", train_images=6, validation_images=3, seed=4)
    for config in ("per_person", "per_image"):
        for file_format in ("tfrecord", "array_record"):
            builder = tfds.builder(f"mpii_pose/{config}", data_dir=str(root / file_format),
                                   file_format=file_format, engine="local")  # fmt: skip
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(manual_dir=str(manual))
            )
    return manual, root


def load(root, config, split="train"):
    return tfds.load(f"mpii_pose/{config}", data_dir=str(root / "tfrecord"), split=split)


def source(root, config, split="train", decoders=None):
    return tfds.data_source(f"mpii_pose/{config}", data_dir=str(root / "array_record"),
                            split=split, decoders=decoders)  # fmt: skip


def keyed(examples):
    return {(bytes(ex["filename"]), int(ex["annotation_index"])): ex for ex in examples}


def assert_same_examples(persons, per_person, augmentation) -> None:
    """The numpy transform gives each person of an image the crops of its per_person example."""
    for person in persons:
        key = (bytes(person["filename"]), int(person["annotation_index"]))
        ours = numpy_transforms.transform_example(person, CONFIG, augmentation)
        theirs = numpy_transforms.transform_example(per_person[key], CONFIG, augmentation)
        for name in COMPARED:
            np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


def test_tf_data_persons_of_images_are_the_per_person_examples(data):
    _, root = data
    per_person = keyed(tfds.as_numpy(load(root, "per_person")))
    per_image = list(tf_pipeline.person_examples(load(root, "per_image")))
    assert set(keyed(tfds.as_numpy(tf_pipeline.person_examples(load(root, "per_image"))))) == set(
        per_person
    )
    for multiplier, rotation, flip in AUGMENTATIONS:
        for example in per_image:
            ours = tf_pipeline.augmented_example(example, CONFIG, tf.constant(multiplier),
                                                 tf.constant(rotation), tf.constant(flip))  # fmt: skip
            key = (example["filename"].numpy(), int(example["annotation_index"]))
            theirs = tf_pipeline.augmented_example(
                per_person[key], CONFIG, tf.constant(multiplier), tf.constant(rotation),
                tf.constant(flip),
            )  # fmt: skip
            for name in COMPARED:
                np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


def test_the_input_pipeline_splits_per_image_examples_into_their_persons(data):
    manual, root = data
    ds = load(root, "per_image", "validation")
    batches = list(tf_pipeline.input_pipeline(ds, CONFIG, training=False, batch_size=64))
    (batch,) = batches
    assert batch["image"].shape[0] == len(read_json(manual / "valid.json"))
    unannotated = tf_pipeline.person_examples(ds, annotated_only=False)
    assert sum(1 for _ in unannotated) >= batch["image"].shape[0]


def test_numpy_persons_of_images_are_the_per_person_examples(data):
    _, root = data
    per_person = keyed(source(root, "per_person"))
    images = source(root, "per_image")
    persons = [p for image in images for p in numpy_transforms.person_examples(image)]
    assert set(keyed(persons)) == set(per_person)
    for augmentation in AUGMENTATIONS:
        assert_same_examples(persons, per_person, numpy_transforms.Augmentation(*augmentation))


def test_grain_batches_of_a_per_image_source_hold_every_annotated_person_once(data):
    manual, root = data
    images = source(root, "per_image", "validation")
    batches = list(data_loader(images, CONFIG, training=False, batch_size=4, worker_count=0))
    indices = sorted(np.concatenate([b["annotation_index"] for b in batches]).tolist())
    assert indices == list(range(len(read_json(manual / "valid.json"))))


def test_numpy_persons_of_jpeg_bytes_share_one_decode_and_give_the_per_person_examples(data):
    """With `SkipDecoding`, an image's JPEG is decoded once for all its persons (Pillow decodes
    a whole JPEG per crop), and the crops are those of the per_person examples' bytes."""
    _, root = data
    jpeg = {"image": tfds.decode.SkipDecoding()}
    per_person = keyed(source(root, "per_person", decoders=jpeg))
    shared = 0
    for image in source(root, "per_image", decoders=jpeg):
        persons = numpy_transforms.person_examples(image)
        if len(persons) > 1:
            assert all(p["image"] is persons[0]["image"] for p in persons)
            assert isinstance(persons[0]["image"], np.ndarray)
            shared += 1
        assert_same_examples(persons, per_person, numpy_transforms.Augmentation(*AUGMENTATIONS[1]))
    assert shared > 0
