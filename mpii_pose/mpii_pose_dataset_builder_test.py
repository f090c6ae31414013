"""TFDS's own builder checks, run on the bundled sample (`dummy_data/`), for each config."""

import json
from pathlib import Path

import tensorflow_datasets as tfds

from mpii_pose import mpii_pose_dataset_builder

_DUMMY = Path(__file__).parent / "dummy_data"
_FILES = {"train": "train.json", "validation": "valid.json", "test": "test.json"}
_ENTRIES = {split: json.loads((_DUMMY / name).read_text()) for split, name in _FILES.items()}


class MpiiPosePerPersonTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = mpii_pose_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["per_person"]
    # One example per JSON entry.
    SPLITS = {split: len(entries) for split, entries in _ENTRIES.items()}


class MpiiPosePerImageTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = mpii_pose_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ["per_image"]
    # One example per image; no image of the sample is in two annotation files.
    SPLITS = {split: len({e["image"] for e in entries}) for split, entries in _ENTRIES.items()}


if __name__ == "__main__":
    tfds.testing.test_main()
