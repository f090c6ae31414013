"""The training pipeline's top-down transform in numpy and Pillow, for `tfds.data_source` readers
(Grain, PyTorch): no TensorFlow.

Same conventions and outputs as `mpii_pose.training.tf_pipeline` (see its docstring): (height, width) sizes,
(x, y) points, 0-based pixel centres, centre-aligned heatmaps, `transform` from original 0-based
image pixels to crop pixels, HRNet's centre/scale adjustment and augmentation. Augmentation is
drawn from a `numpy.random.Generator`, so that the same seed gives the same example; given the
same augmentation, outputs agree with the TensorFlow pipeline's (crops within Pillow's 8-bit
rounding, heatmaps and weights to float32 precision).
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from mpii_pose.training.config import FLIP_PERMUTATION, PIXELS_PER_SCALE, PipelineConfig

_BORDER = 2  # black pixels around the image while warping
# What a training or evaluation batch needs of a transformed example: inputs, targets, the way
# back to image coordinates, and the example's identity and head box (for PCKh).
BATCH_KEYS: tuple[str, ...] = (
    "image",
    "heatmaps",
    "target_weight",
    "joints",
    "visibility",
    "transform",
    "head_box",
    "annotation_index",
)


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """One example's augmentation: crop scale multiplier, rotation in degrees, horizontal flip."""

    multiplier: float = 1.0
    rotation: float = 0.0
    flip: bool = False


def sample_augmentation(rng: np.random.Generator, config: PipelineConfig) -> Augmentation:
    """(scale multiplier, rotation, flip) drawn as HRNet does (see `PipelineConfig`)."""
    sf, rf = config.scale_factor, config.rotation_factor
    multiplier = float(np.clip(1.0 + sf * rng.standard_normal(), 1.0 - sf, 1.0 + sf))
    angle = float(np.clip(rf * rng.standard_normal(), -2.0 * rf, 2.0 * rf))
    rotate = rng.random() < config.rotation_probability
    flip = bool(rng.random() < config.flip_probability)
    return Augmentation(multiplier, angle if rotate else 0.0, flip)


def person_box(center: Any, scale: float, config: PipelineConfig) -> tuple[np.ndarray, float]:
    """The stored 1-based center and scale as the 0-based (center, scale) the crop is built from."""
    center = np.asarray(center, np.float64)
    if config.hrnet_adjustment:
        center = center + [0.0, 15.0 * scale]
        scale = scale * 1.25
    return center - 1.0, float(scale)


