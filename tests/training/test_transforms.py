"""The numpy transform agrees with the TensorFlow pipeline on the same examples and augmentation,
is deterministic in its seed, and needs no TensorFlow."""

import io
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image, ImageOps

from mpii_pose.training import numpy_transforms as transforms
from mpii_pose.training import tf_pipeline as pipeline
from mpii_pose.training.config import PipelineConfig
from mpii_pose.training.numpy_transforms import Augmentation
from tests.helpers import build, checked
from tests.training.tf_twin import tensorflow_outputs

CONFIG = PipelineConfig()
GEOMETRIES = {"hrnet": CONFIG, "half_pixel": PipelineConfig(geometry="half_pixel")}
REFERENCE = PipelineConfig(reference_path=True)
# The fast path's crops against the reference path's, in grey levels. Both sample the same pixels
# at the same points, but the window's coordinates are rounded at other magnitudes: a sample whose
# bilinear value is a whole grey level can land 1e-13 below it, and Pillow truncates to 8 bits.
MAX_GREY_DIFFERENCE = 1.001  # one such truncation (plus float32 rounding of the normalization)
MEAN_GREY_DIFFERENCE = 1e-4  # such samples are rare: about one value in a million in a probe
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


def grey_levels(image: np.ndarray) -> np.ndarray:
    return (image * np.float32(CONFIG.std) + np.float32(CONFIG.mean)) * 255.0


@pytest.mark.parametrize("geometry", list(GEOMETRIES))
@pytest.mark.parametrize("augmentation", AUGMENTATIONS, ids=str)
def test_agrees_with_the_tensorflow_pipeline(source, augmentation, geometry):
    config = GEOMETRIES[geometry]
    for index in range(len(source)):
        example = source[index]
        ours = transforms.transform_example(example, config, augmentation)
        theirs = tensorflow_outputs(example, augmentation, config)
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
    points, peaks = transforms.decode_heatmaps(ours["heatmaps"], CONFIG)
    theirs, their_peaks = pipeline.decode_heatmaps(ours["heatmaps"], CONFIG)
    np.testing.assert_array_equal(points, theirs.numpy())
    np.testing.assert_allclose(peaks, their_peaks.numpy())
    back = transforms.to_image_coordinates(ours["joints"], ours["transform"])
    labelled = example["visibility"]
    np.testing.assert_allclose(back[labelled], example["joints"][labelled], atol=1e-3)
    from_heatmaps = transforms.heatmaps_to_image(ours["heatmaps"], ours["transform"], CONFIG)
    weight = ours["target_weight"] > 0
    assert np.abs(from_heatmaps[weight] - example["joints"][weight]).max() < 2 * CONFIG.stride[0]


def test_transforms_import_no_tensorflow():
    code = "import sys, mpii_pose.training.numpy_transforms; print('tensorflow' in sys.modules)"
    assert checked([sys.executable, "-c", code]).stdout.split() == ["False"]


def photo(rng: np.random.Generator, size: tuple[int, int] = (321, 239)) -> Image.Image:
    """Smooth colours, edges and per-pixel grain (odd sizes: no even halves to hide behind)."""
    low = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(size)
    grain = rng.normal(0, 12, (size[1], size[0], 3))
    return Image.fromarray(np.uint8(np.clip(np.asarray(low) + grain, 0, 255)))


def encoded(image: Image.Image, kind: str) -> bytes:
    """`image` as a baseline, progressive, grayscale or CMYK JPEG."""
    out = io.BytesIO()
    mode = {"grayscale": "L", "cmyk": "CMYK"}.get(kind, "RGB")
    image.convert(mode).save(out, "JPEG", quality=90, progressive=kind == "progressive")
    return out.getvalue()


