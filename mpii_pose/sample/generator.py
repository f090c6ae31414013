"""A small synthetic MPII-format manual directory: plain figures posed at their annotated joints.

The figures are filled bodies in skin tones or grey, without a skeleton, so that the skeleton
`mpii-pose show` draws on them stands out.

It is the package's bundled sample and TFDS dummy data (`mpii_pose/dummy_data/`), and what tests build
from. Deterministic for a given seed. Regenerate the bundled copy with
`python -m mpii_pose.sample mpii_pose/dummy_data`.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path
from typing import cast

import numpy as np
from PIL import Image, ImageDraw

from mpii_pose.base.skeleton import LIMBS, NUM_JOINTS
from mpii_pose.sample.mat_writers import (
    ground_truth_mat,
    groups_mat,
    official_images,
    official_mat,
)
from mpii_pose.sources.annotations import HeadBox
from mpii_pose.sources.manual_dir import GROUPS_FILE, OFFICIAL_DIR, OFFICIAL_FILE
from mpii_pose.sources.official_annotations import OfficialPerson

IMAGE_SIZE = (320, 240)
# Standing figure, (x, y) in units of body height around the pelvis; the person's right is image left.
_TEMPLATE: tuple[tuple[float, float], ...] = (
    (-0.10, 0.50),
    (-0.09, 0.27),
    (-0.08, 0.03),
    (0.08, 0.03),
    (0.09, 0.27),
    (0.10, 0.50),
    (0.00, 0.00),
    (0.00, -0.28),
    (0.00, -0.33),
    (0.00, -0.50),
    (-0.26, -0.02),
    (-0.21, -0.15),
    (-0.12, -0.28),
    (0.12, -0.28),
    (0.21, -0.15),
    (0.26, -0.02),
)
# Body colours, by a figure's place in its image: two skin tones and a slate grey.
BODY_TONES: tuple[tuple[int, int, int], ...] = ((176, 120, 88), (122, 80, 54), (96, 98, 110))
# Where the official annotation zip puts its .mat, and activities as it names them ('' unknown).
OFFICIAL_PATH = f"{OFFICIAL_DIR}/{OFFICIAL_FILE}"
# MPII's multi-person groups, per image of the official .mat, beside it.
GROUPS_PATH = f"{OFFICIAL_DIR}/{GROUPS_FILE}"
_ACTIVITIES = (
    ("sports", "bicycling, mountain", 1),
    ("occupation", "carpentry, general", 2),
    ("home activities", "cooking or food preparation", 3),
    ("", "", -1),
)
# Image kinds a real MPII copy contains besides RGB baseline JPEGs, by train image position.
_ODD_KINDS = {1: "grayscale", 2: "png", 3: "cmyk", 4: "progressive"}


def figure(rng: random.Random, cx: float, cy: float, height: float) -> list[list[float]]:
    """Joint positions of one figure in 1-based pixel coordinates, with arms and legs varied."""
    points = []
    for i, (x, y) in enumerate(_TEMPLATE):
        if i in (10, 11, 14, 15):  # wrists and elbows swing
            x, y = x + rng.uniform(-0.06, 0.06), y + rng.uniform(-0.12, 0.08)
        elif i in (0, 1, 4, 5):
            x += rng.uniform(-0.04, 0.04)
        points.append([cx + x * height + 1, cy + y * height + 1])
    # Like MPII: whole pixels, except sub-pixel upper neck (8) and head top (9).
    return [
        [round(v, 4) for v in p] if i in (8, 9) else [float(round(v)) for v in p]
        for i, p in enumerate(points)
    ]


def _background(rng: random.Random) -> Image.Image:
    image = Image.new("RGB", IMAGE_SIZE, tuple(rng.randrange(150, 230) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(IMAGE_SIZE[0]), rng.randrange(IMAGE_SIZE[1])
        w, h = rng.randrange(20, 120), rng.randrange(10, 60)
        draw.rectangle((x, y, x + w, y + h), fill=tuple(rng.randrange(120, 250) for _ in range(3)))
    return image


def paint_people(draw: ImageDraw.ImageDraw, people: list[tuple[list, list]]) -> None:
    """Paints each of `people` ((joints, labelled) pairs) as a plain figure, each in the next body tone."""
    for k, (joints, _) in enumerate(people):
        paint_figure(draw, joints, BODY_TONES[k % len(BODY_TONES)])


def paint_figure(draw: ImageDraw.ImageDraw, joints: list[list[float]], tone: tuple) -> None:
    """A plain filled figure through all 16 joints (1-based): torso, thick rounded limbs, head."""
    p = [(x - 1, y - 1) for x, y in joints]
    width = max(3, round(0.2 * math.dist(p[6], p[7])))  # limbs about a fifth of the torso's length
    draw.polygon([p[12], p[13], p[3], p[2]], fill=tone)  # shoulders to hips
    for a, b, _ in LIMBS:
        draw.line([p[a], p[b]], fill=tone, width=width)
    for x, y in p:  # rounded joints, so that every joint lies inside the body
        draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=tone)
    (nx, ny), (tx, ty) = p[8], p[9]
    radius = math.dist(p[8], p[9]) / 2
    cx, cy = (nx + tx) / 2, (ny + ty) / 2
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=tone)


def save_image(image: Image.Image, path: Path, kind: str, quality: int = 90) -> None:
    """Saves as `kind`: baseline, progressive, grayscale or cmyk JPEG, or PNG (under any name)."""
    if kind == "grayscale":
        image.convert("L").save(path, format="JPEG", quality=quality)
    elif kind == "png":
        image.save(path, format="PNG")  # PNG bytes under a .jpg name, as some MPII copies have
    elif kind == "cmyk":
        image.convert("CMYK").save(path, format="JPEG", quality=quality)
    else:
        image.save(path, format="JPEG", quality=quality, progressive=kind == "progressive")


def place_people(
    rng: random.Random,
    name: str,
    size: tuple[int, int],
    head_top_y: float | None = None,
    counts: tuple[int, ...] = (1, 2, 2, 3),
) -> tuple[list[tuple[list, list]], list[dict]]:
    """Places figures side by side (how many: drawn from `counts`), some joints unlabelled.

    Returns their (joints, labelled) pairs for drawing and their HRNet JSON entries. `head_top_y`
    puts the first figure's labelled head top there, e.g. above the image.
    """
    unit = size[1] / IMAGE_SIZE[1]
    people, entries = [], []
    count = rng.choice(counts)
    slot = size[0] / count
    for k in range(count):
        height = rng.uniform(110, 180) * unit
        cx = slot * (k + 0.5) + rng.uniform(-8, 8) * unit
        cy = size[1] / 2 + rng.uniform(-12, 12) * unit
        if k == 0 and head_top_y is not None:
            cy = head_top_y - 1 + 0.5 * height
        joints = figure(rng, cx, cy, height)
        labelled = [1] * NUM_JOINTS
        for j in rng.sample(range(NUM_JOINTS), rng.choice((0, 0, 1, 2, 3))):
            labelled[j] = 0
        if k == 0 and head_top_y is not None:
            joints[9][1], labelled[9] = head_top_y, 1
        people.append((joints, labelled))
        entries.append(
            {
                "joints_vis": labelled,
                "joints": [p if v else [-1.0, -1.0] for p, v in zip(joints, labelled, strict=True)],
                "image": name,
                "scale": round(height / 200 * 1.1, 4),
                "center": [float(round(cx)), float(round(cy + height * 0.05))],
            }
        )
    return people, entries


def _image(
    rng: random.Random,
    name: str,
    entries: list[dict],
    images_dir: Path,
    kind: str,
    head_top_y: float | None = None,
) -> list[tuple[list, list]]:
    """Paints 1-3 figures on a plain background, appends their entries and writes the image.

    Returns the figures' (joints, labelled) pairs, with every joint's true position.
    """
    people, new_entries = place_people(rng, name, IMAGE_SIZE, head_top_y)
    entries.extend(new_entries)
    image = _background(rng)
    paint_people(ImageDraw.Draw(image), people)
    save_image(image, images_dir / name, kind)
    return people


def head_box(joints: list[list[float]]) -> list[float]:
    """A square head box (x1, y1, x2, y2) from upper neck to head top, as wide as it is tall."""
    (nx, ny), (tx, ty) = joints[8], joints[9]
    half = math.dist((nx, ny), (tx, ty)) / 2
    cx, cy = (nx + tx) / 2, (ny + ty) / 2
    return [round(v, 2) for v in (cx - half, cy - half, cx + half, cy + half)]


def _write_ground_truth(path: Path, people: list[tuple[list, list]], entries: list[dict]) -> None:
    """HRNet's gt_valid.mat for `entries`: their joints and flags, and each figure's head box."""
    path.write_bytes(
        ground_truth_mat(
            np.array([head_box(joints) for joints, _ in people]),
            np.array([entry["joints"] for entry in entries]),
            np.array([entry["joints_vis"] for entry in entries], dtype=bool),
        )
    )


def write_sample(
    out: Path,
    train_images: int = 16,
    validation_images: int = 6,
    seed: int = 0,
    not_official_every: int = 0,
    test_images: int = 4,
) -> Path:
    """Writes `images/`, `train.json`, `valid.json`, `gt_valid.mat`, `test.json` (entries without
    joints, as HRNet's), the official .mat and its `groups_v12.mat` under `out`; returns `out`.
    With `not_official_every=N`, every Nth person is left out of the official .mat, as real MPII
    persons sometimes are; by default it holds every person."""
    rng = random.Random(seed)
    images_dir = Path(out) / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    splits = {"train.json": train_images, "valid.json": validation_images, "test.json": test_images}
    number = 0
    figures: list[tuple[dict, list, bool]] = []  # every person's entry, true joints, in test
    for filename, count in splits.items():
        if not count:
            continue
        entries: list[dict] = []
        people: list[tuple[list, list]] = []
        for i in range(count):
            number += 1
            kind = _ODD_KINDS.get(i, "baseline") if filename == "train.json" else "baseline"
            # MPII has labelled joints outside the image, e.g. a head top at y = -0.77553.
            top = -0.77553 if filename == "valid.json" and i == 0 else None
            people += _image(rng, f"{seed:03d}{number:06d}.jpg", entries, images_dir, kind, top)
        test = filename == "test.json"
        first = len(figures)
        figures += [(e, joints, test) for e, (joints, _) in zip(entries, people, strict=True)]
        if filename == "valid.json":
            _write_ground_truth(Path(out) / "gt_valid.mat", people, entries)
        if test:  # as HRNet's test.json: the single persons, where and how large, no joints
            entries = [
                {k: e[k] for k in ("image", "center", "scale")}
                for g, e in enumerate(entries, first)
                if single_person(g)
            ]
        (Path(out) / filename).write_text(json.dumps(entries, indent=1) + "\n")
    official = Path(out) / OFFICIAL_PATH
    official.parent.mkdir(exist_ok=True)
    persons = _official_persons(figures, not_official_every, seed)
    images = official_images(persons)
    official.write_bytes(official_mat(images))
    groups = [_groups(index, len(image["annorect"])) for index, image in enumerate(images)]
    (Path(out) / GROUPS_PATH).write_bytes(groups_mat(groups))
    return Path(out)


def _groups(image: int, rects: int) -> list[list[int]]:
    """The multi-person groups (1-based rect numbers) of the annolist's image `image` with `rects`
    persons, one kind of grouping after another by its position."""
    numbers = list(range(1, rects + 1))
    kinds: tuple[list[list[int]], ...] = (
        [],  # no groups
        [numbers],  # all together
        [[number] for number in numbers],  # each alone
        [numbers[1:]],  # all but the first, which is in none
    )
    return [group for group in kinds[image % len(kinds)] if group]


def single_person(figure_number: int) -> bool:
    """Whether RELEASE.single_person lists the sample's figure `figure_number` (counted over all
    splits from 0): two in three, so that test images hold persons MPII does not score."""
    return figure_number % 3 != 2


def _official_persons(
    figures: list[tuple[dict, list, bool]], left_out: int, seed: int
) -> list[OfficialPerson]:
    """The persons as the official .mat holds them: joints, occlusion flags (some occluded, some
    left empty), head boxes, activities and single_person flags, their images in an order of
    their own (as in MPII, where train and test images alternate in RELEASE.annolist); with
    `left_out` N, every Nth person is not in it."""
    names = list(dict.fromkeys(entry["image"] for entry, _, _ in figures))
    random.Random(f"annolist {seed}").shuffle(names)
    place = {name: index for index, name in enumerate(names)}
    persons = []
    for g, (entry, joints, test) in enumerate(figures):
        image = place[entry["image"]]
        if left_out and g % left_out == left_out - 1:
            continue
        labelled = entry["joints_vis"]
        category, activity, activity_id = _ACTIVITIES[image % len(_ACTIVITIES)]
        # The official .mat holds only objpos and scale of test persons.
        persons.append(
            OfficialPerson(
                image=entry["image"],
                image_index=image,
                rect_index=0,  # the writer numbers an image's persons itself
                is_train=not test,
                joints=tuple(
                    tuple(p) if v and not test else None
                    for p, v in zip(entry["joints"], labelled, strict=True)
                ),
                is_visible=tuple(
                    None if test or not v or j == g % NUM_JOINTS else (g + j) % 4 != 0
                    for j, v in enumerate(labelled)
                ),
                head_box=None if test else cast(HeadBox, tuple(head_box(joints))),
                objpos=tuple(entry["center"]),
                scale=entry["scale"],
                single_person=single_person(g),
                activity=activity,
                category=category,
                activity_id=activity_id,
            )
        )
    return sorted(persons, key=lambda person: person.image_index)  # stable: rects keep order


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out", type=Path, help="folder to write images/, train.json, valid.json into"
    )
    parser.add_argument("--train_images", type=int, default=16)
    parser.add_argument("--validation_images", type=int, default=6)
    parser.add_argument("--test_images", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    write_sample(
        args.out,
        args.train_images,
        args.validation_images,
        args.seed,
        test_images=args.test_images,
    )
