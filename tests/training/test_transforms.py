"""The numpy transform agrees with the TensorFlow pipeline on the same examples and augmentation,
is deterministic in its seed, and needs no TensorFlow."""

import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from mpii_pose.training import numpy_transforms as transforms
from mpii_pose.training import tf_pipeline as pipeline
from mpii_pose.training.config import PipelineConfig
from mpii_pose.training.numpy_transforms import Augmentation
from tests.helpers import build, checked

CONFIG = PipelineConfig()
AUGMENTATIONS = [
    Augmentation(),
    Augmentation(1.2, 0.0, True),
    Augmentation(0.8, 37.5, False),
    Augmentation(1.0, -50.0, True),
]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """The validation split of a small array_record build, read with random access."""
    from mpii_pose.sample import write_sample

    root = tmp_path_factory.mktemp("transforms")
    manual = write_sample(root / "manual", train_images=2, validation_images=3, seed=4)
    build(manual, root / "data", file_format="array_record")
    return tfds.data_source("mpii_pose", data_dir=str(root / "data"), split="validation")


def tensorflow_outputs(example: dict, augmentation: Augmentation) -> dict:
    tensors = {k: tf.constant(example[k]) for k in ("image", "joints", "visibility", "center", "scale")}  # fmt: skip
    out = pipeline.augmented_example(
        tensors,
        CONFIG,
        tf.constant(augmentation.multiplier, tf.float32),
        tf.constant(augmentation.rotation, tf.float32),
        tf.constant(augmentation.flip),
    )
    return {k: v.numpy() for k, v in out.items()}


def grey_levels(image: np.ndarray) -> np.ndarray:
    return (image * np.float32(CONFIG.std) + np.float32(CONFIG.mean)) * 255.0


@pytest.mark.parametrize("augmentation", AUGMENTATIONS, ids=str)
def test_agrees_with_the_tensorflow_pipeline(source, augmentation):
    for index in range(len(source)):
        example = source[index]
        ours = transforms.transform_example(example, CONFIG, augmentation)
        theirs = tensorflow_outputs(example, augmentation)
        assert ours["image"].shape == theirs["image"].shape and ours["image"].dtype == np.float32
        difference = np.abs(grey_levels(ours["image"]) - grey_levels(theirs["image"]))
        assert difference.mean() <= 0.5, difference.mean()  # Pillow rounds to 8 bits
        assert difference.max() <= 1.01, difference.max()  # image edges blend with black too
        assert np.abs(ours["heatmaps"] - theirs["heatmaps"]).max() <= 1e-3
        np.testing.assert_array_equal(ours["target_weight"], theirs["target_weight"])
        np.testing.assert_array_equal(ours["visibility"], theirs["visibility"])
        np.testing.assert_allclose(ours["transform"], theirs["transform"], atol=1e-4)
        np.testing.assert_allclose(ours["joints"], theirs["joints"], atol=1e-3)
        assert ours["annotation_index"] == example["annotation_index"]  # passed through


def test_the_same_seed_gives_the_same_example(source):
    def run(seed):
        rng = np.random.default_rng(seed)
        return [
            transforms.transform_example(source[i], CONFIG, transforms.sample_augmentation(rng, CONFIG))
            for i in range(len(source))
        ]  # fmt: skip

    first, again, other = run(3), run(3), run(4)
    for a, b in zip(first, again, strict=True):
        assert all(np.array_equal(a[k], b[k]) for k in ("image", "heatmaps", "transform"))
    assert any(not np.array_equal(a["transform"], c["transform"]) for a, c in zip(first, other, strict=True))  # fmt: skip


def test_augmentation_is_drawn_as_hrnet_does():
    rng = np.random.default_rng(0)
    drawn = [transforms.sample_augmentation(rng, CONFIG) for _ in range(2000)]
    multipliers = np.array([a.multiplier for a in drawn])
    rotations = np.array([a.rotation for a in drawn])
    assert multipliers.min() >= 0.75 and multipliers.max() <= 1.25
    assert np.abs(rotations).max() <= 60.0
    assert 0.55 < np.mean(rotations != 0) < 0.65  # rotation_probability 0.6
    assert 0.45 < np.mean([a.flip for a in drawn]) < 0.55


def test_heatmaps_decode_back_to_image_coordinates(source):
    example = source[0]
    ours = transforms.transform_example(example, CONFIG, Augmentation(1.1, 20.0, False))
    points, peaks = transforms.decode_heatmaps(ours["heatmaps"])
    theirs, their_peaks = pipeline.decode_heatmaps(ours["heatmaps"])
    np.testing.assert_array_equal(points, theirs.numpy())
    np.testing.assert_allclose(peaks, their_peaks.numpy())
    back = transforms.to_image_coordinates(ours["joints"], ours["transform"])
    labelled = example["visibility"]
    np.testing.assert_allclose(back[labelled], example["joints"][labelled], atol=1e-3)
    from_heatmaps = transforms.to_image_coordinates(points, ours["transform"], CONFIG.stride)
    weight = ours["target_weight"] > 0
    assert np.abs(from_heatmaps[weight] - example["joints"][weight]).max() < 2 * CONFIG.stride[0]


def test_transforms_import_no_tensorflow():
    code = "import sys, mpii_pose.training.numpy_transforms; print('tensorflow' in sys.modules)"
    assert checked([sys.executable, "-c", code]).stdout.split() == ["False"]
