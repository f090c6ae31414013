"""The bundled sample: generated deterministically, and showing each person where the JSON says."""

import filecmp
import hashlib
import sys
from collections import Counter

import numpy as np
from PIL import Image

from mpii_pose.sample import BODY_TONES, GROUPS_PATH, OFFICIAL_PATH, write_sample
from mpii_pose.sources.manual_dir import SAMPLE_DIR
from mpii_pose.sources.mat_values import load_mat
from mpii_pose.sources.official_annotations import release_images
from mpii_pose.sources.person_groups import parse_groups
from mpii_pose.training.drawing import SIDE_COLOURS
from tests.helpers import checked, read_json


def test_generator_is_deterministic(tmp_path):
    a = write_sample(tmp_path / "a", train_images=5, validation_images=2, seed=11, test_images=2)
    b = write_sample(tmp_path / "b", train_images=5, validation_images=2, seed=11, test_images=2)
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(names) == 6 + 9  # 3 JSON files, gt_valid.mat, the official .mat, groups, 9 images
    match, mismatch, errors = filecmp.cmpfiles(a, b, [str(n) for n in names], shallow=False)
    assert (mismatch, errors) == ([], [])


def test_the_bundled_sample_regenerates_byte_for_byte(tmp_path):
    """Images, JSON and the .mat files: the bundled copy is what the documented command writes."""
    fresh = tmp_path / "sample"
    checked([sys.executable, "-m", "mpii_pose.sample", fresh])

    def digests(root):
        files = sorted(p for p in root.rglob("*") if p.is_file())
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

    expected = digests(SAMPLE_DIR)
    assert {"train.json", "valid.json", "gt_valid.mat", OFFICIAL_PATH, GROUPS_PATH} <= set(expected)
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


def sample_groups(root) -> list[tuple[dict[int, int], int]]:
    """Each image's groups in a sample's groups file, read against its official .mat, with the
    image's number of persons there."""
    official = root / OFFICIAL_PATH
    rects = release_images(load_mat(official.read_bytes()), str(official)).rect_counts
    groups = parse_groups((root / GROUPS_PATH).read_bytes(), str(root / GROUPS_PATH), len(rects))
    images = list(zip(groups, rects, strict=True))
    assert all(max(numbers, default=-1) < count for numbers, count in images)
    return images


def test_the_sample_groups_persons_as_mpii_s_groups_file_can(manual_dir):
    """Images without groups, groups of one and of several persons, persons in no group."""
    images = sample_groups(manual_dir)
    sizes = [size for numbers, _ in images for size in Counter(numbers.values()).values()]
    assert 1 in sizes and max(sizes) > 1
    assert any(not numbers and count > 1 for numbers, count in images)
    assert any(0 < len(numbers) < count for numbers, count in images)


def test_the_groups_line_up_with_an_official_mat_that_lacks_persons(tmp_path):
    """Images whose every person is left out of the official .mat have no groups entry either."""
    root = write_sample(tmp_path / "s", 5, 2, seed=11, not_official_every=2, test_images=2)
    images = sample_groups(root)
    assert len(images) < 9 and any(numbers for numbers, _ in images)


def test_each_person_is_a_plain_figure_through_its_joints():
    """Every joint inside the image is painted in a body tone, at the 1-based position minus 1;
    no pixel has the limb colours of the skeleton that `mpii-pose show` draws."""
    checked = 0
    for entry in read_json(SAMPLE_DIR / "train.json"):
        with Image.open(SAMPLE_DIR / "images" / entry["image"]) as image:
            if image.format != "JPEG" or image.mode != "RGB":
                continue
            pixels = np.asarray(image, dtype=np.int16)
        for x, y in entry["joints"]:
            col, row = round(x - 1), round(y - 1)
            if 0 <= row < pixels.shape[0] and 0 <= col < pixels.shape[1]:
                distance = np.abs(np.array(BODY_TONES) - pixels[row, col]).max(axis=1).min()
                assert distance < 24, (entry["image"], x, y, pixels[row, col])
                checked += 1
        for colour in SIDE_COLOURS.values():
            assert np.abs(pixels - colour).max(axis=-1).min() > 24, (entry["image"], colour)
    assert checked > 100


def test_the_bundled_sample_builds_without_a_warning(sample_build):
    """Its official .mat holds every person of its JSON, so that nothing is left unmatched."""
    _, result = sample_build  # `mpii-pose build --sample`
    assert "WARNING" not in result.stderr and "WARNING" not in result.stdout
