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
from train_hourglass import STRIDE, last_stack

import mpii_pose  # noqa: F401  (registers the builder)
from mpii_pose import pipeline
from mpii_pose.pipeline_config import GEOMETRIES
from mpii_pose.submission import write_submission


def predict(
    model: keras.Model,
    data_dir: str,
    split: str,
    config: pipeline.PipelineConfig,
    batch_size: int,
    flip_test: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(annotation_index (N,), predicted joints (N, 16, 2) in 1-based image pixels) of a split,
    from the evaluation crop of each person (its objpos and scale); with `flip_test`, HRNet's
    test: the mirrored crop's heatmaps flipped back and averaged in."""
    raw = tfds.load(
        "mpii_pose", data_dir=data_dir, split=split, decoders={"image": tfds.decode.SkipDecoding()}
    )
    batches = raw.map(lambda example: pipeline.transform_example(example, config)).batch(batch_size)
    indices, predictions = [], []
    for crops in batches:
        heatmaps = last_stack(model(crops["image"], training=False))
        if flip_test:
            mirrored = last_stack(model(crops["image"][:, :, ::-1, :], training=False))
            heatmaps = (heatmaps + pipeline.flip_back(mirrored, config)) / 2
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
    parser.add_argument(
        "--geometry",
        choices=GEOMETRIES,
        default=pipeline.PipelineConfig().geometry,
        help="the crop and heatmap geometry the model was trained with (PipelineConfig.geometry)",
    )
    parser.add_argument(
        "--flip_test",
        action="store_true",
        help="average in the mirrored crop's heatmaps (HRNet's test)",
    )
    args = parser.parse_args(argv)
    model = keras.models.load_model(args.model, compile=False)
    size = tuple(int(d) for d in model.input_shape[1:3])
    config = pipeline.PipelineConfig(
        image_size=size,
        heatmap_size=(size[0] // STRIDE, size[1] // STRIDE),
        geometry=args.geometry,
    )
    indices, predictions = predict(
        model, args.data_dir, args.split, config, args.batch_size, args.flip_test
    )
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