def random_person(rng: np.random.Generator, size: tuple[int, int]) -> dict:
    """A person's fields, tiny to huge, inside, across the border of or wholly outside the image."""
    width, height = size
    center = rng.uniform([-0.5 * width, -0.5 * height], [1.5 * width, 1.5 * height])
    if rng.random() < 0.1:
        center = center + rng.choice([-1, 1], 2) * 5 * max(size)  # wholly outside
    scale = float(np.exp(rng.uniform(np.log(0.05), np.log(8.0))))
    joints = center + rng.normal(0, 60 * scale, (16, 2))
    return {"center": center, "scale": np.float64(scale), "joints": joints,
            "visibility": rng.random(16) < 0.8, "annotation_index": 0}  # fmt: skip


def random_augmentation(rng: np.random.Generator) -> Augmentation:
    """HRNet's ranges, with the unrotated and the exactly diagonal and upright cases kept common."""
    rotation = rng.choice([0.0, 45.0, -90.0, rng.uniform(-60.0, 60.0), rng.uniform(-60.0, 60.0)])
    return Augmentation(rng.uniform(0.75, 1.25), float(rotation), bool(rng.random() < 0.5))


@pytest.mark.parametrize("kind", ["baseline", "progressive", "grayscale", "cmyk"])
def test_the_fast_path_gives_the_reference_paths_examples(kind):
    """The window path gives what the whole-image path does, from JPEG bytes and from the decoded
    RGB array alike: the same crops (to `MAX_GREY_DIFFERENCE`) and the same targets."""
    rng = np.random.default_rng(["baseline", "progressive", "grayscale", "cmyk"].index(kind))
    data = encoded(photo(rng), kind)
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    differences = []
    for _ in range(40):
        person, augmentation = random_person(rng, pixels.shape[1::-1]), random_augmentation(rng)
        for image in (data, pixels):
            ours = transforms.transform_example({**person, "image": image}, CONFIG, augmentation)
            theirs = transforms.transform_example({**person, "image": image}, REFERENCE, augmentation)  # fmt: skip
            assert (
                ours["image"].shape == theirs["image"].shape and ours["image"].dtype == np.float32
            )
            differences.append(np.abs(grey_levels(ours["image"]) - grey_levels(theirs["image"])))
            for key in ("heatmaps", "target_weight", "joints", "visibility", "transform"):
                np.testing.assert_array_equal(ours[key], theirs[key])
    differences = np.stack(differences)
    assert differences.max() <= MAX_GREY_DIFFERENCE, differences.max()
    assert differences.mean() <= MEAN_GREY_DIFFERENCE, differences.mean()


def test_the_fast_path_copies_only_the_window(monkeypatch):
    """A person's crop reads its window: the image is neither padded whole nor copied whole into
    Pillow (those whole-image copies cost more than the warp)."""
    pixels = np.asarray(photo(np.random.default_rng(5), (640, 480)))
    copied = []
    fromarray = Image.fromarray
    monkeypatch.setattr(Image, "fromarray", lambda a, *args: copied.append(a.shape) or fromarray(a, *args))  # fmt: skip
    monkeypatch.setattr(ImageOps, "expand", lambda *_, **__: pytest.fail("padded the whole image"))  # fmt: skip
    person = {"center": np.array([200.0, 150.0]), "scale": np.float64(0.5),
              "joints": np.full((16, 2), 200.0), "visibility": np.ones(16, bool)}  # fmt: skip
    out = transforms.transform_example({**person, "image": pixels}, CONFIG, AUGMENTATIONS[2])
    assert out["image"].shape == (*CONFIG.image_size, 3)
    assert len(copied) == 1 and copied[0][0] * copied[0][1] < pixels.shape[0] * pixels.shape[1] / 8


def test_a_person_without_centre_or_scale_has_a_black_crop():
    """Persons only the official .mat holds may lack both (NaN): nothing to sample, no error."""
    person = {"center": np.full(2, np.nan), "scale": np.float64(np.nan),
              "joints": np.full((16, 2), -1.0), "visibility": np.zeros(16, bool)}  # fmt: skip
    pixels = np.full((48, 64, 3), 200, np.uint8)
    out = transforms.transform_example({**person, "image": pixels}, CONFIG)
    np.testing.assert_allclose(grey_levels(out["image"]), 0.0, atol=1e-3)
    assert not out["target_weight"].any()
