"""The bundled sample: generated deterministically, and showing each person where the JSON says."""

import filecmp
import hashlib

import numpy as np
from PIL import Image

from mpii_pose.sample import OFFICIAL_PATH, SAMPLE_DIR, write_sample
from tests.conftest import read_json


def test_generator_is_deterministic(tmp_path):
    a = write_sample(tmp_path / "a", train_images=5, validation_images=2, seed=11)
    b = write_sample(tmp_path / "b", train_images=5, validation_images=2, seed=11)
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(names) == 4 + 7  # train.json, valid.json, gt_valid.mat, the official .mat, images
    match, mismatch, errors = filecmp.cmpfiles(a, b, [str(n) for n in names], shallow=False)
    assert (mismatch, errors) == ([], [])


def test_the_bundled_sample_regenerates_byte_for_byte(tmp_path):
    """Images, JSON and both .mat files: the bundled copy is what the generator writes."""
    fresh = write_sample(tmp_path / "sample")

    def digests(root):
        files = sorted(p for p in root.rglob("*") if p.is_file())
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

    expected = digests(SAMPLE_DIR)
    assert {"train.json", "valid.json", "gt_valid.mat", OFFICIAL_PATH} <= set(expected)
    assert digests(fresh) == expected


def test_sample_has_what_real_mpii_has():
    for name in ("train.json", "valid.json"):
        entries = read_json(SAMPLE_DIR / name)
        images = [e["image"] for e in entries]
        assert len(set(images)) < len(images)  # several persons per image
        assert any(0 in e["joints_vis"] for e in entries)  # missing joints
        missing = [
            j for e in entries for j, v in zip(e["joints"], e["joints_vis"], strict=True) if not v
        ]
        assert all(j == [-1.0, -1.0] for j in missing)
    valid = read_json(SAMPLE_DIR / "valid.json")
    assert any(
        v and j[1] < 0 for e in valid for j, v in zip(e["joints"], e["joints_vis"], strict=True)
    )


def test_each_labelled_joint_is_drawn_where_the_json_puts_it():
    """A white dot marks every labelled joint inside the image, at the 1-based position minus 1."""
    checked = 0
    for entry in read_json(SAMPLE_DIR / "train.json"):
        with Image.open(SAMPLE_DIR / "images" / entry["image"]) as image:
            if image.format != "JPEG" or image.mode != "RGB":
                continue
            pixels = np.asarray(image, dtype=np.int16)
        for (x, y), labelled in zip(entry["joints"], entry["joints_vis"], strict=True):
            col, row = round(x - 1), round(y - 1)
            if labelled and 0 <= row < pixels.shape[0] and 0 <= col < pixels.shape[1]:
                assert pixels[row, col].min() > 200, (entry["image"], x, y)  # near white
                checked += 1
    assert checked > 100