def affine_matrix(
    center: np.ndarray, scale: float, rotation: float, flip: bool, image_size: tuple[int, int]
) -> np.ndarray:
    """2×3 matrix: 0-based image px -> crop px, as `pipeline.affine_matrix`."""
    height, width = image_size
    zoom = min(height, width) / (PIXELS_PER_SCALE * scale)
    radians = math.radians(rotation)
    cos, sin = math.cos(radians) * zoom, math.sin(radians) * zoom
    mirror = -1.0 if flip else 1.0
    linear = np.array([[mirror * cos, mirror * sin], [-sin, cos]])
    shift = np.array([(width - 1) / 2, (height - 1) / 2]) - linear @ center
    return np.hstack([linear, shift[:, None]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2×3 affine matrix."""
    return np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (N, 2) mapped by a 2×3 matrix."""
    return np.asarray(points, np.float64) @ matrix[:, :2].T + matrix[:, 2]


def decoded_image(image: Any) -> Image.Image:
    """The RGB image, from an (h, w, 3) uint8 array (a decoded example) or JPEG bytes."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        with Image.open(io.BytesIO(image)) as picture:
            return picture.convert("RGB")
    return Image.fromarray(np.asarray(image, np.uint8), "RGB")


def warp_image(image: Image.Image, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The (h, w, 3) float32 crop of `image` under `matrix`: bilinear, black outside the image."""
    inverse = invert_affine(matrix)
    # Pillow maps output pixel (x + 0.5, y + 0.5) and samples with pixel centres at +0.5; a black
    # border lets its bilinear blend edge pixels with black, as TensorFlow's constant fill does.
    inverse[:, 2] += 0.5 - inverse[:, :2] @ [0.5, 0.5] + _BORDER
    padded = ImageOps.expand(image, border=_BORDER, fill=0)
    height, width = size
    crop = padded.transform(
        (width, height),
        Image.Transform.AFFINE,
        tuple(inverse.ravel()),
        Image.Resampling.BILINEAR,
    )
    return np.asarray(crop, np.float32)


def crop_to_heatmap(points: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """Crop px -> heatmap px, centre-aligned."""
    return (points + 0.5) / np.array(config.stride) - 0.5


def gaussian_heatmaps(points: np.ndarray, weight: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """(h, w, J) float32 maps: exp(-d²/2σ²) around each joint's heatmap position, times weight."""
    height, width = config.heatmap_size
    scale = -0.5 / config.sigma**2
    gx = np.exp(scale * np.square(np.arange(width) - points[:, :1]))  # (J, w)
    gy = np.exp(scale * np.square(np.arange(height) - points[:, 1:]))  # (J, h)
    return np.einsum("jy,jx,j->yxj", gy, gx, weight).astype(np.float32)


def normalize(crop: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """RGB 0-255 -> (rgb / 255 - mean) / std, float32."""
    mean, std = np.asarray(config.mean, np.float32), np.asarray(config.std, np.float32)
    return ((crop / np.float32(255.0) - mean) / std).astype(np.float32)


def transform_example(
    example: Mapping[str, Any],
    config: PipelineConfig,
    augmentation: Augmentation | None = None,
) -> dict[str, Any]:
    """One mpii_pose example (from `tfds.data_source`) -> training inputs and targets, as
    `pipeline.transform_example`; features it does not use pass through. Without `augmentation`,
    the evaluation crop."""
    augmentation = augmentation or Augmentation()
    center, scale = person_box(example["center"], float(example["scale"]), config)
    matrix = affine_matrix(
        center,
        scale * augmentation.multiplier,
        augmentation.rotation,
        augmentation.flip,
        config.image_size,
    )
    crop = warp_image(decoded_image(example["image"]), matrix, config.image_size)
    joints = apply_affine(matrix, np.asarray(example["joints"], np.float64) - 1.0)
    visibility = np.asarray(example["visibility"], bool)
    if augmentation.flip:
        order = list(FLIP_PERMUTATION)
        joints, visibility = joints[order], visibility[order]
    height, width = config.image_size
    inside = ((joints >= -0.5) & (joints < [width - 0.5, height - 0.5])).all(axis=-1)
    weight = (visibility & inside).astype(np.float32)
    return {
        **example,
        "image": normalize(crop, config),
        "joints": joints.astype(np.float32),
        "visibility": visibility,
        "heatmaps": gaussian_heatmaps(crop_to_heatmap(joints, config), weight, config),
        "target_weight": weight,
        "transform": matrix.astype(np.float32),
    }


def decode_heatmaps(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., h, w, J) heatmaps -> ((..., J, 2) heatmap px, (..., J) peak values), as
    `pipeline.decode_heatmaps`: the argmax, moved a quarter pixel towards the higher neighbour."""
    heatmaps = np.asarray(heatmaps, np.float32)
    height, width = heatmaps.shape[-3:-1]
    flat = np.moveaxis(heatmaps, -1, -3).reshape(*heatmaps.shape[:-3], heatmaps.shape[-1], -1)
    index = flat.argmax(axis=-1)
    peak = np.take_along_axis(flat, index[..., None], -1)[..., 0]
    x, y = index % width, index // width

    def slope(inner: np.ndarray, step: int) -> np.ndarray:
        step_at = np.where(inner, step, 0)
        after = np.take_along_axis(flat, (index + step_at)[..., None], -1)[..., 0]
        before = np.take_along_axis(flat, (index - step_at)[..., None], -1)[..., 0]
        return np.sign(after - before)

    dx = slope((x > 0) & (x < width - 1), 1)
    dy = slope((y > 0) & (y < height - 1), width)
    return np.stack([x + 0.25 * dx, y + 0.25 * dy], -1).astype(np.float32), peak


def to_image_coordinates(
    points: np.ndarray, transform: np.ndarray, stride: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray:
    """Crop px (stride 1) or heatmap px (stride `config.stride`), (N, 2) -> original image
    MATLAB 1-based px, through the inverse of `transform`."""
    crop = (np.asarray(points, np.float64) + 0.5) * np.array(stride) - 0.5
    return apply_affine(invert_affine(np.asarray(transform, np.float64)), crop) + 1.0


def person_examples(example: Mapping[str, Any], annotated_only: bool = True) -> list[dict]:
    """The persons of a per_image example, one example each with the per_person features (the
    image's fields repeated), as `transform_example` takes them; the persons only the official
    .mat holds are left out unless not `annotated_only`."""
    persons = example["persons"]
    image = {name: value for name, value in example.items() if name != "persons"}
    return [
        {**image, **{name: values[i] for name, values in persons.items()}}
        for i, annotated in enumerate(persons["annotated"])
        if annotated or not annotated_only
    ]


def batch_fields(example: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The BATCH_KEYS of a transformed example, as arrays (for Grain's or PyTorch's batching)."""
    return {key: np.asarray(example[key]) for key in BATCH_KEYS}
