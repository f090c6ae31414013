"""Examples/s of the training input pipeline against the notebook's per-example Python loop.

    python benchmarks/bench_pipeline.py [--images N] [--examples K] [--repeat R] [--out DIR] [--quick]

Builds a synthetic MPII-like set of N images (make_synthetic.py, then `mpii-pose build`), then
times, in one process and alternating run by run, two ways to turn the train split into batches
of (crop, heatmaps, target weights) with HRNet's training augmentation:

- `input_pipeline`: mpii_pose.training.tf_pipeline.input_pipeline on tfds' dataset with undecoded images
  (decode, crop, augment, heatmaps in a parallel `tf.data` map; shuffled, batched, prefetched);
- `notebook`: the original notebook's style: raw records from the shard files in file order, each
  parsed in per-example Python: `tf.train.Example.FromString`, PIL decode, PIL affine crop (the
  same matrix), numpy heatmaps, numpy batches. One Python thread.

Each run starts a fresh iterator, skips --warmup batches, then times K examples.
Results: OUT/pipeline.json (machine, versions, settings, every run) and OUT/pipeline.md.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tensorflow as tf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402
from bench_shards import ENV, machine, versions  # noqa: E402
from make_synthetic import make_synthetic  # noqa: E402

import mpii_pose  # noqa: E402
from mpii_pose.base.skeleton import NUM_JOINTS  # noqa: E402
from mpii_pose.training.tf_pipeline import FLIP_PERMUTATION, PipelineConfig, input_pipeline  # noqa: E402

CONFIG = PipelineConfig()  # HRNet's MPII training settings, for both contenders
WHAT = {
    "input_pipeline": "`input_pipeline(ds, PipelineConfig(), training=True, batch_size=B)` on "
    "`as_dataset(decoders={'image': SkipDecoding()})`",
    "notebook": "`TFRecordDataset` records → `tf.train.Example.FromString` → PIL decode → PIL "
    "affine crop → numpy heatmaps, one example at a time in Python",
}


def prepare(work: Path, images: int) -> Path:
    """The data dir of a build of `images` synthetic images, made once and reused."""
    manual, data = work / f"manual-{images}", work / f"data-{images}"
    if not mpii_pose.Builder(data_dir=str(data)).is_prepared():
        if not (manual / "valid.json").exists():
            make_synthetic(manual, images)
        subprocess.run([Path(sys.executable).parent / "mpii-pose", "build", "--manual_dir", manual,
                        "--data_dir", data, "--quiet", "--overwrite"], check=True, env=ENV)  # fmt: skip
    return data


def pipeline_batches(data: Path, batch_size: int, shuffle_buffer: int) -> Iterator[tuple]:
    """(image, heatmaps, target_weight) batches from `input_pipeline`, endlessly."""
    builder = mpii_pose.Builder(data_dir=str(data))
    ds = builder.as_dataset(
        split="train", shuffle_files=True, decoders={"image": tfds.decode.SkipDecoding()}
    )
    ds = input_pipeline(ds.repeat(), CONFIG, True, batch_size, shuffle_buffer, keras=True)
    return iter(ds)


def affine(center: np.ndarray, scale: float, rotation: float, flip: bool) -> np.ndarray:
    """The notebook's crop matrix, 2×3 numpy (0-based px): the pipeline's half_pixel geometry."""
    height, width = CONFIG.image_size
    zoom = min(height, width) / (200.0 * scale)
    cos, sin = math.cos(math.radians(rotation)) * zoom, math.sin(math.radians(rotation)) * zoom
    mirror = -1.0 if flip else 1.0
    linear = np.array([[mirror * cos, mirror * sin], [-sin, cos]])
    shift = np.array([(width - 1) / 2, (height - 1) / 2]) - linear @ center
    return np.hstack([linear, shift[:, None]])


def doubles(feature: tf.train.Feature) -> np.ndarray:
    """A float64 feature's values: the dataset stores them as their bytes."""
    return np.frombuffer(feature.bytes_list.value[0], "<f8")


