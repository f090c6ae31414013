"""The seed notebook's approach, as a baseline: 64 + 8 chunks, one Ray task per chunk, TensorFlow.

Faithful to the original design (chunkify split in file order, a Ray task per chunk, a PIL check of
each image, `tf.train.Example` + `tf.io.TFRecordWriter` in the workers), with its data bugs fixed so
that it writes valid data: raw float joints (no `int()`, no x for a negative y), the labelled flag
as is, centre and scale stored, each image read once, `ray.init` in `main`, output folder created,
validation read from valid.json. Usage:
python benchmarks/seed_writer.py MANUAL_DIR OUT_DIR [--workers N]; prints the persons written.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import ray

CHUNKS = {"train": ("train.json", 64), "validation": ("valid.json", 8)}


@ray.remote
def write_chunk(entries: list[dict], images: str, path: str) -> int:
    import tensorflow as tf
    from PIL import Image

    def floats(values):
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))

    with tf.io.TFRecordWriter(path) as writer:
        for entry in entries:
            data = (Path(images) / entry["image"]).read_bytes()
            with Image.open(io.BytesIO(data)) as image:  # the seed's PIL check
                image.verify()
            feature = {
                "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[data])),
                "filename": tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[entry["image"].encode()])
                ),
                "joints": floats(np.asarray(entry["joints"], np.float32).ravel()),
                "visibility": tf.train.Feature(
                    int64_list=tf.train.Int64List(value=entry["joints_vis"])
                ),
                "center": floats(entry["center"]),
                "scale": floats([entry["scale"]]),
            }
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())
    return len(entries)


def contender_arguments(description: str) -> argparse.Namespace:
    """The command line of a contender script: MANUAL_DIR OUT_DIR [--workers N]."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("manual", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args()


def main() -> None:
    args = contender_arguments(__doc__.splitlines()[0])
    args.out.mkdir(parents=True, exist_ok=True)
    ray.init(num_cpus=args.workers, include_dashboard=False)
    refs = []
    for split, (name, chunks) in CHUNKS.items():
        entries = json.loads((args.manual / name).read_text())
        for i, chunk in enumerate(np.array_split(np.arange(len(entries)), chunks)):
            path = str(args.out / f"{split}-{i:05d}-of-{chunks:05d}.tfrecord")
            refs.append(
                write_chunk.remote([entries[j] for j in chunk], str(args.manual / "images"), path)
            )
    print(sum(ray.get(refs)))
    ray.shutdown()


if __name__ == "__main__":
    main()
