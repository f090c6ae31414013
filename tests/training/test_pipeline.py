"""The training input pipeline on a real build: crops, heatmaps, weights, round trips, tf.data."""

import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from mpii_pose.base.skeleton import FLIP_PAIRS, JOINT_NAMES, NUM_JOINTS
from mpii_pose.sample import write_sample
from mpii_pose.training.drawing import draw_example
from mpii_pose.training.tf_pipeline import (
    PipelineConfig,
    decode_heatmaps,
    heatmaps_to_image,
    input_pipeline,
    to_image_coordinates,
    transform_example,
)
from tests.helpers import REPO, build, checked, read_json

# Crops in [0, 1]: readable pixels. The half_pixel geometry's formulas are checked here;
# HRNet's against HRNet's own code in test_hrnet_geometry.py.
UNIT = PipelineConfig(geometry="half_pixel", mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
HRNET = dataclasses.replace(UNIT, geometry="hrnet")
STILL = dataclasses.replace(UNIT, scale_factor=0.0, rotation_probability=0.0, flip_probability=0.0)
BOTH = dataclasses.replace(UNIT, flip_probability=1.0, rotation_probability=1.0)
MODES = {  # name: (training, config); every augmentation that is on is forced
    "none": (False, UNIT),
    "flip": (True, dataclasses.replace(STILL, flip_probability=1.0)),
    "rotation": (True, dataclasses.replace(UNIT, flip_probability=0.0, rotation_probability=1.0)),
    "flip+rotation": (True, BOTH),
    "portrait": (False, dataclasses.replace(UNIT, image_size=(256, 192), heatmap_size=(32, 48))),
    "hrnet": (False, HRNET),
    "hrnet flip+rotation": (True, dataclasses.replace(BOTH, geometry="hrnet")),
}
HALF_PIXEL_MODES = [name for name, (_, config) in MODES.items() if not config.hrnet]
PARTNER = list(range(NUM_JOINTS))  # output joint i comes from source joint PARTNER[i] under a flip
for a, b in FLIP_PAIRS:
    PARTNER[a], PARTNER[b] = b, a


def paint_skeletons(manual: Path) -> None:
    """Draws every person's skeleton (right limbs red, left blue) on the images of `manual`, saved
    as RGB JPEGs, so that where a limb lands in a crop shows which side it came from."""
    entries = [e for name in ("train.json", "valid.json") for e in read_json(manual / name)]
    for image_name in {e["image"] for e in entries}:
        path = manual / "images" / image_name
        with Image.open(path) as image:
            picture = image.convert("RGB")
        for e in (e for e in entries if e["image"] == image_name):
            joints, labelled = np.array(e["joints"]), np.array(e["joints_vis"]) > 0
            picture = draw_example(picture, joints, labelled)
        picture.save(path, format="JPEG", quality=90)


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    manual = write_sample(root / "manual", train_images=8, validation_images=3, seed=7)
    paint_skeletons(manual)
    return build(manual, root / "data")


def transformed(builder, training: bool, config: PipelineConfig, zoom: float = 1.0) -> list:
    """(source, output) numpy pairs for every train and validation person; seeds per person."""
    ds = builder.as_dataset(split="train+validation")

    def pair(ex):
        seed = tf.stack([ex["annotation_index"], tf.cast(ex["person_index"], tf.int64)])
        out = transform_example({**ex, "scale": ex["scale"] / zoom}, config, training, seed)
        return ex, out

    return list(tfds.as_numpy(ds.map(pair)))


@pytest.fixture(scope="module")
def results(builder) -> dict:
    return {name: transformed(builder, *mode) for name, mode in MODES.items()}


def expected_points(source: dict, out: dict, flipped: bool) -> np.ndarray:
    """Where each output joint must be in the crop: the source partner joint under `transform`."""
    order = PARTNER if flipped else list(range(NUM_JOINTS))
    joints = source["joints"][order] - 1.0
    return joints @ out["transform"][:, :2].T + out["transform"][:, 2]


def zoom_of(out: dict) -> float:
    """Crop pixels per original pixel (the transform is a similarity)."""
    return math.sqrt(abs(np.linalg.det(out["transform"][:, :2])))


def hrnet_box(source: dict) -> tuple[np.ndarray, float]:
    """HRNet's adjusted centre (0-based) and scale, computed here independently."""
    s = float(source["scale"])
    return source["center"] + np.float32([0, 15 * s]) - 1, 1.25 * s


@pytest.mark.parametrize("name", ["none", "portrait", "hrnet"])
def test_without_augmentation_the_box_fills_the_crop(results, name):
    config = MODES[name][1]
    h, w = config.image_size
    for source, out in results[name]:
        c, s = hrnet_box(source)
        if config.hrnet:  # the 200·s square spans the width, its centre at (w/2, h/2)
            k, middle = w / (200 * s), (w / 2, h / 2)
        else:  # it fills the shorter side, its centre at the crop's middle
            k, middle = min(h, w) / (200 * s), ((w - 1) / 2, (h - 1) / 2)
        want = np.float32([[k, 0, middle[0] - k * c[0]], [0, k, middle[1] - k * c[1]]])
        np.testing.assert_allclose(out["transform"], want, rtol=1e-5, atol=1e-3)


def test_without_hrnet_adjustment_only_the_0_based_shift_remains(builder):
    config = dataclasses.replace(UNIT, hrnet_adjustment=False)
    for source, out in transformed(builder, False, config):
        k = 256 / (200 * float(source["scale"]))
        c = source["center"] - 1
        want = np.float32([[k, 0, 127.5 - k * c[0]], [0, k, 127.5 - k * c[1]]])
        np.testing.assert_allclose(out["transform"], want, rtol=1e-5, atol=1e-3)


def test_flip_mirrors_the_crop_and_augmentation_stays_in_range(results):
    for (_, plain), (_, flip) in zip(results["none"], results["flip"], strict=True):
        mirror = np.float32([[-1, 0, 255], [0, 1, 0]])
        want = mirror[:, :2] @ plain["transform"]
        want[:, 2] += mirror[:, 2]
        np.testing.assert_allclose(flip["transform"], want, rtol=1e-5, atol=1e-3)
    angles, zooms = [], []
    for (source, plain), (_, out) in zip(results["none"], results["flip+rotation"], strict=True):
        linear = out["transform"][:, :2]
        k = zoom_of(out)
        np.testing.assert_allclose(linear @ linear.T, k * k * np.eye(2), rtol=1e-4, atol=1e-4)
        assert np.linalg.det(linear) < 0  # mirrored
        centre = out["transform"] @ np.append(hrnet_box(source)[0], 1)
        np.testing.assert_allclose(centre, [127.5, 127.5], atol=1e-3)
        zooms.append(k / zoom_of(plain))
        angles.append(math.degrees(math.atan2(linear[1, 0], -linear[0, 0])))
    assert all(1 / 1.25 - 1e-4 <= z <= 1 / 0.75 + 1e-4 for z in zooms)  # scale factor 0.25
    assert all(abs(a) <= 60 + 1e-3 for a in angles)  # clipped at 2 × the rotation factor
    assert np.std(zooms) > 0.03 and np.std(angles) > 5


@pytest.mark.parametrize("name", HALF_PIXEL_MODES)
def test_heatmap_peaks_at_the_transformed_joint(results, name):
    flipped = "flip" in name
    config = MODES[name][1]
    h, w = config.image_size
    stride = np.float32(config.stride)
    checked_joints = 0
    for source, out in results[name]:
        points = expected_points(source, out, flipped)
        labelled = source["visibility"][PARTNER if flipped else slice(None)]
        inside = ((points >= -0.5) & (points < [w - 0.5, h - 0.5])).all(axis=1)
        np.testing.assert_array_equal(out["target_weight"], labelled & inside)
        np.testing.assert_allclose(out["joints"][labelled], points[labelled], atol=1e-3)
        for j in np.flatnonzero(out["target_weight"]):
            heatmap = out["heatmaps"][..., j]
            y, x = np.unravel_index(np.argmax(heatmap), heatmap.shape)
            want = (points[j] + 0.5) / stride - 0.5  # centre-aligned heatmap pixels
            assert np.abs([x, y] - want).max() <= 0.5 + 1e-3, (JOINT_NAMES[j], [x, y], want)
            assert heatmap.max() > 0.93  # exp(-0.5² · 2 / (2σ²)), the nearest cell's value
            checked_joints += 1
    assert checked_joints > 200


def test_flip_swaps_left_and_right(results):
    right_ankle, left_ankle = JOINT_NAMES.index("right_ankle"), JOINT_NAMES.index("left_ankle")
    seen = 0
    for (source, plain), (_, out) in zip(results["none"], results["flip"], strict=True):
        if not out["target_weight"][right_ankle]:
            continue
        seen += 1
        # where the source's left ankle lands in the mirrored crop
        x, y = source["joints"][left_ankle] - 1
        want = out["transform"] @ [x, y, 1.0]
        np.testing.assert_allclose(out["joints"][right_ankle], want, atol=1e-3)
        np.testing.assert_allclose(want[0], 255 - plain["joints"][left_ankle][0], atol=1e-3)
        peak = np.unravel_index(np.argmax(out["heatmaps"][..., right_ankle]), (64, 64))
        assert np.abs(np.float32(peak[::-1]) - ((want + 0.5) / 4 - 0.5)).max() <= 0.5 + 1e-3
    assert seen > 10


def side_colour(out: dict, a: int, b: int) -> str:
    """'red' or 'blue': the colour of the crop between output joints a and b (the drawn limb)."""
    x, y = np.round((out["joints"][a] + out["joints"][b]) / 2).astype(int)
    r, _, blue = out["image"][y, x]
    return "red" if r > blue else "blue"


def test_limb_colours_follow_the_flip(results):
    """The images show a person's right limbs red and left limbs blue (`paint_skeletons`):
    mirrored, the output's right shin is the source's left one, so it is blue."""
    colours = {"none": [], "flip": []}
    for name, found in colours.items():
        for _, out in results[name]:
            if out["target_weight"][[0, 1, 4, 5]].all():
                found.append((side_colour(out, 0, 1), side_colour(out, 4, 5)))
    assert len(colours["none"]) > 10
    assert np.mean([c == ("red", "blue") for c in colours["none"]]) > 0.8
    assert np.mean([c == ("blue", "red") for c in colours["flip"]]) > 0.8


@pytest.mark.parametrize("name", list(MODES))
def test_the_image_moved_with_the_joints(results, name):
    """Every labelled joint has a white dot (radius 2.5 px, black rim): it must be under the joint."""
    bright, shifted = [], []
    for source, out in results[name]:
        height, width = source["image"].shape[:2]
        order = PARTNER if "flip" in name else list(range(NUM_JOINTS))
        src = source["joints"][order] - 1
        drawn = ((src >= 0) & (src <= [width - 1, height - 1])).all(axis=1)
        crop_h, crop_w = out["image"].shape[:2]
        points = np.round(out["joints"]).astype(int)
        in_crop = ((points >= 0) & (points < [crop_w, crop_h])).all(
            axis=1
        )  # HRNet weighs some outside
        for j in np.flatnonzero(out["target_weight"].astype(bool) & drawn & in_crop):
            x, y = points[j]
            bright.append(out["image"][y, x].min())
            x = x + 6 if x + 6 < out["image"].shape[1] else x - 6
            shifted.append(out["image"][y, x].min())
    assert len(bright) > 100
    assert min(bright) > 0.8  # the dot: near white in every channel
    assert np.mean(np.float32(shifted) > 0.8) < 0.5  # 6 px away it mostly is not: the check bites


def test_unlabelled_joints_have_no_weight_and_no_heatmap(results):
    for name in ("flip+rotation", "hrnet flip+rotation"):
        unlabelled = 0
        for source, out in results[name]:
            labelled = source["visibility"][PARTNER]
            for j in np.flatnonzero(~labelled):
                assert out["target_weight"][j] == 0 and not out["heatmaps"][..., j].any()
                unlabelled += 1
        assert unlabelled > 5


def test_joints_pushed_out_of_the_crop_lose_their_weight(builder):
    outside = inside = 0
    for source, out in transformed(builder, False, UNIT, zoom=3.0):  # a 3× closer crop
        points = expected_points(source, out, flipped=False)
        out_of_crop = ((points < -0.5) | (points >= 255.5)).any(axis=1) & source["visibility"]
        assert not out["target_weight"][out_of_crop].any()
        assert not out["heatmaps"][..., out_of_crop].any()
        assert out["target_weight"][source["visibility"] & ~out_of_crop].all()
        outside += out_of_crop.sum()
        inside += (source["visibility"] & ~out_of_crop).sum()
    assert outside > 20 and inside > 20


@pytest.mark.parametrize("name", list(MODES))
def test_decoded_heatmaps_go_back_to_the_source_joints(results, name):
    """half_pixel: argmax + quarter shift is within 1/4 heatmap px per axis of the Gaussian's
    centre (the argmax is the nearest cell, |d| <= 1/2; the shift moves 1/4 towards the centre),
    so within √2/4·stride crop px, i.e. √2/4·stride / zoom original px (the transform is a
    similarity). HRNet's Gaussians sit on the nearest cell, symmetric, so no shift: √2/2·stride.
    Joints on the heatmap's border get no shift and are left out."""
    flipped = "flip" in name
    config = MODES[name][1]
    hh, hw = config.heatmap_size
    checked_joints = 0
    for source, out in results[name]:
        coords, peaks = (t.numpy() for t in decode_heatmaps(out["heatmaps"], config))
        back = heatmaps_to_image(out["heatmaps"], out["transform"], config).numpy()
        crop_back = to_image_coordinates(out["joints"], out["transform"]).numpy()
        truth = source["joints"][PARTNER if flipped else slice(None)]
        labelled = out["visibility"]
        np.testing.assert_allclose(crop_back[labelled], truth[labelled], atol=2e-3)
        reach = math.sqrt(2) / (2 if config.hrnet else 4) * max(config.stride)
        tolerance = (reach + 1e-3) / zoom_of(out)
        interior = ((coords >= 1) & (coords <= [hw - 2, hh - 2])).all(axis=1)
        for j in np.flatnonzero(out["target_weight"].astype(bool) & interior):
            assert np.linalg.norm(back[j] - truth[j]) <= tolerance, (JOINT_NAMES[j], tolerance)
            assert peaks[j] > 0.93
            checked_joints += 1
    assert checked_joints > 150


def test_decoder_shifts_a_quarter_towards_the_higher_neighbour_inside_the_map():
    maps = np.zeros((2, 5, 4, 3), np.float32)  # batch of 2, height 5, width 4, 3 joints
    maps[0, 2, 1, 0], maps[0, 2, 2, 0], maps[0, 1, 1, 0] = 1.0, 0.5, 0.2  # right and up
    maps[1, 4, 0, 1], maps[1, 3, 0, 1] = 0.8, 0.7  # bottom-left corner: no shift
    maps[1, 1, 2, 2], maps[1, 1, 1, 2], maps[1, 1, 3, 2] = 0.9, 0.3, 0.5  # right higher than left
    maps[1, 0, 2, 2], maps[1, 2, 2, 2] = 0.2, 0.4  # down higher than up
    coords, peaks = (t.numpy() for t in decode_heatmaps(maps, UNIT))
    np.testing.assert_allclose(coords[0, 0], [1.25, 1.75])
    np.testing.assert_allclose(coords[1, 1], [0.0, 4.0])
    np.testing.assert_allclose(coords[1, 2], [2.25, 1.25])
    np.testing.assert_allclose(peaks, [[1.0, 0.0, 0.0], [0.0, 0.8, 0.9]])
    assert coords.shape == (2, 3, 2)


def batches(builder, training: bool, seed: int | None, **kwargs) -> list[dict]:
    ds = builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
    return list(tfds.as_numpy(input_pipeline(ds, UNIT, training, 4, seed=seed, **kwargs)))


def test_a_fixed_seed_repeats_shuffle_and_augmentation(builder):
    first, again = batches(builder, True, seed=5), batches(builder, True, seed=5)
    other = batches(builder, True, seed=6)
    for a, b in zip(first, again, strict=True):
        for key in ("image", "heatmaps", "transform", "annotation_index"):
            np.testing.assert_array_equal(a[key], b[key])
    assert any(
        not np.array_equal(a["transform"], b["transform"])
        for a, b in zip(first, other, strict=True)
    )


def test_input_pipeline_batches_with_the_right_shapes_and_types(builder):
    n = builder.info.splits["train"].num_examples
    training = batches(builder, True, seed=1)
    assert len(training) == n // 4 and {len(b["image"]) for b in training} == {4}
    evaluation = batches(builder, False, seed=None)
    assert sum(len(b["image"]) for b in evaluation) == n  # the last, short batch is kept
    batch = training[0]
    want = {
        "image": ((4, 256, 256, 3), np.float32),
        "heatmaps": ((4, 64, 64, NUM_JOINTS), np.float32),
        "target_weight": ((4, NUM_JOINTS), np.float32),
        "joints": ((4, NUM_JOINTS, 2), np.float32),
        "visibility": ((4, NUM_JOINTS), np.bool_),
        "transform": ((4, 2, 3), np.float32),
        "center": ((4, 2), np.float64),  # passed through as stored
        "annotation_index": ((4,), np.int64),
    }
    assert {k: (batch[k].shape, batch[k].dtype) for k in want} == want
    image, heatmaps, weight = batches(builder, True, seed=1, keras=True)[0]
    assert (image.shape, heatmaps.shape, weight.shape) == (
        (4, 256, 256, 3),
        (4, 64, 64, 16),
        (4, 16),
    )


def first_batch(ds: tf.data.Dataset) -> dict:
    return next(iter(tfds.as_numpy(input_pipeline(ds, UNIT, False, 100))))


def test_unused_features_pass_through_and_encoded_images_decode_alike(builder):
    decoded = builder.as_dataset(split="validation")
    sources = list(tfds.as_numpy(decoded))
    outputs = first_batch(decoded)
    untouched = set(sources[0]) - {"image", "joints", "visibility"}
    assert {"filename", "center", "scale", "annotation_index", "person_index"} <= untouched
    for i, source in enumerate(sources):
        for key in untouched:
            np.testing.assert_array_equal(outputs[key][i], source[key])
    skipped = {"image": tfds.decode.SkipDecoding()}
    from_bytes = first_batch(builder.as_dataset(split="validation", decoders=skipped))
    np.testing.assert_array_equal(from_bytes["image"], outputs["image"])


def test_batched_outputs_map_back_to_the_source_joints(builder):
    sources = list(tfds.as_numpy(builder.as_dataset(split="train")))
    batch = first_batch(builder.as_dataset(split="train"))  # the same order: no shuffle
    crop_back = to_image_coordinates(batch["joints"], batch["transform"]).numpy()
    coords = decode_heatmaps(batch["heatmaps"], UNIT)[0].numpy()
    back = heatmaps_to_image(batch["heatmaps"], batch["transform"], UNIT).numpy()
    interior = ((coords >= 1) & (coords <= 62)).all(axis=-1) & (batch["target_weight"] > 0)
    assert len(sources) == len(back) and interior.sum() > 100
    for i, source in enumerate(sources):
        labelled = source["visibility"]
        np.testing.assert_allclose(crop_back[i][labelled], source["joints"][labelled], atol=2e-3)
        tolerance = (math.sqrt(2) + 1e-3) / zoom_of({"transform": batch["transform"][i]})
        errors = np.linalg.norm(back[i] - source["joints"], axis=1)[interior[i]]
        assert (errors <= tolerance).all()  # as in the unbatched test, with stride 4


def test_training_without_a_seed_is_refused(builder):
    example = next(iter(builder.as_dataset(split="train")))
    with pytest.raises(ValueError, match="needs a seed"):
        transform_example(example, UNIT, training=True)


@pytest.mark.slow
def test_benchmark_quick_run_counts_examples(tmp_path):
    checked([sys.executable, REPO / "benchmarks/bench_pipeline.py", "--quick",
             "--work", tmp_path / "work", "--out", tmp_path / "results"])  # fmt: skip
    result = json.loads((tmp_path / "results/pipeline.json").read_text())
    runs = result["runs"]
    assert {r["contender"] for r in runs} == {"input_pipeline", "notebook"}
    assert len(runs) == 2 * result["settings"]["repeat"]
    for run in runs:
        assert run["examples"] == result["settings"]["examples"] and run["seconds"] > 0
    table = (tmp_path / "results/pipeline.md").read_text()
    assert "| input_pipeline |" in table and "| notebook |" in table
