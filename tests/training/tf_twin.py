"""The TensorFlow pipeline's example for a given augmentation, as numpy: what tests compare the
numpy transform and HRNet's code with."""

import numpy as np
import tensorflow as tf

from mpii_pose.training import tf_pipeline as pipeline
from mpii_pose.training.config import PipelineConfig
from mpii_pose.training.numpy_transforms import Augmentation

INPUTS = ("image", "joints", "visibility", "center", "scale")  # what the transform reads


def tensorflow_outputs(
    example: dict, augmentation: Augmentation, config: PipelineConfig
) -> dict[str, np.ndarray]:
    tensors = {key: tf.constant(example[key]) for key in INPUTS}
    out = pipeline.augmented_example(
        tensors,
        config,
        tf.constant(augmentation.multiplier, tf.float32),
        tf.constant(augmentation.rotation, tf.float32),
        tf.constant(augmentation.flip),
    )
    return {key: value.numpy() for key, value in out.items()}
