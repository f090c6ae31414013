"""PyTorch: a `torch.utils.data.DataLoader` over `tfds.data_source('mpii_pose')`, no TensorFlow.

    mpii-pose build --manual_dir M --data_dir D --file_format array_record
    pip install torch --index-url https://download.pytorch.org/whl/cpu   # CPU-only; or any torch
    python examples/torch_loader.py --data_dir D

Each worker reads examples with random access and transforms them with `mpii_pose.training.numpy_transforms`
(the pipeline's crop, HRNet augmentation and heatmaps); augmentation is drawn from a generator
seeded by (seed, epoch, index), so a run is repeatable whatever the number of workers. It prints
the first batch's shapes, then how many examples it loaded and how fast.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import tensorflow_datasets as tfds
import torch

import mpii_pose  # noqa: F401  (registers the dataset)
from mpii_pose.pipeline_config import PipelineConfig
from mpii_pose.transforms import batch_fields, sample_augmentation, transform_example


class MpiiPose(torch.utils.data.Dataset):
    """One split of mpii_pose as training (augmented) or evaluation crops and targets."""

    def __init__(self, data_dir: str, split: str, config: PipelineConfig, training: bool, seed=0):
        jpeg = {"image": tfds.decode.SkipDecoding()}  # decoded by the transform, window only
        self.source = tfds.data_source("mpii_pose", data_dir=data_dir, split=split, decoders=jpeg)
        self.config, self.training, self.seed, self.epoch = config, training, seed, 0

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        augmentation = None
        if self.training:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            augmentation = sample_augmentation(rng, self.config)
        example = transform_example(self.source[index], self.config, augmentation)
        # Features decoded from bytes are read-only views, which PyTorch will not share: copied.
        fields = batch_fields(example).items()
        return {key: torch.from_numpy(np.require(value, requirements="W")) for key, value in fields}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True, help="where mpii_pose is built (array_record)")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batches", type=int, help="per epoch (default: the whole split)")
    args = parser.parse_args(argv)
    train = MpiiPose(args.data_dir, "train", PipelineConfig(), training=True)
    loader = torch.utils.data.DataLoader(
        train, batch_size=args.batch_size, shuffle=True, num_workers=args.workers, drop_last=True
    )
    examples, start = 0, time.perf_counter()
    for epoch in range(args.epochs):
        train.epoch = epoch  # new augmentation each epoch (workers get the dataset each epoch)
        for number, batch in enumerate(loader):
            if number == args.batches:
                break
            if not examples:
                print("batch:", {key: tuple(value.shape) for key, value in batch.items()})
            examples += len(batch["image"])
    seconds = time.perf_counter() - start
    print(
        f"{examples} training examples in {seconds:.1f} s: {examples / seconds:.1f} examples/s "
        f"({args.workers} workers, their start-up included)"
    )


if __name__ == "__main__":
    main()
