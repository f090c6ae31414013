"""The training transform's settings and constants, shared by the TensorFlow pipeline
(`mpii_pose.training.tf_pipeline`) and its numpy twin (`mpii_pose.training.numpy_transforms`); no TensorFlow here."""

from __future__ import annotations

import dataclasses

from mpii_pose.base.skeleton import FLIP_PAIRS, NUM_JOINTS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PIXELS_PER_SCALE = 200.0  # MPII: a person is about 200 * scale pixels tall


def _flip_permutation() -> tuple[int, ...]:
    order = list(range(NUM_JOINTS))
    for a, b in FLIP_PAIRS:
        order[a], order[b] = b, a
    return tuple(order)


FLIP_PERMUTATION = _flip_permutation()  # after a flip, output joint i is source joint [i]


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Crop, augmentation and target settings; the defaults are HRNet's MPII training settings.

    image_size, heatmap_size: (height, width) of the crop and of the heatmaps.
    sigma: Gaussian standard deviation, in heatmap pixels.
    hrnet_adjustment: move the centre down by 15·scale px and enlarge scale by 1.25 (HRNet's MPII
        loader). Off, center and scale are used as stored. Either way center and joints become
        0-based (minus 1).
    scale_factor: training crops are scaled by clip(1 + scale_factor·N(0, 1), 1 ± scale_factor).
    rotation_factor: with probability rotation_probability, rotate by clip(rotation_factor·N(0, 1),
        ±2·rotation_factor) degrees (HRNet's clip); positive turns the content counter-clockwise.
    flip_probability: probability of a horizontal flip, which also swaps left and right joints.
    mean, std: the crop becomes (rgb / 255 - mean) / std; ImageNet's by default, (0, 0, 0) and
        (1, 1, 1) give [0, 1].
    reference_path: True transforms the whole image (decoded whole, made float, then warped), the
        slower path kept for comparison; the default decodes and converts only what the crop
        needs and gives the same examples within the tolerances README.md states.
    """

    image_size: tuple[int, int] = (256, 256)
    heatmap_size: tuple[int, int] = (64, 64)
    sigma: float = 2.0
    hrnet_adjustment: bool = True
    scale_factor: float = 0.25
    rotation_factor: float = 30.0
    rotation_probability: float = 0.6
    flip_probability: float = 0.5
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    reference_path: bool = False

    @property
    def stride(self) -> tuple[float, float]:
        """Crop pixels per heatmap pixel, (x, y)."""
        return (
            self.image_size[1] / self.heatmap_size[1],
            self.image_size[0] / self.heatmap_size[0],
        )
