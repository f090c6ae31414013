"""Training input pipeline: person crops, HRNet-style augmentation and Gaussian heatmap targets.

Graph-mode TensorFlow only (no `py_function`, no numpy in map functions), so it runs inside
`tf.data` on every core. Not imported by `import mpii_pose`, which stays free of TensorFlow.

Conventions:

- Sizes are **(height, width)**, as in TensorFlow; points and strides are **(x, y)**.
- Pixel coordinates are 0-based with **integer values at pixel centres** (as `cv2.warpAffine` and
  `ImageProjectiveTransformV3`): a crop of width W spans x in [-0.5, W - 0.5].
- `transform` is the 2×3 affine matrix from original-image 0-based pixels to crop pixels.
- `PipelineConfig.geometry` says where the crop, the targets and decoded predictions sit:
  "hrnet" (the default) as HRNet's code computes them (box centre at crop px (W/2, H/2), heatmap
  x = crop x / s with s = image width / heatmap width, Gaussians on rounded heatmap pixels);
  "half_pixel" centre-aligned (box centre at ((W-1)/2, (H-1)/2); heatmap cell j covers crop
  pixels [j·s - 0.5, (j+1)·s - 0.5), so heatmap x = (crop x + 0.5) / s - 0.5, as
  `tf.image.resize` maps pixels).

Work is done at the crop's size (`warp_window`): of a JPEG only the window the crop reads is
decoded, only that window is made float, a crop without rotation is resized rather than warped
and the crop is normalised with per-pixel constants. `PipelineConfig(reference_path=True)` keeps
the whole-image path; both give the same examples within a tenth of a grey level
(tests/training/test_tf_window.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import tensorflow as tf

from mpii_pose.base.skeleton import NUM_JOINTS
from mpii_pose.training.config import FLIP_PERMUTATION, PIXELS_PER_SCALE, PipelineConfig

_JPEG_START = b"\xff\xd8"
# Pixels beyond a crop's bilinear neighbours in its source window: one for rounding, one for the
# outer columns of a window-decoded JPEG (upsampled from the window's own chroma).
_WINDOW_MARGIN = 2.0


def person_box(
    center: tf.Tensor, scale: tf.Tensor, config: PipelineConfig
) -> tuple[tf.Tensor, tf.Tensor]:
    """The stored 1-based center and scale as the 0-based (center, scale) the crop is built from."""
    if config.hrnet_adjustment:
        center = center + tf.stack([0.0, 15.0 * scale])
        scale = scale * 1.25
    return center - 1.0, scale


def affine_matrix(
    center: tf.Tensor,
    scale: tf.Tensor,
    rotation: tf.Tensor,
    flip: tf.Tensor,
    config: PipelineConfig,
) -> tf.Tensor:
    """2×3 matrix: 0-based image px -> crop px. A 200·scale px square around `center` spans
    `config.box_span` crop px, its centre at `config.crop_center`, rotated by `rotation` degrees;
    `flip` mirrors the image before the rotation (HRNet) or the crop after it (half_pixel)."""
    zoom = config.box_span / (PIXELS_PER_SCALE * scale)
    radians = rotation * (math.pi / 180.0)
    cos, sin = tf.cos(radians) * zoom, tf.sin(radians) * zoom
    mirror = tf.where(flip, -1.0, 1.0)
    if config.hrnet:
        linear = tf.stack([[mirror * cos, sin], [-mirror * sin, cos]])
    else:
        linear = tf.stack([[mirror * cos, mirror * sin], [-sin, cos]])
    shift = tf.constant(config.crop_center) - tf.linalg.matvec(linear, center)
    return tf.concat([linear, shift[:, None]], axis=1)


def invert_affine(matrix: tf.Tensor) -> tf.Tensor:
    """Inverse of 2×3 affine matrices (any leading batch dimensions)."""
    a, b, c = matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 0, 2]
    d, e, f = matrix[..., 1, 0], matrix[..., 1, 1], matrix[..., 1, 2]
    det = a * e - b * d
    rows = [[e, -b, b * f - c * e], [-d, a, c * d - a * f]]
    return tf.stack([tf.stack(row, axis=-1) for row in rows], axis=-2) / det[..., None, None]


def apply_affine(matrix: tf.Tensor, points: tf.Tensor) -> tf.Tensor:
    """Points (..., N, 2) mapped by 2×3 matrices (..., 2, 3)."""
    return tf.linalg.matmul(points, matrix[..., :2], transpose_b=True) + matrix[..., None, :, 2]


def sample_augmentation(
    seed: tf.Tensor, config: PipelineConfig
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(scale multiplier, rotation in degrees, flip) drawn as HRNet does, from a stateless seed."""
    seeds = tf.random.experimental.stateless_split(seed, 4)
    sf, rf = config.scale_factor, config.rotation_factor
    multiplier = tf.clip_by_value(
        1.0 + sf * tf.random.stateless_normal([], seeds[0]), 1.0 - sf, 1.0 + sf
    )
    angle = tf.clip_by_value(rf * tf.random.stateless_normal([], seeds[1]), -2.0 * rf, 2.0 * rf)
    rotate = tf.random.stateless_uniform([], seeds[2]) < config.rotation_probability
    flip = tf.random.stateless_uniform([], seeds[3]) < config.flip_probability
    return multiplier, tf.where(rotate, angle, 0.0), flip


