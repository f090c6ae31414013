"""The training pipeline's top-down transform in numpy and Pillow, for `tfds.data_source` readers
(Grain, PyTorch): no TensorFlow.

Same conventions and outputs as `mpii_pose.training.tf_pipeline` (see its docstring): (height, width) sizes,
(x, y) points, 0-based pixel centres, `transform` from original 0-based image pixels to crop
pixels, the geometry `PipelineConfig.geometry` names, HRNet's centre/scale adjustment and
augmentation. Augmentation is
drawn from a `numpy.random.Generator`, so that the same seed gives the same example; given the
same augmentation, outputs agree with the TensorFlow pipeline's (crops within Pillow's 8-bit
rounding, heatmaps and weights to float32 precision).

The crop is warped from the window of the image it reads, not from a copy of the whole image in a
black border (`PipelineConfig.reference_path`, kept to compare with): the same pixels (to a rare
grey level, see `window_warp`) at a fraction of the memory traffic.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from mpii_pose.training.config import FLIP_PERMUTATION, PIXELS_PER_SCALE, PipelineConfig

_BORDER = 2  # black pixels around the image while warping
# Source pixels read beyond the bilinear neighbours of the crop's corners: covers the rounding of
# the window's bounds (the samples in between lie inside the corners' bounding box).
_MARGIN = 2
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
    center: np.ndarray, scale: float, rotation: float, flip: bool, config: PipelineConfig
) -> np.ndarray:
    """2×3 matrix: 0-based image px -> crop px under `config.geometry`, as `pipeline.affine_matrix`."""
    zoom = config.box_span / (PIXELS_PER_SCALE * scale)
    radians = math.radians(rotation)
    cos, sin = math.cos(radians) * zoom, math.sin(radians) * zoom
    mirror = -1.0 if flip else 1.0
    if config.hrnet:  # the image mirrored, then rotated
        linear = np.array([[mirror * cos, sin], [-mirror * sin, cos]])
    else:  # rotated, then the crop mirrored
        linear = np.array([[mirror * cos, mirror * sin], [-sin, cos]])
    shift = np.array(config.crop_center) - linear @ center
    return np.hstack([linear, shift[:, None]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of 2×3 affine matrices (any leading batch dimensions)."""
    matrix = np.asarray(matrix, np.float64)
    bottom = np.broadcast_to([0.0, 0.0, 1.0], (*matrix.shape[:-2], 1, 3))
    return np.linalg.inv(np.concatenate([matrix, bottom], axis=-2))[..., :2, :]


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (..., N, 2) mapped by 2×3 matrices (..., 2, 3)."""
    matrix = np.asarray(matrix, np.float64)
    linear = np.swapaxes(matrix[..., :2], -1, -2)
    return np.asarray(points, np.float64) @ linear + matrix[..., None, :, 2]


def decoded_image(image: Any) -> Image.Image:
    """The RGB image, from an (h, w, 3) uint8 array (a decoded example) or JPEG bytes."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        with Image.open(io.BytesIO(image)) as picture:
            return picture.convert("RGB")
    return Image.fromarray(np.asarray(image, np.uint8), "RGB")


def padded_inverse(matrix: np.ndarray) -> np.ndarray:
    """Pillow's AFFINE coefficients for `matrix`: crop px -> px of the image in its black border."""
    inverse = invert_affine(matrix)
    # Pillow maps output pixel (x + 0.5, y + 0.5) and samples with pixel centres at +0.5; a black
    # border lets its bilinear blend edge pixels with black, as TensorFlow's constant fill does.
    inverse[:, 2] += 0.5 - inverse[:, :2] @ [0.5, 0.5] + _BORDER
    return inverse


