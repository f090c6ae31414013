"""Generate an MPII-like manual directory for benchmarks: `python benchmarks/make_synthetic.py --images N OUT`.

1280x720 photographic-looking JPEGs of MPII's size (300-500 KB), plain figures posed at their joints,
HRNet JSON with about 1.65 persons per image and ~10 % unlabelled joints, about 12 % of the images in
the validation split, 1 % grayscale JPEGs and 0.5 % PNGs under a .jpg name. Image i depends only on
(seed, i), so the first N images of a larger set are the set of N. With `--annotated K`, only the
first K images have persons in the JSON, as MPII's test images have none there.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mpii_pose.sample import paint_people, place_people, save_image

SIZE = (1280, 720)
VALIDATION_SHARE = 2958 / 25204  # the HRNet split's persons, as a share of images
MPII_IMAGES = 24_984  # the official archive's images
MPII_ANNOTATED = 15_120  # images to annotate for MPII's 25,204 train + validation persons
_POOL = 8  # texture tiles shared by all images, so that generation stays fast


@functools.cache
def _textures(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Luminance texture and fine grain tiles, mixed per image (made once per process)."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    textures, grains = [], []
    for _ in range(_POOL):
        small = np.uint8(np.clip(rng.normal(128, 50, (h // 6, w // 6)), 0, 255))
        texture = np.asarray(Image.fromarray(small).resize(SIZE, Image.BICUBIC), np.float32) - 128
        textures.append(texture[..., None])
        grains.append(rng.normal(0, 1, (h, w, 1)).astype(np.float32))
    return textures, grains


def _photo(rng: random.Random, textures: list[np.ndarray], grains: list[np.ndarray]) -> Image.Image:
    """Soft, muted colour regions, texture and sensor-like grain: compresses like a photograph."""
    tint = [rng.uniform(0.7, 1.3) for _ in range(3)]
    low = np.uint8(
        [[[min(255, rng.randrange(40, 200) * t) for t in tint] for _ in range(8)] for _ in range(5)]
    )
    base = np.asarray(Image.fromarray(low).resize(SIZE, Image.BICUBIC), np.float32)
    shift = (rng.randrange(SIZE[1]), rng.randrange(SIZE[0]))
    texture = np.roll(textures[rng.randrange(_POOL)], shift, (0, 1)) * rng.uniform(0.3, 0.6)
    grain = grains[rng.randrange(_POOL)] * rng.uniform(4, 7.5)
    return Image.fromarray(np.uint8(np.clip(base + texture + grain, 0, 255)))


def make_image(args: tuple[Path, int, int]) -> tuple[str, list[dict]]:
    """Draws and saves image `index`; returns its split file name and its persons' entries."""
    images_dir, seed, index = args
    rng = random.Random(seed * 1_000_003 + index)
    name = f"{index:09d}.jpg"
    people, entries = place_people(rng, name, SIZE, counts=(1, 1, 1, 2, 2, 3))
    for _, labelled in people:  # with place_people's, about 10 % of joints unlabelled
        for j in range(len(labelled)):
            if rng.random() < 0.04:
                labelled[j] = 0
    for (joints, labelled), entry in zip(people, entries, strict=True):
        entry["joints_vis"] = labelled
        entry["joints"] = [p if v else [-1.0, -1.0] for p, v in zip(joints, labelled, strict=True)]
    image = _photo(rng, *_textures(seed))
    paint_people(ImageDraw.Draw(image), people)
    draw = rng.random()
    kind = "grayscale" if draw < 0.01 else "png" if draw < 0.015 else "baseline"
    save_image(image, images_dir / name, kind, quality=rng.randrange(90, 96))
    split = "valid.json" if rng.random() < VALIDATION_SHARE else "train.json"
    return split, entries


def make_synthetic(
    out: Path,
    images: int,
    seed: int = 0,
    processes: int | None = None,
    annotated: int | None = None,
) -> dict:
    """Writes `images/`, `train.json` and `valid.json` under `out`, with persons in the JSON for the
    first `annotated` images (all by default); returns persons per file."""
    images_dir = Path(out) / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    splits: dict[str, list[dict]] = {"train.json": [], "valid.json": []}
    jobs = ((images_dir, seed, i) for i in range(images))
    with multiprocessing.Pool(processes) as pool:
        for index, (split, entries) in enumerate(pool.imap(make_image, jobs, chunksize=8)):
            if annotated is None or index < annotated:
                splits[split].extend(entries)
    for filename, entries in splits.items():
        (Path(out) / filename).write_text(json.dumps(entries))
    return {filename: len(entries) for filename, entries in splits.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="manual directory to create")
    parser.add_argument("--images", type=int, required=True, help="number of images")
    parser.add_argument(
        "--annotated",
        type=int,
        metavar="K",
        help="only the first K images have persons in the JSON (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    counts = make_synthetic(args.out, args.images, args.seed, annotated=args.annotated)
    print(
        f"{args.out}: {args.images} images, "
        + ", ".join(f"{k} {v} persons" for k, v in counts.items())
    )


if __name__ == "__main__":
    main()
