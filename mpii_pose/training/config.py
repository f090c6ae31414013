"""The training transform's settings and constants, shared by the TensorFlow pipeline
(`mpii_pose.training.tf_pipeline`) and its numpy twin (`mpii_pose.training.numpy_transforms`); no TensorFlow here."""

from __future__ import annotations

import dataclasses
from typing import Literal, get_args

from mpii_pose.base.skeleton import FLIP_PAIRS, NUM_JOINTS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PIXELS_PER_SCALE = 200.0  # MPII: a person is about 200 * scale pixels tall
# The pixel conventions of crops, targets and decoding (`PipelineConfig.geometry`).
Geometry = Literal["hrnet", "half_pixel"]
GEOMETRIES: tuple[str, ...] = get_args(Geometry)


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
    geometry: where crops, targets and decoded predictions sit on the pixel grid.
        "hrnet" (the default) is HRNet's code exactly (`get_affine_transform`, `generate_target`,
        `get_final_preds`), as HRNet's, SimpleBaseline's and mmpose's MSRA-heatmap checkpoints
        were trained and evaluated: the box centre goes to crop pixel (w/2, h/2) and the 200·scale
        box spans the crop's width; a flip mirrors the image before the rotation; a joint's
        Gaussian is centred on the heatmap pixel int(crop x / stride + 0.5), cut to 6σ+1 pixels
        (HRNet's int() arithmetic, kept exactly, moves it a pixel near the border when 3σ is not
        whole), its weight 0 only when HRNet's bounds test finds that window off the heatmap;
        heatmap px p are crop px p·stride (the x stride on both axes).
        "half_pixel" puts everything on pixel centres, as `tf.image.resize` does: the box centre
        goes to the crop's middle ((w-1)/2, (h-1)/2) and the box spans its shorter side; a flip
        mirrors the rotated crop; Gaussians sit at the joint's sub-pixel position, heatmap
        x = (crop x + 0.5) / stride - 0.5, and a joint outside the crop has no weight. Its
        targets carry no rounding, and a mirrored crop's heatmaps mirror exactly (`flip_back`
        needs no shift); use it to train, not to evaluate HRNet-trained weights.
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
    geometry: Geometry = "hrnet"
    sigma: float = 2.0
    hrnet_adjustment: bool = True
    scale_factor: float = 0.25
    rotation_factor: float = 30.0
    rotation_probability: float = 0.6
    flip_probability: float = 0.5
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    reference_path: bool = False

    def __post_init__(self) -> None:
        if self.geometry not in GEOMETRIES:
            raise ValueError(
                f"PipelineConfig(geometry={self.geometry!r}): expected one of {', '.join(map(repr, GEOMETRIES))}"
            )

    @property
    def hrnet(self) -> bool:
        """Whether the geometry is HRNet's."""
        return self.geometry == "hrnet"

    @property
    def crop_center(self) -> tuple[float, float]:
        """(x, y) crop px where the person's box centre lands."""
        height, width = self.image_size
        if self.hrnet:
            return width / 2, height / 2
        return (width - 1) / 2, (height - 1) / 2

    @property
    def box_span(self) -> int:
        """Crop px that the 200·scale px box spans: the width (HRNet), the shorter side (half_pixel)."""
        return self.image_size[1] if self.hrnet else min(self.image_size)

    @property
    def heatmap_to_crop(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((ax, ay), (bx, by)): heatmap px p are crop px p·a + b. HRNet maps heatmaps back
        through the affine of the heatmap's size, the x stride on both axes (p·stride when the
        strides are equal); half_pixel is centre-aligned."""
        sx, sy = self.stride
        if self.hrnet:
            (height, width), (rows, columns) = self.image_size, self.heatmap_size
            return (sx, sx), (width / 2 - columns / 2 * sx, height / 2 - rows / 2 * sx)
        return (sx, sy), ((sx - 1) / 2, (sy - 1) / 2)

    @property
    def stride(self) -> tuple[float, float]:
        """Crop pixels per heatmap pixel, (x, y)."""
        return (
            self.image_size[1] / self.heatmap_size[1],
            self.image_size[0] / self.heatmap_size[0],
        )
