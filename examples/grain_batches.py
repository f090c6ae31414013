"""Training batches for JAX (or any numpy code) with Grain over `tfds.data_source`: no TensorFlow.

    mpii-pose build --manual_dir M --data_dir D --file_format array_record
    python examples/grain_batches.py --data_dir D                 # training batches, examples/s
    python examples/grain_batches.py --data_dir D --evaluate      # heatmaps -> image px -> PCKh

A training step takes `batch` where this script counts it. `--evaluate` scores the validation
targets themselves as if a model had predicted them (PCKh 100 %): the way from a model's
heatmaps back to image coordinates and to HRNet's table.
"""

from __future__ import annotations

import argparse
import time

import tensorflow_datasets as tfds

import mpii_pose  # noqa: F401  (registers the dataset)
from mpii_pose.evaluation import PCKhAccumulator
from mpii_pose.grain_loader import data_loader
from mpii_pose.pipeline_config import PipelineConfig
from mpii_pose.transforms import heatmaps_to_image, to_image_coordinates

# JPEG bytes rather than decoded images: the transform decodes them itself and copies only the
# crop's window (about twice as fast as from TFDS's decoded arrays).
JPEG = {"image": tfds.decode.SkipDecoding()}


def train_batches(data_dir: str, config: PipelineConfig, batch_size: int, batches: int) -> None:
    source = tfds.data_source("mpii_pose", data_dir=data_dir, split="train", decoders=JPEG)
    loader = data_loader(source, config, training=True, batch_size=batch_size, num_epochs=None)
    start, seen = time.perf_counter(), 0
    for step, batch in enumerate(loader):
        if step == 0:
            print({key: (value.shape, str(value.dtype)) for key, value in batch.items()})
        seen += len(batch["image"])  # a training step would use the batch here
        if step + 1 == batches:
            break
    print(f"{seen} training examples in {time.perf_counter() - start:.1f} s")


def evaluate(data_dir: str, config: PipelineConfig, batch_size: int) -> None:
    source = tfds.data_source("mpii_pose", data_dir=data_dir, split="validation", decoders=JPEG)
    accumulator = PCKhAccumulator()
    for batch in data_loader(source, config, training=False, batch_size=batch_size):
        predicted = batch["heatmaps"]  # a model's output would go here
        in_image = heatmaps_to_image(predicted, batch["transform"], config)
        joints = to_image_coordinates(batch["joints"], batch["transform"])
        accumulator.update(in_image, joints, batch["visibility"], batch["head_box"])
    result = accumulator.result()
    print(result.table("targets"))
    print(f"PCKh@0.5 mean {result.mean:.2f} %")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True, help="where mpii_pose is built (array_record)")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=20, help="training batches to draw")
    parser.add_argument("--image_size", type=int, default=256)
    parser.add_argument("--evaluate", action="store_true", help="score the validation targets")
    args = parser.parse_args(argv)
    size = args.image_size
    config = PipelineConfig(image_size=(size, size), heatmap_size=(size // 4, size // 4))
    if args.evaluate:
        evaluate(args.data_dir, config, args.batch_size)
    else:
        train_batches(args.data_dir, config, args.batch_size, args.batches)


if __name__ == "__main__":
    main()
