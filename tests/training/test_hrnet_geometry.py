"""`PipelineConfig(geometry="hrnet")` against HRNet's own code (tests/training/hrnet_reference.py,
OpenCV included): transforms, crops, targets and weights over random boxes, scales, rotations and
flips, decoded predictions over random heatmaps, and the flip test; from the TensorFlow pipeline
and the numpy transform alike."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from mpii_pose.base.skeleton import NUM_JOINTS
from mpii_pose.training import numpy_transforms as transforms
from mpii_pose.training import tf_pipeline as pipeline
from mpii_pose.training.config import FLIP_PERMUTATION, PipelineConfig
from mpii_pose.training.numpy_transforms import Augmentation
from tests.training import hrnet_reference as hrnet
from tests.training.tf_twin import tensorflow_outputs

SQUARE = PipelineConfig(geometry="hrnet", mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
CONFIGS = {
    "256x256": SQUARE,
    # Landscape crops (HRNet's box spans the width, not the shorter side), a non-integer 3σ
    # (HRNet's int() then truncates windows towards 0).
    "w256 h192 sigma 1.5": dataclasses.replace(
        SQUARE, image_size=(192, 256), heatmap_size=(48, 64), sigma=1.5
    ),
    # Strides 4 across and 8 down: HRNet maps heatmaps back with the x stride on both axes.
    "w192 h256 strides 4, 8": dataclasses.replace(
        SQUARE, image_size=(256, 192), heatmap_size=(32, 48)
    ),
}
IMAGE_HEIGHT, IMAGE_WIDTH = 240, 320


def smooth_image(rng: np.random.Generator) -> np.ndarray:
    """A (240, 320) RGB image of smooth colour waves: bilinear samples of it are well defined
    to a fraction of a grey level, so crops can be compared with OpenCV's fixed-point warp."""
    coarse = rng.integers(0, 256, (IMAGE_HEIGHT // 16, IMAGE_WIDTH // 16, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((IMAGE_WIDTH, IMAGE_HEIGHT), Image.BICUBIC))


def random_cases(seed: int, count: int) -> list[tuple[dict, Augmentation]]:
    """Persons around and beyond the image, joints within and far outside their crops, a fifth
    unlabelled; rotations (0 in 40% of cases, as upright crops take another path), flips."""
    rng = np.random.default_rng(seed)
    image = smooth_image(rng)
    cases = []
    for _ in range(count):
        center = rng.uniform([-40.0, -40.0], [IMAGE_WIDTH + 40.0, IMAGE_HEIGHT + 40.0])
        scale = rng.uniform(0.3, 2.0)
        joints = center + rng.normal(0.0, 70.0 * scale, (NUM_JOINTS, 2))
        example = {
            "image": image,
            "center": center,
            "scale": np.float64(scale),
            "joints": joints,
            "visibility": rng.random(NUM_JOINTS) < 0.8,
        }
        rotation = 0.0 if rng.random() < 0.4 else float(rng.uniform(-60.0, 60.0))
        augmentation = Augmentation(
            float(rng.uniform(0.75, 1.25)), rotation, bool(rng.random() < 0.5)
        )
        cases.append((example, augmentation))
    return cases


def hrnet_example(example: dict, augmentation: Augmentation, config: PipelineConfig) -> dict:
    return hrnet.training_example(
        example["image"],
        example["center"],
        float(example["scale"]),
        example["joints"],
        example["visibility"],
        augmentation.multiplier,
        augmentation.rotation,
        augmentation.flip,
        image_size=config.image_size[::-1],
        heatmap_size=config.heatmap_size[::-1],
        sigma=config.sigma,
    )


def twins(example: dict, augmentation: Augmentation, config: PipelineConfig) -> dict[str, dict]:
    return {
        "numpy": transforms.transform_example(example, config, augmentation),
        "tensorflow": tensorflow_outputs(example, augmentation, config),
    }


def at_rounding_edge(reference: dict, config: PipelineConfig) -> np.ndarray:
    """Joints whose heatmap position x / stride + 0.5 is within 1e-4 of a whole number, where
    float32 and HRNet's float64 may round to neighbouring pixels."""
    position = reference["joints"] / np.array(config.stride) + 0.5
    return (np.abs(position - np.round(position)) < 1e-4).any(axis=1)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_transforms_targets_and_weights_are_hrnets(name):
    config = CONFIGS[name]
    height, width = config.image_size
    compared = edges = outside_weighted = missed = 0
    for example, augmentation in random_cases(seed=len(name), count=60):
        reference = hrnet_example(example, augmentation, config)
        edge = at_rounding_edge(reference, config)
        keep = ~edge
        edges += int(edge.sum())
        labelled = reference["target_weight"] > 0
        for twin, out in twins(example, augmentation, config).items():
            where = f"{twin}, {augmentation}"
            np.testing.assert_allclose(
                out["transform"], reference["transform"], rtol=1e-5, atol=2e-3, err_msg=where
            )
            np.testing.assert_allclose(
                out["joints"][labelled], reference["joints"][labelled], atol=2e-3, err_msg=where
            )
            np.testing.assert_array_equal(
                out["target_weight"][keep], reference["target_weight"][keep], err_msg=where
            )
            np.testing.assert_allclose(
                out["heatmaps"][..., keep],
                reference["heatmaps"][..., keep],
                atol=1e-6,
                err_msg=where,
            )
        compared += int(keep.sum())
        joints = reference["joints"]
        outside = ((joints < -0.5) | (joints >= [width - 0.5, height - 0.5])).any(axis=1)
        outside_weighted += int((outside & labelled).sum())
        order = list(FLIP_PERMUTATION) if augmentation.flip else slice(None)
        missed += int((example["visibility"][order] & ~labelled).sum())
    assert edges <= 0.01 * compared  # joints compared: 60 persons × 16, less these
    # HRNet's weight rule is exercised both ways: joints outside the crop whose Gaussian still
    # reaches the heatmap keep their weight; others lose it.
    assert outside_weighted > 20 and missed > 20


@pytest.mark.parametrize("name", list(CONFIGS))
def test_crops_are_opencvs_warp_of_hrnets_matrix(name):
    """Both twins sample where HRNet's `cv2.warpAffine` does (OpenCV rounds sample positions to
    1/32 px: a fraction of a grey level on this smooth image); the half_pixel geometry's crops,
    half a pixel off, differ several times more."""
    config = CONFIGS[name]
    differences: dict[str, list[float]] = {"numpy": [], "tensorflow": [], "half_pixel": []}
    half_pixel = dataclasses.replace(config, geometry="half_pixel")
    for example, augmentation in random_cases(seed=3, count=12):
        reference = hrnet_example(example, augmentation, config).get("crop").astype(np.float32)
        outputs = twins(example, augmentation, config)
        outputs["half_pixel"] = transforms.transform_example(example, half_pixel, augmentation)
        for key, out in outputs.items():
            difference = np.abs(out["image"] * 255.0 - reference)
            assert key == "half_pixel" or difference.max() < 1.5, (key, augmentation)
            differences[key].append(float(difference.mean()))
    means = {key: float(np.mean(values)) for key, values in differences.items()}
    assert means["numpy"] < 0.6 and means["tensorflow"] < 0.3, means
    assert means["half_pixel"] > 4 * max(means["numpy"], means["tensorflow"]), means


def random_heatmaps(rng: np.random.Generator, config: PipelineConfig, count: int) -> np.ndarray:
    """(count, h, w, J) maps a model might give: noise with a peak inside, on the border, in the
    second row or column (where HRNet does not refine), all negative, all zero."""
    height, width = config.heatmap_size
    maps = rng.normal(0.0, 0.1, (count, height, width, NUM_JOINTS)).astype(np.float32)
    for n in range(count):
        for j in range(NUM_JOINTS):
            kind = rng.integers(6)
            if kind == 4:
                maps[n, ..., j] = -np.abs(maps[n, ..., j])
            elif kind == 5:
                maps[n, ..., j] = 0.0
            else:
                x = {0: rng.integers(width), 1: rng.choice([0, width - 1]), 2: 1, 3: width - 2}[
                    kind
                ]
                y = rng.integers(height) if kind else rng.choice([0, 1, height - 2, height - 1])
                maps[n, y, x, j] = 1.0 + rng.random()
    return maps


@pytest.mark.parametrize("name", list(CONFIGS))
def test_heatmaps_to_image_is_hrnets_get_final_preds_plus_1(name):
    config = CONFIGS[name]
    rng = np.random.default_rng(11)
    cases = random_cases(seed=5, count=8)
    maps = random_heatmaps(rng, config, len(cases))
    transform = np.stack(
        [transforms.transform_example(example, config)["transform"] for example, _ in cases]
    )
    boxes = [hrnet.loader_box(example["center"], float(example["scale"])) for example, _ in cases]
    want = hrnet.final_preds(
        np.transpose(maps, (0, 3, 1, 2)),
        np.stack([center for center, _ in boxes]),
        np.stack([scale for _, scale in boxes]),
    )
    ours = {
        "numpy": transforms.heatmaps_to_image(maps, transform, config),
        "tensorflow": pipeline.heatmaps_to_image(maps, transform, config).numpy(),
    }
    for twin, points in ours.items():
        assert points.shape == (len(cases), NUM_JOINTS, 2)
        np.testing.assert_allclose(points, want, atol=2e-3, err_msg=twin)
    # one example, no batch dimension
    single = transforms.heatmaps_to_image(maps[2], transform[2], config)
    np.testing.assert_allclose(single, want[2], atol=2e-3)
    single = pipeline.heatmaps_to_image(maps[2], transform[2], config).numpy()
    np.testing.assert_allclose(single, want[2], atol=2e-3)
    # the half_pixel decoding would be another answer: the test tells them apart
    other = transforms.heatmaps_to_image(
        maps, transform, dataclasses.replace(config, geometry="half_pixel")
    )
    assert np.abs(other - want).max() > 0.5


def test_hrnets_targets_decode_to_the_rounded_joint():
    """A perfect model's heatmaps (the targets) decode, through HRNet's geometry, to the joint's
    heatmap pixel int(x / stride + 0.5) mapped back: no quarter-pixel move (the Gaussian is
    symmetric about its pixel)."""
    config = SQUARE
    checked = 0
    for example, _ in random_cases(seed=9, count=20):
        out = transforms.transform_example(example, config)
        pixel = np.trunc(out["joints"] / np.array(config.stride) + 0.5)
        crop = pixel * np.array(config.stride)
        want = transforms.to_image_coordinates(crop, out["transform"])
        points = transforms.heatmaps_to_image(out["heatmaps"], out["transform"], config)
        height, width = config.heatmap_size
        inside = ((pixel >= 0) & (pixel < [width, height])).all(axis=1) & (out["target_weight"] > 0)
        np.testing.assert_allclose(points[inside], want[inside], atol=1e-3)
        checked += int(inside.sum())
    assert checked > 100


def test_flip_back_is_hrnets_flip_back_with_its_shift():
    maps = np.random.default_rng(2).random((3, 64, 48, NUM_JOINTS), dtype=np.float32)
    want = np.transpose(hrnet.flip_test_back(np.transpose(maps, (0, 3, 1, 2))), (0, 2, 3, 1))
    np.testing.assert_array_equal(transforms.flip_back(maps, SQUARE), want)
    np.testing.assert_array_equal(pipeline.flip_back(tf.constant(maps), SQUARE).numpy(), want)


def test_half_pixel_crops_mirror_exactly_so_flip_back_does_not_shift():
    """Under half_pixel a flipped crop is the mirrored crop and its targets flip back onto the
    crop's own: the flip test needs no shift. Under HRNet's geometry they are a pixel apart."""
    config = dataclasses.replace(SQUARE, geometry="half_pixel")
    for example, _ in random_cases(seed=4, count=10):
        plain = transforms.transform_example(example, config)
        flipped = transforms.transform_example(example, config, Augmentation(flip=True))
        np.testing.assert_allclose(flipped["image"], plain["image"][:, ::-1], atol=1.01 / 255)
        for twin in (transforms.flip_back, lambda m, c: pipeline.flip_back(m, c).numpy()):
            np.testing.assert_allclose(
                twin(flipped["heatmaps"], config), plain["heatmaps"], atol=1e-5
            )
        hrnet_plain = transforms.transform_example(example, SQUARE)
        hrnet_flipped = transforms.transform_example(example, SQUARE, Augmentation(flip=True))
        mirror = hrnet_flipped["transform"][0] + hrnet_plain["transform"][0]  # x + x' per image px
        np.testing.assert_allclose(mirror[:2], 0.0, atol=1e-4)
        np.testing.assert_allclose(mirror[2], SQUARE.image_size[1], atol=1e-3)  # W, not W - 1


def test_an_unknown_geometry_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="geometry='udp'.*'hrnet', 'half_pixel'"):
        PipelineConfig(geometry="udp")


def test_the_default_geometry_is_hrnets():
    assert PipelineConfig().geometry == "hrnet"
