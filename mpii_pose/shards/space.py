"""The bytes a build will write, estimated from its plan and its images' file sizes, so that a
build that cannot fit stops before the first shard (see `base.disk_space`).

Cheap by design: each distinct image is stat'ed once, nothing is read or decoded (0.1 s for
25,000 images, measured on the 2-core reference machine). A record stores its image once
(per_person: a person's whole image, so an image with three persons is stored three times;
per_image: each image once), as its file's bytes: a JPEG kept verbatim is exactly that, and an
image converted to RGB JPEG is counted at its source's size (a tiny PNG or grayscale JPEG can
grow, a large PNG shrinks; MPII's images are RGB JPEGs). The other features cost about a
constant per example and per person, each format frames records its way, and each file ends in
a partly used block. `MARGIN` covers the rest.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

from etils import epath

from mpii_pose.base.configs import PER_IMAGE, PER_PERSON
from mpii_pose.shards import array_record_files
from mpii_pose.shards.plan import SplitPlan
from mpii_pose.sources.image_records import ImageRecord

MARGIN = 0.05  # added to the estimate, for what the constants below do not see
# A serialized example's bytes besides its image (feature names, numbers, file name, activity),
# measured on the sample (examples encoded without their image): per_person 713-885 bytes, mean
# 755; per_image 546 + 405 per person (a row of `persons`), within 325. Rounded up.
EXAMPLE_BYTES: dict[str, int] = {PER_PERSON: 900, PER_IMAGE: 650}
PERSON_BYTES = 450  # per_image, per person
TFRECORD_FRAMING = 16  # length, its CRC, the data's CRC
# ArrayRecord (Riegeli) writes 64 KiB blocks, a header of 24 bytes in each, a chunk header per
# record (group_size:1), and ends with its footer's block; a file takes at least two blocks.
ARRAY_RECORD_BLOCK = 65_536
ARRAY_RECORD_BLOCK_HEADER = 24
ARRAY_RECORD_PER_RECORD = 128
ARRAY_RECORD_MIN_FILE = 2 * ARRAY_RECORD_BLOCK
# A file's end leaves its last block of the file system (4 KiB) partly used: half, on average.
FILE_END = 2_048
# dataset_info.json, features.json, metadata.json (about 20 KiB on disk) and folders.
BUILD_FILES = 32 * 1_024


def image_sizes(plans: Iterable[SplitPlan]) -> dict[tuple[str, str], int]:
    """The file size of each distinct image the plans use, by (images folder, image): one stat
    each (plain paths: etils' path objects cost more than the stat)."""
    sizes: dict[tuple[str, str], int] = {}
    for plan in plans:
        images_dir = os.fspath(plan.source.images_dir)
        for record in plan.records:
            key = (images_dir, record.image)
            if key not in sizes:
                sizes[key] = _size(images_dir, record.image)
    return sizes


def _size(images_dir: str, image: str) -> int:
    """An image file's size (a bucket's through etils)."""
    if "://" in images_dir:
        return int(epath.Path(images_dir, image).stat().length)
    return os.stat(os.path.join(images_dir, image)).st_size


def record_bytes(plan: SplitPlan, sizes: dict[tuple[str, str], int]) -> list[int]:
    """The estimated bytes of each record of `plan`, serialized, in plan order."""
    images_dir = os.fspath(plan.source.images_dir)
    example = EXAMPLE_BYTES[plan.config]
    return [
        sizes[images_dir, record.image]
        + example
        + (PERSON_BYTES * len(record.persons) if isinstance(record, ImageRecord) else 0)
        for record in plan.records
    ]


def shard_file_bytes(records: list[int], file_format: str) -> int:
    """The estimated size of a shard file holding records of these sizes, on disk."""
    if file_format == array_record_files.FORMAT:
        data = sum(records) + ARRAY_RECORD_PER_RECORD * len(records)
        data += math.ceil(data / ARRAY_RECORD_BLOCK) * ARRAY_RECORD_BLOCK_HEADER
        blocks = math.ceil(data / ARRAY_RECORD_BLOCK) + 1  # the footer's
        # plus the writer's receipt of the shard's bytes (a small file) while the build runs
        return max(blocks * ARRAY_RECORD_BLOCK, ARRAY_RECORD_MIN_FILE) + FILE_END
    return sum(records) + TFRECORD_FRAMING * len(records) + FILE_END


def estimate_bytes(plans: Iterable[SplitPlan], file_format: str) -> int:
    """The bytes the build of `plans` in `file_format` will write, with `MARGIN` added."""
    plans = tuple(plans)
    sizes = image_sizes(plans)
    total = BUILD_FILES
    for plan in plans:
        sizes_in_order = record_bytes(plan, sizes)
        start = 0
        for length in plan.shard_lengths:
            total += shard_file_bytes(sizes_in_order[start : start + length], file_format)
            start += length
    return math.ceil(total * (1 + MARGIN))
