"""Train a stacked hourglass on mpii_pose with mpii_pose.training.tf_pipeline, then report PCKh on validation.

    mpii-pose build --manual_dir M --data_dir D
    python examples/train_hourglass.py --data_dir D --epochs 10 --batch_size 16 [--mixed_precision]

A few steps on the bundled sample (what the test suite runs):

    mpii-pose build --sample --data_dir /tmp/mpii_pose_sample
    python examples/train_hourglass.py --data_dir /tmp/mpii_pose_sample --smoke
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import keras
import tensorflow as tf
import tensorflow_datasets as tfds
from hourglass import stacked_hourglass

import mpii_pose  # noqa: F401  (registers the builder)
from mpii_pose import pipeline
from mpii_pose.evaluation import PCKhAccumulator, PCKhResult
from mpii_pose.pipeline_config import GEOMETRIES

STRIDE = 4  # the hourglass's output is a quarter of its input
SMOKE = {
    "epochs": 1,
    "steps_per_epoch": 2,
    "batch_size": 4,
    "image_size": 64,
    "stacks": 1,
    "channels": 32,
    "depth": 2,
}


def joints_mse(heatmaps: tf.Tensor, predicted: tf.Tensor) -> tf.Tensor:
    """Mean squared heatmap error per joint, (batch, joints); Keras weights it by target_weight."""
    return tf.reduce_mean(tf.square(heatmaps - tf.cast(predicted, heatmaps.dtype)), axis=(1, 2))


def load(data_dir: str, split: str) -> tf.data.Dataset:
    """A split of mpii_pose with undecoded images (the pipeline decodes after shuffling)."""
    return tfds.load(
        "mpii_pose",
        data_dir=data_dir,
        split=split,
        decoders={"image": tfds.decode.SkipDecoding()},
    )


def training_data(
    data_dir: str, config: pipeline.PipelineConfig, batch_size: int, stacks: int, seed: int
) -> tf.data.Dataset:
    """(image, [heatmaps] * stacks, [target_weight] * stacks): every stack learns the targets."""
    ds = pipeline.input_pipeline(
        load(data_dir, "train"), config, True, batch_size, seed=seed, keras=True
    )
    return ds.map(lambda image, heatmaps, weight: (image, (heatmaps,) * stacks, (weight,) * stacks))


def last_stack(outputs: tf.Tensor | list[tf.Tensor]) -> tf.Tensor:
    """The last hourglass's heatmaps; Keras returns a bare tensor for a one-stack model."""
    return outputs[-1] if isinstance(outputs, (list, tuple)) else outputs


def evaluate(
    predict: Callable[[dict], tf.Tensor],
    data_dir: str,
    config: pipeline.PipelineConfig,
    batch_size: int,
) -> PCKhResult:
    """PCKh of `predict(crops) -> heatmaps` on validation, mapped back to 1-based image pixels."""
    raw = load(data_dir, "validation")
    batches = raw.map(
        lambda example: (
            pipeline.transform_example(example, config),
            example["joints"],
            example["visibility"],
        )
    ).batch(batch_size)
    pck = PCKhAccumulator()
    for crops, joints, visibility in batches:
        predicted = pipeline.heatmaps_to_image(predict(crops), crops["transform"], config)
        pck.update(predicted.numpy(), joints.numpy(), visibility.numpy(), crops["head_box"].numpy())
    return pck.result()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True, help="TFDS data dir holding mpii_pose")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--steps_per_epoch", type=int, help="batches per epoch (default: one pass over train)"
    )
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--learning_rate", type=float, default=1e-3, help="Adam, as HRNet")
    parser.add_argument("--image_size", type=int, default=256, help="square crop side, px")
    parser.add_argument("--sigma", type=float, default=2.0, help="heatmap Gaussian, heatmap px")
    parser.add_argument(
        "--geometry",
        choices=GEOMETRIES,
        default=pipeline.PipelineConfig().geometry,
        help="crop and heatmap geometry (PipelineConfig.geometry); submit with the same",
    )
    parser.add_argument("--stacks", type=int, default=2, help="hourglasses (Newell et al.: 8)")
    parser.add_argument("--channels", type=int, default=128, help="feature width")
    parser.add_argument("--depth", type=int, default=4, help="poolings per hourglass")
    parser.add_argument(
        "--mixed_precision", action="store_true", help="float16 compute (on a GPU that has it)"
    )
    parser.add_argument("--seed", type=int, default=0, help="shuffle, augmentation and weights")
    parser.add_argument("--out", type=Path, help="folder for the model and results.json")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny model for a few steps: "
        + ", ".join(f"{k}={v}" for k, v in SMOKE.items())
        + " (what the test suite runs)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        vars(args).update(SMOKE)
    return args


def main(argv: list[str] | None = None) -> PCKhResult:
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    size = (args.image_size, args.image_size)
    config = pipeline.PipelineConfig(
        image_size=size,
        heatmap_size=(size[0] // STRIDE, size[1] // STRIDE),
        sigma=args.sigma,
        geometry=args.geometry,
    )
    model = stacked_hourglass(size, stacks=args.stacks, channels=args.channels, depth=args.depth)
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=[joints_mse] * args.stacks,
    )
    start = time.perf_counter()
    history = model.fit(
        training_data(args.data_dir, config, args.batch_size, args.stacks, args.seed),
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        verbose=2,
    )
    seconds = time.perf_counter() - start
    result = evaluate(
        lambda crops: last_stack(model(crops["image"], training=False)),
        args.data_dir,
        config,
        args.batch_size,
    )
    print(result.table(f"hourglass-{args.stacks}x{args.channels}"))
    print(f"PCKh@0.5 mean {result.mean:.2f} % after {args.epochs} epochs ({seconds:.0f} s)")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        model.save(args.out / "hourglass.keras")
        report = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "loss": history.history["loss"],
            "train_seconds": seconds,
            "pckh": result.groups(),
            "per_joint": result.per_joint,
        }
        (args.out / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