def notebook_example(record: bytes, rng: np.random.Generator) -> tuple:
    """One serialized example -> (image, heatmaps, target_weight), per-example Python and numpy."""
    feature = tf.train.Example.FromString(record).features.feature
    image = Image.open(io.BytesIO(feature["image"].bytes_list.value[0])).convert("RGB")
    joints = np.float32(doubles(feature["joints"])).reshape(-1, 2) - 1
    visible = np.array(feature["visibility"].int64_list.value, bool)
    scale = float(doubles(feature["scale"])[0])
    center = np.float32(doubles(feature["center"])) + [0, 15 * scale] - 1
    sf, rf = CONFIG.scale_factor, CONFIG.rotation_factor
    scale = 1.25 * scale * np.clip(rng.normal() * sf + 1, 1 - sf, 1 + sf)
    rotation = (
        np.clip(rng.normal() * rf, -2 * rf, 2 * rf)
        if rng.random() < CONFIG.rotation_probability
        else 0.0
    )
    flip = rng.random() < CONFIG.flip_probability
    matrix = affine(center, scale, rotation, flip)
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))
    inverse[:2, 2] += 0.5 - inverse[:2, :2] @ [0.5, 0.5]  # PIL puts pixel centres at +0.5
    height, width = CONFIG.image_size
    crop = image.transform((width, height), Image.AFFINE, inverse[:2].ravel(), Image.BILINEAR)
    pixels = (np.asarray(crop, np.float32) / 255 - CONFIG.mean) / CONFIG.std
    points = joints @ matrix[:, :2].T + matrix[:, 2]
    if flip:
        points, visible = points[list(FLIP_PERMUTATION)], visible[list(FLIP_PERMUTATION)]
    inside = ((points >= -0.5) & (points < [width - 0.5, height - 0.5])).all(axis=1)
    weight = np.float32(visible & inside)
    return pixels, heatmaps(points, weight), weight


