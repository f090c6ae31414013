"""The feature spec of an mpii_pose example, shared by the builder and every shard writer.

Coordinates and sizes are float64, the precision of the JSON and the .mat files, stored as their
bytes (`tf.train.Example` has no float64 list: TFDS would store a float list as float32).
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from mpii_pose.base.skeleton import NUM_JOINTS

# Exact float64 values: the array's bytes in one bytes entry.
_EXACT = {"dtype": np.float64, "encoding": tfds.features.Encoding.BYTES}


def feature_spec() -> tfds.features.FeaturesDict:
    """The features of one example (one annotated person); see mpii_pose/README.md."""
    return tfds.features.FeaturesDict(
        {
            "image": tfds.features.Image(
                shape=(None, None, 3),
                encoding_format="jpeg",
                doc="The whole MPII image, RGB JPEG.",
            ),
            "filename": tfds.features.Text(doc="Image path relative to images/."),
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
            "person_index": tfds.features.Scalar(
                dtype=np.int32,
                doc="Position among the persons of the same image in the JSON, from 0.",
            ),
        }
    )
