"""TFDS's own builder checks, run on the bundled sample (`dummy_data/`)."""

import json
from pathlib import Path

import tensorflow_datasets as tfds

from mpii_pose import mpii_pose_dataset_builder

_DUMMY = Path(__file__).parent / "dummy_data"


class MpiiPoseTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = mpii_pose_dataset_builder.Builder
    # One example per JSON entry.
    SPLITS = {
        "train": len(json.loads((_DUMMY / "train.json").read_text())),
        "validation": len(json.loads((_DUMMY / "valid.json").read_text())),
        "test": len(json.loads((_DUMMY / "test.json").read_text())),
    }


if __name__ == "__main__":
    tfds.testing.test_main()
