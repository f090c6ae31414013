"""The feature specs of mpii_pose's two configs, shared by the builder and every shard writer.

`per_person`: one example per annotated person, with its image. `per_image`: one example per
image, with all its persons in `persons`. Coordinates and sizes are float64, the precision of the
JSON and the .mat files, stored as their bytes (`tf.train.Example` has no float64 list: TFDS
would store a float list as float32).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from mpii_pose.base.configs import CONFIGS, PER_IMAGE, PER_PERSON
from mpii_pose.base.skeleton import NUM_JOINTS

# Exact float64 values: the array's bytes in one bytes entry.
_EXACT = {"dtype": np.float64, "encoding": tfds.features.Encoding.BYTES}


def feature_spec(config: str = PER_PERSON) -> tfds.features.FeaturesDict:
    """The features of one example of `config`; see mpii_pose/README.md."""
    if config == PER_IMAGE:
        return _per_image()
    if config != PER_PERSON:
        raise ValueError(f"unknown config {config!r}; one of {', '.join(CONFIGS)}")
    return tfds.features.FeaturesDict(
        {
            **_image_features(),
            **_person_features(),
            "person_index": tfds.features.Scalar(
                dtype=np.int32,
                doc="Position among the persons of the same image in the JSON, from 0.",
            ),
        }
    )


def _per_image() -> tfds.features.FeaturesDict:
    return tfds.features.FeaturesDict(
        {
            **_image_features(),
            "official_image_index": tfds.features.Scalar(
                dtype=np.int32,
                doc="1-based index of the image in the official .mat's RELEASE.annolist; -1 "
                "when none of its persons has a clear match there.",
            ),
            "persons": tfds.features.Sequence(
                tfds.features.FeaturesDict(
                    {
                        **_person_features(),
                        "annotated": tfds.features.Scalar(
                            dtype=np.bool_,
                            doc="True when an annotation file (JSON) lists the person; False "
                            "for a person only the official .mat holds (mask it in training).",
                        ),
                        "annotation_split": tfds.features.Text(
                            doc="The split whose annotation file lists the person ('train', "
                            "'validation', 'test'); '' when none does."
                        ),
                        "group": tfds.features.Scalar(
                            dtype=np.int32,
                            doc="1-based group of the person among its image's groups in "
                            "groups_v12.mat (MPII's multi-person evaluation); -1 when in none "
                            "or without that file.",
                        ),
                    }
                ),
                doc="Every person of the image: the official .mat's order, then those it "
                "does not hold.",
            ),
        }
    )


def _image_features() -> dict[str, Any]:
    """The features of the image, in both configs."""
    return {
        "image": tfds.features.Image(
            shape=(None, None, 3),
            encoding_format="jpeg",
            doc="The whole MPII image, RGB JPEG.",
        ),
        "filename": tfds.features.Text(doc="Image path relative to images/."),
        "activity": tfds.features.Text(
            doc="The image's activity in the official .mat, e.g. 'bicycling, mountain'; "
            "'' when unknown."
        ),
        "category": tfds.features.Text(
            doc="The activity's category, e.g. 'bicycling'; '' when unknown."
        ),
        "activity_id": tfds.features.Scalar(
            dtype=np.int32, doc="MPII's activity id; -1 when unknown."
        ),
    }


def _person_features() -> dict[str, Any]:
    """The features of a person, in both configs (per_image: in `persons`)."""
    return {
        "joints": tfds.features.Tensor(
            shape=(NUM_JOINTS, 2),
            **_EXACT,
            doc="(x, y) per joint in MPII order, MATLAB 1-based pixels as in the "
            "JSON; [-1, -1] when not labelled.",
        ),
        "visibility": tfds.features.Tensor(
            shape=(NUM_JOINTS,),
            dtype=np.bool_,
            doc="The JSON's joints_vis: True when the joint is labelled (occluded "
            "joints included), False when missing.",
        ),
        "center": tfds.features.Tensor(
            shape=(2,),
            **_EXACT,
            doc="MPII objpos (x, y): a rough body position, 1-based pixels.",
        ),
        "scale": tfds.features.Tensor(  # not a Scalar: a Scalar has no encoding
            shape=(), **_EXACT, doc="MPII scale: person height is about 200 * scale px."
        ),
        "head_box": tfds.features.Tensor(
            shape=(4,),
            **_EXACT,
            doc="(x1, y1, x2, y2) of the head, 1-based pixels, for PCKh: from gt_valid.mat "
            "or mpii_gt_val.mat (validation), else from the official .mat; NaN when unknown.",
        ),
        "is_visible": tfds.features.Tensor(
            shape=(NUM_JOINTS,),
            dtype=np.int8,
            doc="From the official .mat: 1 visible, 0 occluded, -1 unknown (joint not "
            "labelled, or the person not found in mpii_human_pose_v1_u12_1.mat).",
        ),
        "official_image_index": tfds.features.Scalar(
            dtype=np.int32,
            doc="1-based index of the person's image in the official .mat's "
            "RELEASE.annolist; -1 when the person has no clear match there.",
        ),
        "official_rect_index": tfds.features.Scalar(
            dtype=np.int32,
            doc="1-based index of the person in that image's annorect; -1 when the person "
            "has no clear match.",
        ),
        "single_person": tfds.features.Scalar(
            dtype=np.bool_,
            doc="True when RELEASE.single_person lists the person (the persons MPII's "
            "single-person benchmark scores); False otherwise or when unmatched.",
        ),
        "annotation_index": tfds.features.Scalar(
            dtype=np.int64, doc="Position of the person's entry in its JSON, from 0."
        ),
    }
