"""What a Ray user would write instead: Ray Data from the persons to 64 + 8 TFRecord files.

`ray.data.from_items` of each split's JSON entries, a `map` that reads each person's image,
converts it to RGB JPEG when it is not one (this package's normaliser) and makes the row of
features, `repartition` into 64 (train) or 8 (validation) blocks, and `write_tfrecords`, which
encodes every row as a `tf.train.Example`. Not byte-identical to `tfds build` (other features,
file order and names): a throughput baseline. Usage:
python benchmarks/ray_data_writer.py MANUAL_DIR OUT_DIR [--workers N]; prints the persons written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import ray
from ray.data.datasource import FilenameProvider
from seed_writer import contender_arguments

SPLITS = {"train": ("train.json", 64), "validation": ("valid.json", 8)}


def to_row(entry: dict, images: str) -> dict:
    """One person's features: the image (read, converted if need be) and its annotation."""
    from mpii_pose.shards.image_bytes import to_rgb_jpeg

    return {
        "image": to_rgb_jpeg((Path(images) / entry["image"]).read_bytes()),
        "filename": entry["image"].encode(),
        "joints": np.asarray(entry["joints"], np.float32).ravel(),
        "visibility": np.asarray(entry["joints_vis"], np.int64),
        "center": np.asarray(entry["center"], np.float32),
        "scale": np.float32(entry["scale"]),
    }


class _TFRecordNames(FilenameProvider):
    """`<split>-<task>.tfrecord` (Ray 2.60's TFRecord sink names its files `.tar` by default)."""

    def __init__(self, split: str):
        self.split = split

    def get_filename_for_task(self, write_uuid: str, task_index: int) -> str:
        return f"{self.split}-{task_index:05d}.tfrecord"


def main() -> None:
    args = contender_arguments(__doc__.splitlines()[0])
    ray.init(num_cpus=args.workers, include_dashboard=False, logging_level="ERROR")
    ray.data.DataContext.get_current().enable_progress_bars = False
    written = 0
    for split, (name, files) in SPLITS.items():
        entries = json.loads((args.manual / name).read_text())
        dataset = ray.data.from_items(entries).map(
            to_row, fn_kwargs={"images": str(args.manual / "images")}
        )
        dataset.repartition(files).write_tfrecords(
            str(args.out / split), filename_provider=_TFRecordNames(split)
        )
        written += len(entries)
    print(written)
    ray.shutdown()


if __name__ == "__main__":
    main()
