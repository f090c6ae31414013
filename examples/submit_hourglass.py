"""Predict a split with a trained hourglass and write MPII's submission file from the predictions.

    python examples/train_hourglass.py --data_dir D --out run
    python examples/submit_hourglass.py --data_dir D --model run/hourglass.keras \\
        --out pred_keypoints_mpii.mat
    # check the whole path on validation first, then score it as MPII does:
    python examples/submit_hourglass.py --data_dir D --model run/hourglass.keras \\
        --split validation --out val_submission.mat
    mpii-pose score --submission val_submission.mat --ground_truth M/mpii_human_pose_v1_u12_1.mat \\
        --split validation

It reads the split through `tfds.load` (tf.data), so it needs a TFRecord build, the default.
The predictions are also saved next to the submission (`.npz`: annotation_index and preds, 1-based
image pixels), the form `mpii-pose submit --predictions` reads.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

import mpii_pose  # noqa: F401  (registers the builder)
from mpii_pose import pipeline
from mpii_pose.submission import write_submission

STRIDE = 4  # the hourglass's output is a quarter of its input


def predict(
    model: keras.Model,
    data_dir: str,
    split: str,
    config: pipeline.PipelineConfig,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(annotation_index (N,), predicted joints (N, 16, 2) in 1-based image pixels) of a split,
    from the evaluation crop of each person (its objpos and scale)."""
    raw = tfds.load(
        "mpii_pose", data_dir=data_dir, split=split, decoders={"image": tfds.decode.SkipDecoding()}
    )
    batches = raw.map(lambda example: pipeline.transform_example(example, config)).batch(batch_size)
    indices, predictions = [], []
    for crops in batches:
        outputs = model(crops["image"], training=False)
        heatmaps = outputs[-1] if isinstance(outputs, (list, tuple)) else outputs
        image_points = pipeline.heatmaps_to_image(heatmaps, crops["transform"], config)
        indices.append(crops["annotation_index"].numpy())
        predictions.append(image_points.numpy().astype(np.float64))
    return np.concatenate(indices), np.concatenate(predictions)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True, help="TFDS data dir holding mpii_pose")
    parser.add_argument("--model", type=Path, required=True, help="train_hourglass.py's .keras")
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    parser.add_argument("--out", type=Path, default=Path("pred_keypoints_mpii.mat"))
    parser.add_argument("--manual_dir", help="where the build found the official .mat")
    parser.add_argument("--batch_size", type=int, default=16)
    args = parser.parse_args(argv)
    model = keras.models.load_model(args.model, compile=False)
    size = tuple(int(d) for d in model.input_shape[1:3])
    config = pipeline.PipelineConfig(
        image_size=size, heatmap_size=(size[0] // STRIDE, size[1] // STRIDE)
    )
    indices, predictions = predict(model, args.data_dir, args.split, config, args.batch_size)
    saved = args.out.with_suffix(".predictions.npz")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(saved, annotation_index=indices, preds=predictions)
    print(f"Predicted {len(indices)} {args.split} persons; saved them to {saved}")
    report = write_submission(
        args.data_dir, saved, args.out, manual_dir=args.manual_dir, split=args.split
    )
    print("\n".join(report.lines()))


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    main()
