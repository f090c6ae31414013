"""Shared fixtures: generated manual directories and a quiet TensorFlow."""

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mpii_pose.sample import write_sample  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def manual_dir(tmp_path: Path) -> Path:
    """A fresh synthetic manual directory: images/, train.json, valid.json."""
    return write_sample(tmp_path / "manual", train_images=8, validation_images=3, seed=7)


def read_json(path: Path) -> list[dict]:
    return json.loads(Path(path).read_text())


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path