def warped(picture: Image.Image, coefficients: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """The (h, w) bilinear AFFINE transform of `picture`, black where it samples outside."""
    height, width = size
    return picture.transform(
        (width, height),
        Image.Transform.AFFINE,
        tuple(coefficients.ravel()),
        Image.Resampling.BILINEAR,
    )


def warp_image(image: Image.Image, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The (h, w, 3) float32 crop of `image` under `matrix`: bilinear, black outside the image."""
    padded = ImageOps.expand(image, border=_BORDER, fill=0)
    return np.asarray(warped(padded, padded_inverse(matrix), size), np.float32)


def source_box(
    coefficients: np.ndarray, image_size: tuple[int, int], size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) image px that the crop of `size` under `padded_inverse`
    `coefficients` reads: its corners' bilinear neighbours and `_MARGIN`, cut to the image of
    (width, height) `image_size` and its border (empty if the crop reads neither)."""
    height, width = size
    corners = np.array([[0.5, 0.5], [width - 0.5, 0.5], [0.5, height - 0.5], [width - 0.5, height - 0.5]])  # fmt: skip
    samples = corners @ coefficients[:, :2].T + coefficients[:, 2] - 0.5
    limit = np.add(image_size, 2 * _BORDER)
    low = np.clip(np.floor(samples.min(axis=0)) - _MARGIN, 0, limit)
    high = np.clip(np.floor(samples.max(axis=0)) + 2 + _MARGIN, low, limit)
    left, top, right, bottom = (np.concatenate([low, high]).astype(int) - _BORDER).tolist()
    return left, top, right, bottom


def image_window(
    image: Any, coefficients: np.ndarray, size: tuple[int, int]
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The RGB window of an example's image (an (h, w, 3) uint8 array or encoded bytes) that the
    crop reads, black outside the image, and its `source_box`: only the window is copied or
    converted (`Image.fromarray` or `convert` of the whole image copies all of it)."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        picture = Image.open(io.BytesIO(image))
        box = source_box(coefficients, picture.size, size)
        if picture.mode == "RGB":
            return picture.crop(box), box
        # Converted before the black is added: black is 0 in RGB, not in CMYK.
        inside = clipped(box, picture.size)
        return black_padded(picture.crop(inside).convert("RGB"), box, inside), box
    pixels = np.asarray(image, np.uint8)
    box = source_box(coefficients, (pixels.shape[1], pixels.shape[0]), size)
    left, top, right, bottom = inside = clipped(box, (pixels.shape[1], pixels.shape[0]))
    return black_padded(Image.fromarray(pixels[top:bottom, left:right], "RGB"), box, inside), box


def clipped(
    box: tuple[int, int, int, int], image_size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """`box` cut to an image of (width, height) `image_size`."""
    left, top, right, bottom = np.clip(box, 0, [*image_size, *image_size]).tolist()
    return left, top, right, bottom


def black_padded(
    part: Image.Image, box: tuple[int, int, int, int], inside: tuple[int, int, int, int]
) -> Image.Image:
    """`box` of an image whose pixels `part` holds at `inside` (image px), black elsewhere."""
    if box == inside:
        return part  # not copied again: a window's copy costs more than its memcpy (page faults)
    left, top = inside[:2]
    return part.crop((box[0] - left, box[1] - top, box[2] - left, box[3] - top))


def window_warp(image: Any, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`warp_image`'s crop, as uint8, from the window it reads rather than the whole image in a
    border, without whole-image copies; black for a person without centre or scale (where Pillow
    would sample at NaN). The same samples of the same pixels, but their coordinates are rounded
    at other magnitudes: rarely (about one value in a million), a bilinear value that is a whole
    grey level comes out a hair below it and Pillow's truncation makes it one level lower."""
    coefficients = padded_inverse(matrix)
    if not np.isfinite(coefficients).all():  # no centre or scale (NaN): nothing to sample
        return np.zeros((*size, 3), np.uint8)
    window, (left, top, _, _) = image_window(image, coefficients, size)
    coefficients[:, 2] -= [left + _BORDER, top + _BORDER]
    return np.asarray(warped(window, coefficients, size))


def crop_to_heatmap(points: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """Crop px -> heatmap px, centre-aligned (half_pixel)."""
    return (points + 0.5) / np.array(config.stride) - 0.5


def gaussian_heatmaps(points: np.ndarray, weight: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """(h, w, J) float32 maps: exp(-d²/2σ²) around each joint's heatmap position, times weight."""
    height, width = config.heatmap_size
    scale = -0.5 / config.sigma**2
    gx = np.exp(scale * np.square(np.arange(width) - points[:, :1]))  # (J, w)
    gy = np.exp(scale * np.square(np.arange(height) - points[:, 1:]))  # (J, h)
    return (gy.T[:, None, :] * (gx * weight[:, None]).T[None, :, :]).astype(np.float32)


def targets(
    joints: np.ndarray, visibility: np.ndarray, config: PipelineConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(heatmaps (h, w, J) float32, target_weight (J,) float32) of crop-px joints, as
    `pipeline.targets`: HRNet's `generate_target`, or half_pixel's sub-pixel Gaussians with no
    weight for a joint outside the crop."""
    if config.hrnet:
        return hrnet_targets(joints, visibility, config)
    height, width = config.image_size
    inside = ((joints >= -0.5) & (joints < [width - 0.5, height - 0.5])).all(axis=-1)
    weight = (visibility & inside).astype(np.float32)
    return gaussian_heatmaps(crop_to_heatmap(joints, config), weight, config), weight


def hrnet_targets(
    joints: np.ndarray, visibility: np.ndarray, config: PipelineConfig
) -> tuple[np.ndarray, np.ndarray]:
    """HRNet's `generate_target`: mu = int(x / stride + 0.5) (int truncates towards 0), the window
    [int(mu - 3σ), int(mu + 3σ + 1)) holds a Gaussian centred at its start + (6σ + 1) // 2 (mu
    when 3σ is whole); weight 0 for an unlabelled joint and where HRNet's bounds test finds the
    window outside the heatmap (start >= size or end < 0: a window ending at 0 keeps its weight
    and an empty map)."""
    radius, size = 3.0 * config.sigma, 6.0 * config.sigma + 1.0
    mu = np.trunc(joints / np.array(config.stride) + 0.5)
    low, high = np.trunc(mu - radius), np.trunc(mu + radius + 1.0)
    end = np.minimum(high, low + math.ceil(size))  # HRNet's kernel has ceil(size) values
    centre = low + size // 2
    extent = np.array(config.heatmap_size[::-1])  # (w, h)
    missed = ((low >= extent) | (high < 0)).any(axis=-1)
    weight = np.asarray(visibility, bool) & np.isfinite(joints).all(axis=-1) & ~missed
    scale = -0.5 / config.sigma**2

    def along(axis: int) -> np.ndarray:
        """(J, n) Gaussian profiles along x (0) or y (1), 0 outside each window."""
        pixels = np.arange(extent[axis])
        span = (pixels >= low[:, axis : axis + 1]) & (pixels < end[:, axis : axis + 1])
        with np.errstate(invalid="ignore"):  # NaN joints: no weight, no values
            profile = np.exp(scale * np.square(pixels - centre[:, axis : axis + 1]))
        return np.where(span & weight[:, None], profile, 0.0)

    heatmaps = along(1).T[:, None, :] * along(0).T[None, :, :]
    return heatmaps.astype(np.float32), weight.astype(np.float32)


def normalize(crop: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """RGB 0-255 -> (rgb / 255 - mean) / std, float32."""
    mean, std = np.asarray(config.mean, np.float32), np.asarray(config.std, np.float32)
    return ((crop / np.float32(255.0) - mean) / std).astype(np.float32)


@functools.cache
def _normalization(config: PipelineConfig) -> tuple[np.ndarray, np.ndarray]:
    """Factor and offset of `normalize` as one multiply-add, tiled along a crop row (width × RGB)
    so that numpy's inner loop runs over rows rather than over 3 channels (7× faster)."""
    std, width = np.asarray(config.std), config.image_size[1]
    scale = np.tile(1.0 / (255.0 * std), width).astype(np.float32)
    offset = np.tile(-np.asarray(config.mean) / std, width).astype(np.float32)
    return scale, offset


def normalized(crop: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """`normalize` of a uint8 crop, in place in its one float32 copy (equal to float32 rounding)."""
    scale, offset = _normalization(config)
    rows = crop.reshape(crop.shape[0], -1).astype(np.float32)
    rows *= scale
    rows += offset
    return rows.reshape(crop.shape)


def crop_image(image: Any, matrix: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """The normalized float32 crop: from the window it reads, or with `config.reference_path`
    from the whole image in a border (the slower way, kept to compare with)."""
    if config.reference_path:
        return normalize(warp_image(decoded_image(image), matrix, config.image_size), config)
    return normalized(window_warp(image, matrix, config.image_size), config)


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
        config,
    )
    joints = apply_affine(matrix, np.asarray(example["joints"], np.float64) - 1.0)
    visibility = np.asarray(example["visibility"], bool)
    if augmentation.flip:
        order = list(FLIP_PERMUTATION)
        joints, visibility = joints[order], visibility[order]
    heatmaps, weight = targets(joints, visibility, config)
    return {
        **example,
        "image": crop_image(example["image"], matrix, config),
        "joints": joints.astype(np.float32),
        "visibility": visibility,
        "heatmaps": heatmaps,
        "target_weight": weight,
        "transform": matrix.astype(np.float32),
    }


def decode_heatmaps(
    heatmaps: np.ndarray, config: PipelineConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(..., h, w, J) heatmaps -> ((..., J, 2) heatmap px, (..., J) peak values), as
    `pipeline.decode_heatmaps`: the argmax, moved a quarter pixel towards the higher neighbour.
    HRNet's geometry (`get_final_preds`; the default config's) moves both axes only where
    1 < x < w - 1 and 1 < y < h - 1, and gives (0, 0) for a map without a positive value;
    half_pixel moves each axis where both its neighbours exist."""
    config = config or PipelineConfig()
    heatmaps = np.asarray(heatmaps, np.float32)
    height, width = heatmaps.shape[-3:-1]
    flat = np.moveaxis(heatmaps, -1, -3).reshape(*heatmaps.shape[:-3], heatmaps.shape[-1], -1)
    index = flat.argmax(axis=-1)
    peak = np.take_along_axis(flat, index[..., None], -1)[..., 0]
    if config.hrnet:
        index = np.where(peak > 0, index, 0)
    x, y = index % width, index // width
    if config.hrnet:
        inner_x = inner_y = (x > 1) & (x < width - 1) & (y > 1) & (y < height - 1)
    else:
        inner_x, inner_y = (x > 0) & (x < width - 1), (y > 0) & (y < height - 1)

    def slope(inner: np.ndarray, step: int) -> np.ndarray:
        step_at = np.where(inner, step, 0)
        after = np.take_along_axis(flat, (index + step_at)[..., None], -1)[..., 0]
        before = np.take_along_axis(flat, (index - step_at)[..., None], -1)[..., 0]
        return np.sign(after - before)

    dx, dy = slope(inner_x, 1), slope(inner_y, width)
    return np.stack([x + 0.25 * dx, y + 0.25 * dy], -1).astype(np.float32), peak


def heatmap_to_crop(points: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """Heatmap px (..., 2) -> crop px under `config.geometry` (`PipelineConfig.heatmap_to_crop`)."""
    factor, offset = config.heatmap_to_crop
    return np.asarray(points, np.float64) * factor + offset


def to_image_coordinates(points: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """Crop px (..., N, 2) -> original image MATLAB 1-based px, through the inverse of
    `transform` (..., 2, 3)."""
    return apply_affine(invert_affine(transform), points) + 1.0


def heatmaps_to_image(
    heatmaps: np.ndarray, transform: np.ndarray, config: PipelineConfig
) -> np.ndarray:
    """Heatmaps of one example (h, w, J) or a batch (..., h, w, J) -> (..., J, 2) original image
    MATLAB 1-based px (what PCKh and MPII's submission take), decoded under `config.geometry`;
    with HRNet's, exactly HRNet's `get_final_preds` and MPII's +1."""
    points, _ = decode_heatmaps(heatmaps, config)
    return to_image_coordinates(heatmap_to_crop(points, config), transform)


def flip_back(heatmaps: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """A model's heatmaps (..., h, w, J) for a mirrored crop (`image[..., ::-1, :]`), back in the
    crop's frame for the flip test (average them with the crop's own): mirrored, left and right
    joints swapped and, under HRNet's geometry, moved one pixel right as HRNet's test does
    (`SHIFT_HEATMAP`: there a mirrored crop is not the crop of the mirrored image); half_pixel
    crops mirror exactly, so nothing moves."""
    maps = np.asarray(heatmaps)[..., ::-1, :][..., list(FLIP_PERMUTATION)]
    if config.hrnet:
        maps = np.concatenate([maps[..., :1, :], maps[..., :-1, :]], axis=-2)
    return maps


def person_examples(example: Mapping[str, Any], annotated_only: bool = True) -> list[dict]:
    """The persons of a per_image example, one example each with the per_person features (the
    image's fields repeated), as `transform_example` takes them; the persons only the official
    .mat holds are left out unless not `annotated_only`. Encoded image bytes are decoded here,
    once, when more than one person takes them (Pillow decodes a whole JPEG for each crop)."""
    persons = example["persons"]
    image = {name: value for name, value in example.items() if name != "persons"}
    chosen = [
        i for i, annotated in enumerate(persons["annotated"]) if annotated or not annotated_only
    ]
    if len(chosen) > 1 and isinstance(image["image"], (bytes, bytearray, memoryview)):
        image["image"] = np.asarray(decoded_image(image["image"]))
    return [{**image, **{name: values[i] for name, values in persons.items()}} for i in chosen]


def batch_fields(example: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The BATCH_KEYS of a transformed example, as arrays (for Grain's or PyTorch's batching)."""
    return {key: np.asarray(example[key]) for key in BATCH_KEYS}
