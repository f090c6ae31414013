"""Synthetic MPII data: the bundled sample (also TFDS's dummy data) and the writers of MPII's file
layouts that make it and the tests' fixtures. Nothing that builds the dataset imports this package.

- `generator`: manual directories of plain figures posed at their joints (`write_sample`);
  `python -m mpii_pose.sample OUT` writes one.
- `mat_writers`: the official `.mat`, MPII's `groups_v12.mat` and HRNet's `gt_valid.mat`, written
  reproducibly.
"""

from mpii_pose.sample.generator import (
    BODY_TONES,
    GROUPS_PATH,
    OFFICIAL_PATH,
    paint_people,
    place_people,
    save_image,
    write_sample,
)

__all__ = [
    "BODY_TONES",
    "GROUPS_PATH",
    "OFFICIAL_PATH",
    "paint_people",
    "place_people",
    "save_image",
    "write_sample",
]
