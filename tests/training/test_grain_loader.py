"""Grain over tfds.data_source: batches from worker processes, every example once per evaluation
epoch, the same batches for the same seed, no TensorFlow in the loader."""

import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mpii_pose.sample import write_sample
from mpii_pose.training.config import PipelineConfig
from mpii_pose.training.grain_loader import data_loader
from mpii_pose.training.numpy_transforms import BATCH_KEYS
from tests.helpers import build, checked, read_json

CONFIG = PipelineConfig(image_size=(128, 128), heatmap_size=(32, 32))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("grain")
    manual = write_sample(root / "manual", train_images=6, validation_images=3, seed=9)
    build(manual, root / "data", file_format="array_record")
    return manual, root / "data"


def source(data_dir, split):
    return tfds.data_source("mpii_pose", data_dir=str(data_dir), split=split)


def test_evaluation_batches_hold_every_example_once(built):
    manual, data_dir = built
    validation = source(data_dir, "validation")
    batches = list(data_loader(validation, CONFIG, training=False, batch_size=4, worker_count=2))
    persons = len(read_json(manual / "valid.json"))
    assert [len(b["image"]) for b in batches] == [4] * (persons // 4) + ([persons % 4] if persons % 4 else [])  # fmt: skip
    indices = np.concatenate([b["annotation_index"] for b in batches]).tolist()
    assert sorted(indices) == list(range(persons))  # each once (workers take turns by batch)
    first = batches[0]
    assert set(first) == set(BATCH_KEYS)
    assert first["image"].shape == (4, 128, 128, 3) and first["image"].dtype == np.float32
    assert first["heatmaps"].shape == (4, 32, 32, 16) and first["target_weight"].shape == (4, 16)


def test_training_batches_are_shuffled_augmented_and_repeatable(built):
    _, data_dir = built
    train = source(data_dir, "train")

    def epoch(seed):
        loader = data_loader(train, CONFIG, training=True, batch_size=4, seed=seed, worker_count=2)
        return list(loader)

    first, again, other = epoch(1), epoch(1), epoch(2)
    assert len(first) == len(train) // 4 and all(len(b["image"]) == 4 for b in first)
    for a, b in zip(first, again, strict=True):
        assert all(np.array_equal(a[k], b[k]) for k in BATCH_KEYS)
    order = np.concatenate([b["annotation_index"] for b in first])
    assert order.tolist() != sorted(order.tolist())  # shuffled
    transforms_of = lambda batches: np.concatenate([b["transform"] for b in batches])  # noqa: E731
    assert not np.array_equal(transforms_of(first), transforms_of(other))


def test_the_loader_imports_no_tensorflow():
    code = "import sys, mpii_pose.training.grain_loader; print('tensorflow' in sys.modules)"
    assert checked([sys.executable, "-c", code]).stdout.split()[-1] == "False"