def heatmaps(points: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(h, w, J) Gaussians at the joints' sub-pixel heatmap positions, as the notebook drew them."""
    h, w = CONFIG.heatmap_size
    centres = (points + 0.5) / CONFIG.stride - 0.5
    gx = np.exp(-((np.arange(w) - centres[:, :1]) ** 2) / (2 * CONFIG.sigma**2))
    gy = np.exp(-((np.arange(h) - centres[:, 1:]) ** 2) / (2 * CONFIG.sigma**2))
    return np.float32(np.einsum("jy,jx,j->yxj", gy, gx, weight))


def notebook_batches(data: Path, batch_size: int, seed: int) -> Iterator[tuple]:
    """(image, heatmaps, target_weight) numpy batches from the raw train records, endlessly."""
    files = sorted(str(p) for p in data.rglob("mpii_pose-train.tfrecord-*"))
    rng = np.random.default_rng(seed)
    records = tf.data.TFRecordDataset(files).repeat().as_numpy_iterator()
    while True:
        examples = [notebook_example(next(records), rng) for _ in range(batch_size)]
        yield tuple(np.stack(parts) for parts in zip(*examples, strict=True))


def check(batch: tuple, batch_size: int) -> int:
    """The batch's size, after checking it holds what training needs."""
    expected = [
        (batch_size, *CONFIG.image_size, 3),
        (batch_size, *CONFIG.heatmap_size, NUM_JOINTS),
        (batch_size, NUM_JOINTS),
    ]
    if [tuple(t.shape) for t in batch] != expected:
        raise AssertionError(f"unexpected batch shapes {[t.shape for t in batch]}")
    return batch_size


def time_run(batches: Iterator[tuple], args: argparse.Namespace) -> dict:
    """Warms up, then times args.examples examples from `batches` (a fresh iterator)."""
    for _ in range(args.warmup):
        check(next(batches), args.batch)
    start, cpu = time.perf_counter(), time.process_time()
    examples = 0
    while examples < args.examples:
        examples += check(next(batches), args.batch)
    seconds = time.perf_counter() - start
    cpu_s = time.process_time() - cpu
    return {
        "examples": examples,
        "seconds": seconds,
        "examples_per_s": examples / seconds,
        "cpu_s": cpu_s,
    }


def run_all(args: argparse.Namespace, data: Path) -> list[dict]:
    """R rounds, alternating which contender goes first."""
    contenders = {
        "input_pipeline": lambda: pipeline_batches(data, args.batch, args.shuffle_buffer),
        "notebook": lambda: notebook_batches(data, args.batch, args.seed),
    }
    runs = []
    for round_ in range(args.repeat):
        names = list(contenders) if round_ % 2 == 0 else list(reversed(contenders))
        for name in names:
            run = {"contender": name, "round": round_, **time_run(contenders[name](), args)}
            runs.append(run)
            print(
                f"round {round_} {name:<15} {run['examples_per_s']:7.1f} examples/s "
                f"({run['examples']} in {run['seconds']:.1f} s)",
                flush=True,
            )
    return runs


def summarise(runs: list[dict]) -> list[dict]:
    """Per contender: median, min and max examples/s, CPU seconds per 1000 examples, ratio."""
    rows = []
    for name in WHAT:
        rates = [r["examples_per_s"] for r in runs if r["contender"] == name]
        cpu = [1000 * r["cpu_s"] / r["examples"] for r in runs if r["contender"] == name]
        rows.append(
            {
                "contender": name,
                "runs": len(rates),
                "examples_per_s": statistics.median(rates),
                "min": min(rates),
                "max": max(rates),
                "cpu_s_per_1000": statistics.median(cpu),
            }
        )
    baseline = next(r["examples_per_s"] for r in rows if r["contender"] == "notebook")
    for row in rows:
        row["vs_notebook"] = row["examples_per_s"] / baseline
    return rows


def markdown(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    lines = [
        "| contender | what runs | examples/s, median (min-max) | CPU s per 1000 examples | × notebook |",
        "|---|---|---|---|---|",
    ]
    for r in result["summary"]:
        lines.append(
            f"| {r['contender']} | {WHAT[r['contender']]} | {r['examples_per_s']:.1f} "
            f"({r['min']:.1f}-{r['max']:.1f}) | {r['cpu_s_per_1000']:.1f} | "
            f"{r['vs_notebook']:.2f} |"
        )
    return (
        f"Command: `{result['command']}`\n\n"
        f"Data: {s['images']} synthetic 1280×720 images, {result['train_persons']} train persons; "
        f"batch {s['batch']}, {s['warmup']} warm-up batches, {s['examples']} timed examples per run, "
        f"{s['repeat']} runs per contender; shuffle buffer {s['shuffle_buffer']}.\n\n"
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + "\n\n"
        + "\n".join(lines)
        + "\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300, help="synthetic images to build")
    parser.add_argument("--examples", type=int, default=960, help="timed examples per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per contender")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3, help="batches before timing")
    parser.add_argument("--shuffle_buffer", type=int, default=1000, help="as input_pipeline's")
    parser.add_argument("--seed", type=int, default=0, help="the notebook's augmentation seed")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "mpii_pose_bench_pipeline"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--quick", action="store_true", help="smoke test: 6 images, 1 short run")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.examples, args.repeat, args.warmup = 6, 2 * args.batch, 1, 1
    if args.examples % args.batch:
        parser.error("--examples must be a multiple of --batch")
    data = prepare(args.work, args.images)
    runs = run_all(args, data)
    result = {
        "machine": machine(),
        "versions": versions(),
        "command": " ".join(["python", *sys.argv]),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "train_persons": mpii_pose.Builder(data_dir=str(data)).info.splits["train"].num_examples,
        "runs": runs,
        "summary": summarise(runs),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pipeline.json").write_text(json.dumps(result, indent=1))
    (args.out / "pipeline.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
