"""The TensorFlow pipeline's fast path (the crop's source window decoded, upright crops resized)
gives the reference path's examples, from JPEG bytes, other encodings and decoded images."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from mpii_pose.training import tf_pipeline as pipeline
from mpii_pose.training.config import PipelineConfig

FAST = PipelineConfig()
REFERENCE = PipelineConfig(reference_path=True)
# Both paths sample the same pixels at the same points in float32; the window's coordinates (and
# crop_and_resize's for upright crops) are rounded at other magnitudes, which moves a sample by
# ~1e-5 px: a few hundredths of a grey level where the image is steep.
MAX_GREY_DIFFERENCE = 0.1
MEAN_GREY_DIFFERENCE = 1e-3
EXAMPLES = 160
SIZE = (240, 320)  # (height, width) of the test images


def picture(seed: int) -> Image.Image:
    """A textured RGB image with sharp edges and colour, so that misplaced samples show."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (SIZE[0] // 8, SIZE[1] // 8, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize(SIZE[::-1], Image.Resampling.BICUBIC)
    pixels = np.asarray(image).copy()
    pixels[::17] = 255 - pixels[::17]  # sharp rows and columns
    pixels[:, ::13] = 0
    return Image.fromarray(pixels)


def encoded(image: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, **options)
    return out.getvalue()


IMAGES = {
    "baseline JPEG": lambda: encoded(picture(0), format="JPEG", quality=90),
    "progressive JPEG": lambda: encoded(picture(1), format="JPEG", quality=90, progressive=True),
    "JPEG without chroma subsampling": lambda: encoded(
        picture(2), format="JPEG", quality=95, subsampling=0
    ),
    "PNG": lambda: encoded(picture(3), format="PNG"),
    "decoded": lambda: np.asarray(picture(4)),
}


def examples(image, seed: int) -> tf.data.Dataset:
    """EXAMPLES persons on `image`: small to larger than the image, some partly or wholly outside
    it, with a training seed each."""
    rng = np.random.default_rng(seed)
    height, width = SIZE
    count = EXAMPLES
    persons = {
        "center": np.stack(
            [rng.uniform(-0.4 * width, 1.4 * width, count), rng.uniform(-0.4, 1.4, count) * height],
            axis=1,
        ),
        "scale": rng.choice([0.1, 0.4, 1.0, 2.5], count) * rng.uniform(0.8, 1.2, count),
        "joints": rng.uniform(0, width, (count, 16, 2)),
        "visibility": rng.random((count, 16)) < 0.9,
    }
    ds = tf.data.Dataset.from_tensor_slices(persons)
    image = tf.constant(image)
    ds = ds.map(lambda person: {**person, "image": image})
    return tf.data.Dataset.zip(ds, tf.data.Dataset.random(seed=seed).batch(2).take(count))


def outputs(image, config: PipelineConfig, training: bool) -> list[dict]:
    ds = examples(image, seed=11).map(
        lambda example, seed: pipeline.transform_example(example, config, training, seed)
    )
    return list(ds.as_numpy_iterator())


def grey_levels(image: np.ndarray) -> np.ndarray:
    return (image * np.float32(FAST.std) + np.float32(FAST.mean)) * 255.0


@pytest.mark.parametrize(
    "kind, training",
    [*((kind, True) for kind in IMAGES), ("baseline JPEG", False)],  # augmented, or evaluation
)
def test_the_fast_path_gives_the_reference_examples(kind, training):
    image = IMAGES[kind]()
    fast, reference = outputs(image, FAST, training), outputs(image, REFERENCE, training)
    pairs = list(zip(fast, reference, strict=True))
    differences = [np.abs(grey_levels(f["image"]) - grey_levels(r["image"])) for f, r in pairs]
    assert max(d.max() for d in differences) <= MAX_GREY_DIFFERENCE
    assert np.mean([d.mean() for d in differences]) <= MEAN_GREY_DIFFERENCE
    assert np.mean([r["image"].std() for r in reference]) > 0.1  # crops that are not all black
    for f, r in pairs:
        for name in ("joints", "visibility", "target_weight", "transform"):
            np.testing.assert_array_equal(f[name], r[name])
        np.testing.assert_allclose(f["heatmaps"], r["heatmaps"], rtol=1e-6, atol=1e-7)


def test_the_window_holds_every_pixel_the_crop_reads():
    """Every sample's bilinear neighbours that are in the image are in the window, with the
    margin; the window is no larger than the image and smaller for a small person."""
    height, width = SIZE
    rng = np.random.default_rng(5)
    crop = FAST.image_size
    grid = np.stack(np.meshgrid(np.arange(crop[1]), np.arange(crop[0])), -1).reshape(-1, 2)
    smaller = 0
    for _ in range(100):
        center = tf.constant(rng.uniform([-100, -100], [width + 100, height + 100]), tf.float32)
        scale = tf.constant(rng.choice([0.2, 0.6, 2.0]), tf.float32)
        rotation = tf.constant(rng.uniform(-60, 60), tf.float32)
        matrix = pipeline.affine_matrix(center, scale, rotation, tf.constant(False), FAST)
        y, x, h, w = pipeline.source_window(matrix, tf.constant(SIZE), crop).numpy()
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height and h > 0 and w > 0
        samples = grid @ pipeline.invert_affine(matrix).numpy()[:, :2].T
        samples += pipeline.invert_affine(matrix).numpy()[:, 2]
        low, high = np.floor(samples), np.floor(samples) + 1
        for lo, hi, start, extent, size in ((low[:, 0], high[:, 0], x, w, width), (low[:, 1], high[:, 1], y, h, height)):  # fmt: skip
            read = np.concatenate([lo, hi])
            read = read[(read >= 0) & (read < size)]
            if read.size:  # the window's outer pixels are read only where the image ends
                assert read.min() >= start + (start > 0)
                assert read.max() <= start + extent - 1 - (start + extent < size)
        smaller += h * w < height * width
    assert smaller > 30


def test_windows_of_a_jpeg_decode_its_pixels_but_for_their_outer_columns():
    """Why the window has a margin: a window decoded from a JPEG with subsampled chroma differs
    from the whole decode only in its first and last columns, where the decoder upsamples the
    chroma from the window alone."""
    data = IMAGES["baseline JPEG"]()
    whole = tf.io.decode_jpeg(data, channels=3).numpy().astype(int)
    rng = np.random.default_rng(3)
    edges = 0
    for _ in range(50):
        y, x = rng.integers(1, 100), rng.integers(1, 150)
        h, w = rng.integers(20, SIZE[0] - y), rng.integers(20, SIZE[1] - x)
        window = tf.io.decode_and_crop_jpeg(data, [y, x, h, w], channels=3).numpy()
        difference = np.abs(window - whole[y : y + h, x : x + w])
        assert difference[:, 1:-1].max() == 0
        edges += difference.max() > 0
    assert edges > 0  # the margin is needed: the outer columns do differ
