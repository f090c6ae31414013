"""A small stacked hourglass (Newell et al., ECCV 2016) in Keras, with intermediate supervision.

The network maps an image crop to one heatmap stack per hourglass (stride 4, 16 joints); every
stack is trained against the same targets, the last one is used for prediction.
"""

from __future__ import annotations

import keras
from keras import layers


def residual(x, channels: int, name: str):
    """Pre-activation bottleneck residual block, with a 1x1 projection when the width changes."""
    skip = x
    if x.shape[-1] != channels:
        skip = layers.Conv2D(channels, 1, name=f"{name}_skip")(x)
    y = x
    for i, (width, kernel) in enumerate(((channels // 2, 1), (channels // 2, 3), (channels, 1))):
        y = layers.BatchNormalization(name=f"{name}_bn{i}")(y)
        y = layers.ReLU(name=f"{name}_relu{i}")(y)
        y = layers.Conv2D(width, kernel, padding="same", name=f"{name}_conv{i}")(y)
    return layers.Add(name=f"{name}_add")([skip, y])


def hourglass(x, depth: int, channels: int, name: str):
    """One hourglass: pool, recurse, upsample and add the skip branch, `depth` times."""
    skip = residual(x, channels, f"{name}_skip")
    y = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    y = residual(y, channels, f"{name}_down")
    y = (
        hourglass(y, depth - 1, channels, f"{name}_inner")
        if depth > 1
        else residual(y, channels, f"{name}_bottom")
    )
    y = residual(y, channels, f"{name}_up")
    y = layers.UpSampling2D(2, name=f"{name}_upsample")(y)
    return layers.Add(name=f"{name}_merge")([skip, y])


def stacked_hourglass(
    image_size: tuple[int, int] = (256, 256),
    num_joints: int = 16,
    stacks: int = 2,
    channels: int = 128,
    depth: int = 4,
) -> keras.Model:
    """The model: image (H, W, 3) -> a list of `stacks` heatmap tensors (H/4, W/4, joints)."""
    image = keras.Input((*image_size, 3), name="image")
    x = layers.Conv2D(64, 7, strides=2, padding="same", name="stem_conv")(image)
    x = layers.ReLU(name="stem_relu")(layers.BatchNormalization(name="stem_bn")(x))
    x = residual(x, channels // 2, "stem_res1")
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    x = residual(x, channels, "stem_res2")
    outputs = []
    for s in range(stacks):
        y = hourglass(x, depth, channels, f"hg{s}")
        y = residual(y, channels, f"hg{s}_out")
        y = layers.Conv2D(channels, 1, name=f"hg{s}_features")(y)
        y = layers.ReLU(name=f"hg{s}_features_relu")(layers.BatchNormalization(name=f"hg{s}_bn")(y))
        heatmaps = layers.Conv2D(num_joints, 1, dtype="float32", name=f"heatmaps_{s}")(y)
        outputs.append(heatmaps)
        if s < stacks - 1:  # feed features and predictions into the next stack
            x = layers.Add(name=f"hg{s}_remap")(
                [
                    x,
                    layers.Conv2D(channels, 1, name=f"hg{s}_remap_features")(y),
                    layers.Conv2D(channels, 1, name=f"hg{s}_remap_heatmaps")(heatmaps),
                ]
            )
    return keras.Model(image, outputs, name="stacked_hourglass")