def warp_image(image: tf.Tensor, matrix: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """The float32 crop of `image` under `matrix`: bilinear, black (0) outside the image."""
    inverse = tf.reshape(invert_affine(matrix), [6])  # the op maps output pixels to input pixels
    crop = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(image, tf.float32)[None],
        transforms=tf.concat([inverse, tf.zeros([2])], axis=0)[None],
        output_shape=tf.constant(size, tf.int32),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.ensure_shape(crop[0], (*size, 3))


def source_window(matrix: tf.Tensor, image_shape: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """[y, x, height, width] of the image pixels the crop under `matrix` reads: the bounding box
    of its pixel centres mapped back, their bilinear neighbours and a margin, clipped to the image
    (at least one pixel). The margin also covers the window's outer columns, which a cropped JPEG
    decode upsamples differently from a whole one."""
    height, width = size
    corners = tf.constant([[0.0, 0.0], [width - 1.0, 0.0], [0.0, height - 1.0],
                           [width - 1.0, height - 1.0]])  # fmt: skip
    mapped = apply_affine(invert_affine(matrix), corners)
    limit = tf.cast(tf.stack([image_shape[1], image_shape[0]]), tf.float32) - 1.0  # (x, y)
    low = tf.clip_by_value(tf.floor(tf.reduce_min(mapped, 0)) - _WINDOW_MARGIN, 0.0, limit)
    high = tf.clip_by_value(tf.floor(tf.reduce_max(mapped, 0)) + 1.0 + _WINDOW_MARGIN, low, limit)
    low, extent = tf.cast(low, tf.int32), tf.cast(high - low, tf.int32) + 1
    return tf.stack([low[1], low[0], extent[1], extent[0]])


def window_pixels(image: tf.Tensor, window: tf.Tensor) -> tf.Tensor:
    """The uint8 pixels of `window` ([y, x, height, width]) of a decoded image."""
    return tf.slice(image, [window[0], window[1], 0], [window[2], window[3], -1])


def resize_image(image: tf.Tensor, matrix: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """`warp_image` for a `matrix` without rotation, at half its cost: `crop_and_resize` of the
    uint8 image ringed with black, whose box puts the samples where the warp puts them (the ring
    blends edge pixels with black as the warp's constant fill does)."""
    ringed = tf.pad(image, [[1, 1], [1, 1], [0, 0]])
    last = tf.cast(tf.shape(ringed)[:2] - 1, tf.float32)  # (y, x) of the ring's far side
    inverse = invert_affine(matrix)
    height, width = size
    start = inverse[:, 2] + 1.0  # (x, y) in the ringed image of crop pixel (0, 0)
    end = start + tf.stack([inverse[0, 0] * (width - 1), inverse[1, 1] * (height - 1)])
    box = tf.stack([start[1] / last[0], start[0] / last[1], end[1] / last[0], end[0] / last[1]])
    return tf.image.crop_and_resize(ringed[None], box[None], [0], size)[0]


def warp_window(image: tf.Tensor, matrix: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """`warp_image` of the same crop from only the pixels it reads: of a JPEG only that window
    is decoded, of a decoded image only that window made float; other encodings decode whole.
    A crop without rotation is resized (`resize_image`) rather than warped."""

    def from_window(shape: tf.Tensor, pixels_of: Callable[[tf.Tensor], tf.Tensor]) -> tf.Tensor:
        window = source_window(matrix, shape, size)
        pixels = pixels_of(window)
        origin = tf.cast(tf.stack([window[1], window[0]]), tf.float32)  # (x, y)
        shift = matrix[:, 2] + tf.linalg.matvec(matrix[:, :2], origin)
        moved = tf.concat([matrix[:, :2], shift[:, None]], 1)
        upright = (matrix[0, 1] == 0.0) & (matrix[1, 0] == 0.0)
        return tf.cond(
            upright,
            lambda: resize_image(pixels, moved, size),
            lambda: warp_image(pixels, moved, size),
        )

    if image.dtype != tf.string:
        return from_window(tf.shape(image)[:2], lambda window: window_pixels(image, window))

    def jpeg() -> tf.Tensor:
        shape = tf.io.extract_jpeg_shape(image)[:2]
        return from_window(shape, lambda window: tf.io.decode_and_crop_jpeg(image, window, 3))

    def other() -> tf.Tensor:
        return warp_image(tf.io.decode_image(image, 3, expand_animations=False), matrix, size)

    return tf.cond(tf.strings.substr(image, 0, 2) == _JPEG_START, jpeg, other)


def crop_to_heatmap(points: tf.Tensor, config: PipelineConfig) -> tf.Tensor:
    """Crop px -> heatmap px, centre-aligned (half_pixel; see the module docstring)."""
    return (points + 0.5) / tf.constant(config.stride, tf.float32) - 0.5


def gaussian_heatmaps(points: tf.Tensor, weight: tf.Tensor, config: PipelineConfig) -> tf.Tensor:
    """(h, w, J) maps: exp(-d²/2σ²) around each joint's sub-pixel heatmap position, times weight."""
    height, width = config.heatmap_size
    scale = -0.5 / config.sigma**2
    gx = tf.exp(scale * tf.square(tf.range(width, dtype=tf.float32) - points[:, :1]))  # (J, w)
    gy = tf.exp(scale * tf.square(tf.range(height, dtype=tf.float32) - points[:, 1:]))  # (J, h)
    if config.reference_path:
        return tf.einsum("jy,jx,j->yxj", gy, gx, weight)
    return tf.transpose(gy)[:, None, :] * tf.transpose(gx * weight[:, None])[None]  # (h, w, J)


def targets(
    joints: tf.Tensor, visibility: tf.Tensor, config: PipelineConfig
) -> tuple[tf.Tensor, tf.Tensor]:
    """(heatmaps (h, w, J), target_weight (J,)) of crop-px joints: HRNet's `generate_target`
    (`hrnet_targets`), or half_pixel's sub-pixel Gaussians with no weight outside the crop."""
    if config.hrnet:
        return hrnet_targets(joints, visibility, config)
    height, width = config.image_size
    inside = tf.reduce_all(
        (joints >= -0.5) & (joints < tf.constant([width - 0.5, height - 0.5])), axis=-1
    )
    weight = tf.cast(visibility & inside, tf.float32)
    return gaussian_heatmaps(crop_to_heatmap(joints, config), weight, config), weight


def _truncated(x: tf.Tensor) -> tf.Tensor:
    """Rounded towards 0, as Python's int()."""
    return tf.sign(x) * tf.floor(tf.abs(x))


def hrnet_targets(
    joints: tf.Tensor, visibility: tf.Tensor, config: PipelineConfig
) -> tuple[tf.Tensor, tf.Tensor]:
    """HRNet's `generate_target`: mu = int(x / stride + 0.5) (int truncates towards 0), the window
    [int(mu - 3σ), int(mu + 3σ + 1)) holds a Gaussian centred at its start + (6σ + 1) // 2 (mu
    when 3σ is whole); weight 0 for an unlabelled joint and where HRNet's bounds test finds the
    window outside the heatmap (start >= size or end < 0: a window ending at 0 keeps its weight
    and an empty map)."""
    radius, size = 3.0 * config.sigma, 6.0 * config.sigma + 1.0
    mu = _truncated(joints / tf.constant(config.stride, tf.float32) + 0.5)
    low, high = _truncated(mu - radius), _truncated(mu + radius + 1.0)
    end = tf.minimum(high, low + math.ceil(size))  # HRNet's kernel has ceil(size) values
    centre = low + size // 2
    extent = tf.constant(config.heatmap_size[::-1], tf.float32)  # (w, h)
    missed = tf.reduce_any((low >= extent) | (high < 0.0), axis=-1)
    finite = tf.reduce_all(tf.math.is_finite(joints), axis=-1)
    weight = visibility & finite & ~missed
    scale = -0.5 / config.sigma**2

    def along(axis: int) -> tf.Tensor:
        """(J, n) Gaussian profiles along x (0) or y (1), 0 outside each window."""
        pixels = tf.range(config.heatmap_size[1 - axis], dtype=tf.float32)
        span = (pixels >= low[:, axis : axis + 1]) & (pixels < end[:, axis : axis + 1])
        profile = tf.exp(scale * tf.square(pixels - centre[:, axis : axis + 1]))
        return tf.where(span & weight[:, None], profile, 0.0)

    heatmaps = tf.transpose(along(1))[:, None, :] * tf.transpose(along(0))[None]
    return heatmaps, tf.cast(weight, tf.float32)


def normalize(crop: tf.Tensor, config: PipelineConfig) -> tf.Tensor:
    """RGB 0-255 -> (rgb / 255 - mean) / std."""
    mean, std = tf.constant(config.mean, tf.float32), tf.constant(config.std, tf.float32)
    if config.reference_path:
        return (crop / 255.0 - mean) / std
    # Per-pixel constants: TensorFlow's same-shape multiply and add take half the time of ones
    # that broadcast the 3 channel values.
    shape = tf.shape(crop)
    return crop * tf.broadcast_to(1.0 / (255.0 * std), shape) + tf.broadcast_to(-mean / std, shape)


def decoded_image(image: tf.Tensor) -> tf.Tensor:
    """The uint8 RGB image, decoding it first if it came as JPEG bytes (`tfds.decode.SkipDecoding`)."""
    if image.dtype == tf.string:
        return tf.io.decode_jpeg(image, channels=3)
    return image


def transform_example(
    example: dict[str, tf.Tensor],
    config: PipelineConfig,
    training: bool = False,
    seed: tf.Tensor | None = None,
) -> dict[str, tf.Tensor]:
    """One mpii_pose example -> training inputs and targets; features it does not use pass through.

    Replaces `image` (normalised float32 crop), `joints` (crop px) and `visibility` (both in the
    output joint order, left/right swapped under a flip); adds `heatmaps` (h, w, 16),
    `target_weight` (16,) and `transform` (2, 3). `training` augments with the stateless `seed`
    (shape [2] integers), so that the same seed gives the same example.
    """
    multiplier, rotation, flip = tf.constant(1.0), tf.constant(0.0), tf.constant(False)
    if training:
        if seed is None:
            raise ValueError("training=True needs a seed: shape [2] integers")
        multiplier, rotation, flip = sample_augmentation(seed, config)
    return augmented_example(example, config, multiplier, rotation, flip)


def augmented_example(
    example: dict[str, tf.Tensor],
    config: PipelineConfig,
    multiplier: tf.Tensor,
    rotation: tf.Tensor,
    flip: tf.Tensor,
) -> dict[str, tf.Tensor]:
    """`transform_example` with given augmentation: the crop scaled by `multiplier`, rotated by
    `rotation` degrees, mirrored if `flip`."""
    # The dataset's float64 values, in the float32 that TensorFlow's image ops work in.
    center, scale, source_joints = (
        tf.cast(example[name], tf.float32) for name in ("center", "scale", "joints")
    )
    center, scale = person_box(center, scale, config)
    matrix = affine_matrix(center, scale * multiplier, rotation, flip, config)
    if config.reference_path:
        crop = warp_image(decoded_image(example["image"]), matrix, config.image_size)
    else:
        crop = warp_window(example["image"], matrix, config.image_size)
    joints = apply_affine(matrix, source_joints - 1.0)
    order = tf.where(flip, FLIP_PERMUTATION, tf.range(NUM_JOINTS))
    joints, visibility = tf.gather(joints, order), tf.gather(example["visibility"], order)
    heatmaps, weight = targets(joints, visibility, config)
    return {
        **example,
        "image": normalize(crop, config),
        "joints": joints,
        "visibility": visibility,
        "heatmaps": heatmaps,
        "target_weight": weight,
        "transform": matrix,
    }


def to_keras(example: dict[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(image, heatmaps, target_weight): Keras's (x, y, sample_weight). With a loss that returns
    one value per joint, e.g. `tf.reduce_mean(tf.square(y - p), axis=(1, 2))`, the weight masks
    joints as HRNet's JointsMSELoss does (twice its value: HRNet halves it)."""
    return example["image"], example["heatmaps"], example["target_weight"]


def person_examples(ds: tf.data.Dataset, annotated_only: bool = True) -> tf.data.Dataset:
    """The persons of per_image examples, one example each with the per_person features (its
    image's fields repeated), so that `transform_example` and `input_pipeline` take them; the
    persons only the official .mat holds are left out unless not `annotated_only`."""

    def persons_of(example: dict[str, tf.Tensor]) -> tf.data.Dataset:
        image = {name: value for name, value in example.items() if name != "persons"}
        persons = tf.data.Dataset.from_tensor_slices(example["persons"])
        persons = persons.map(lambda person: {**image, **person})
        return persons.filter(lambda person: person["annotated"]) if annotated_only else persons

    return ds.flat_map(persons_of)


def input_pipeline(
    ds: tf.data.Dataset,
    config: PipelineConfig,
    training: bool,
    batch_size: int,
    shuffle_buffer: int = 1000,
    seed: int | None = None,
    keras: bool = False,
) -> tf.data.Dataset:
    """Batched, prefetched training (shuffled, augmented, whole batches only) or evaluation batches.

    `ds` holds mpii_pose examples, ideally with `decoders={"image": tfds.decode.SkipDecoding()}`:
    then the shuffle buffer holds JPEG bytes, not decoded images, and this map decodes only the
    window of each JPEG that its crop reads.
    Examples of the per_image config give their annotated persons (`person_examples`), shuffled
    after they are split out.
    `seed` fixes the shuffle and the augmentation; `keras` yields `to_keras` tuples.
    """
    if "persons" in ds.element_spec:
        ds = person_examples(ds)
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds).map(
            lambda example, s: transform_example(example, config, True, s),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        ds = ds.map(
            lambda example: transform_example(example, config), num_parallel_calls=tf.data.AUTOTUNE
        )
    ds = ds.batch(batch_size, drop_remainder=training, num_parallel_calls=tf.data.AUTOTUNE)
    if keras:
        ds = ds.map(to_keras)
    return ds.prefetch(tf.data.AUTOTUNE)


def decode_heatmaps(
    heatmaps: tf.Tensor, config: PipelineConfig | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """(..., h, w, J) heatmaps -> ((..., J, 2) heatmap px, (..., J) peak values as confidence).

    The argmax, moved a quarter pixel towards the higher neighbour. HRNet's geometry
    (`get_final_preds`; the default config's) moves both axes only where 1 < x < w - 1 and
    1 < y < h - 1, and gives (0, 0) for a map without a positive value; half_pixel moves each
    axis where both its neighbours exist (an all-zero map gives (0, 0)).
    """
    config = config or PipelineConfig()
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    rank = heatmaps.shape.rank
    shape = tf.shape(heatmaps)
    height, width = shape[-3], shape[-2]
    by_joint = tf.transpose(heatmaps, [*range(rank - 3), rank - 1, rank - 3, rank - 2])
    flat = tf.reshape(by_joint, tf.concat([shape[:-3], [shape[-1], height * width]], 0))
    index = tf.argmax(flat, axis=-1, output_type=tf.int32)
    peak = tf.reduce_max(flat, axis=-1)
    if config.hrnet:
        index = tf.where(peak > 0.0, index, 0)
    x, y = index % width, index // width
    if config.hrnet:
        inner_x = inner_y = (x > 1) & (x < width - 1) & (y > 1) & (y < height - 1)
    else:
        inner_x, inner_y = (x > 0) & (x < width - 1), (y > 0) & (y < height - 1)

    def slope(inner: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        """Sign of (next - previous) value along one axis; 0 where not `inner`."""
        step = tf.where(inner, step, 0)
        after = tf.gather(flat, index + step, batch_dims=rank - 2)
        before = tf.gather(flat, index - step, batch_dims=rank - 2)
        return tf.sign(after - before)

    dx, dy = slope(inner_x, 1), slope(inner_y, width)
    coords = tf.stack([tf.cast(x, tf.float32) + 0.25 * dx, tf.cast(y, tf.float32) + 0.25 * dy], -1)
    return coords, peak


def heatmap_to_crop(points: tf.Tensor, config: PipelineConfig) -> tf.Tensor:
    """Heatmap px (..., 2) -> crop px under `config.geometry` (`PipelineConfig.heatmap_to_crop`)."""
    factor, offset = config.heatmap_to_crop
    points = tf.convert_to_tensor(points, tf.float32)
    return points * tf.constant(factor, tf.float32) + tf.constant(offset, tf.float32)


def to_image_coordinates(points: tf.Tensor, transform: tf.Tensor) -> tf.Tensor:
    """Crop px (..., N, 2) -> original image MATLAB 1-based px, through the inverse of
    `transform` (..., 2, 3)."""
    points = tf.convert_to_tensor(points, tf.float32)
    inverse = invert_affine(tf.convert_to_tensor(transform, tf.float32))
    return apply_affine(inverse, points) + 1.0


def heatmaps_to_image(
    heatmaps: tf.Tensor, transform: tf.Tensor, config: PipelineConfig
) -> tf.Tensor:
    """Heatmaps of one example (h, w, J) or a batch (..., h, w, J) -> (..., J, 2) original image
    MATLAB 1-based px (what PCKh and MPII's submission take), decoded under `config.geometry`;
    with HRNet's, exactly HRNet's `get_final_preds` and MPII's +1."""
    points, _ = decode_heatmaps(heatmaps, config)
    return to_image_coordinates(heatmap_to_crop(points, config), transform)


def flip_back(heatmaps: tf.Tensor, config: PipelineConfig) -> tf.Tensor:
    """A model's heatmaps (..., h, w, J) for a mirrored crop (`tf.reverse(image, [-2])`), back in
    the crop's frame for the flip test (average them with the crop's own): mirrored, left and
    right joints swapped and, under HRNet's geometry, moved one pixel right as HRNet's test does
    (`SHIFT_HEATMAP`); half_pixel crops mirror exactly, so nothing moves."""
    maps = tf.gather(tf.reverse(heatmaps, [-2]), FLIP_PERMUTATION, axis=-1)
    if config.hrnet:
        maps = tf.concat([maps[..., :1, :], maps[..., :-1, :]], axis=-2)
    return maps
