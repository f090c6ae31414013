"""Skeleton pictures: limbs coloured by side, labelled joints as dots, predictions, head boxes.

Joints come 1-based, as stored (pixel = value - 1). Pillow and numpy only, no TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from mpii_pose.base.skeleton import LIMBS
from mpii_pose.sources.annotations import Point

SIDE_COLOURS = {"right": (230, 60, 40), "left": (40, 110, 230), "centre": (40, 170, 60)}
PREDICTION_COLOUR = (250, 60, 220)  # predicted joints: magenta crosses
HEAD_BOX_COLOUR = (250, 210, 30)
_RIM, _DOT = (0, 0, 0), (255, 255, 255)


def draw_example(
    image: np.ndarray | Image.Image,
    joints: np.ndarray,
    visibility: np.ndarray,
    predictions: np.ndarray | None = None,
    head_box: np.ndarray | None = None,
    scale: float | None = None,
) -> Image.Image:
    """A copy of `image` with the labelled skeleton, optional predictions and the head box if known.

    Predictions (1-based, all joints) are thin limbs with magenta crosses on top of the labelled
    skeleton. `scale` sizes lines and dots; by default one unit per 320 pixels of the longer side.
    """
    picture = _rgb(image)
    scale = scale or max(1.0, max(picture.size) / 320)
    draw = ImageDraw.Draw(picture)
    if head_box is not None and not np.isnan(head_box).any():
        x1, y1, x2, y2 = (float(v) - 1 for v in head_box)
        draw.rectangle(
            (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)),
            outline=HEAD_BOX_COLOUR,
            width=max(1, round(2 * scale)),
        )
    labelled = [bool(v) for v in visibility]
    points = _pixels(joints)
    _limbs(draw, points, labelled, round(3 * scale))
    _dots(draw, [p for p, f in zip(points, labelled, strict=True) if f], 3.5 * scale, 2.5 * scale)
    if predictions is not None:
        _draw_predictions(draw, predictions, scale)
    return picture


def _draw_predictions(draw: ImageDraw.ImageDraw, predictions: np.ndarray, scale: float) -> None:
    """Thin limbs and crosses at the predicted joints; non-finite predictions are left out."""
    finite = [bool(np.isfinite(p).all()) for p in np.asarray(predictions, dtype=np.float64)]
    points = _pixels(np.nan_to_num(predictions))
    _limbs(draw, points, finite, max(1, round(scale)))
    arm, width = 3 * scale, max(1, round(scale))
    for (x, y), ok in zip(points, finite, strict=True):
        if ok:
            draw.line(((x - arm, y - arm), (x + arm, y + arm)), fill=PREDICTION_COLOUR, width=width)
            draw.line(((x - arm, y + arm), (x + arm, y - arm)), fill=PREDICTION_COLOUR, width=width)


def grid(
    images: Sequence[Image.Image],
    columns: int,
    captions: Sequence[str] | None = None,
    tile: int = 256,
    background: tuple[int, int, int] = (0, 0, 0),
) -> Image.Image:
    """Square `tile`-pixel tiles, `columns` to a row, each image letterboxed (captions beneath it).

    The grid is exactly columns x rows tiles, so that pictures of any size line up.
    """
    if not images or columns < 1 or tile < 1:
        raise ValueError(
            f"grid needs images, columns >= 1 and tile >= 1; got {len(images)} images, "
            f"columns={columns}, tile={tile}"
        )
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"{len(captions)} captions for {len(images)} images")
    rows = math.ceil(len(images) / columns)
    sheet = Image.new("RGB", (columns * tile, rows * tile), background)
    for i, image in enumerate(images):
        caption = captions[i] if captions is not None else None
        sheet.paste(
            _tile(image, caption, tile, background), (i % columns * tile, i // columns * tile)
        )
    return sheet


def _tile(
    image: Image.Image, caption: str | None, tile: int, background: tuple[int, int, int]
) -> Image.Image:
    """One grid cell: the image fitted and centred above its caption line (clipped to the cell)."""
    size = max(8, tile // 20)
    band = 0 if caption is None else round(1.5 * size)
    cell = Image.new("RGB", (tile, tile), background)
    fitted = ImageOps.contain(image.convert("RGB"), (tile, max(1, tile - band)))
    cell.paste(fitted, ((tile - fitted.width) // 2, (tile - band - fitted.height) // 2))
    if caption is not None:
        font = ImageFont.load_default(size)
        ImageDraw.Draw(cell).text((2, tile - band), caption, fill=(255, 255, 255), font=font)
    return cell


def _rgb(image: np.ndarray | Image.Image) -> Image.Image:
    """An RGB copy of a PIL image or of a (H, W, 3) uint8 array."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")  # convert always returns a copy
    return Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")


def _pixels(joints: Sequence | np.ndarray) -> list[Point]:
    """0-based pixel positions of 1-based joints."""
    return [(float(x) - 1, float(y) - 1) for x, y in joints]


def _limbs(
    draw: ImageDraw.ImageDraw, points: list[Point], drawn: Sequence[bool], width: int
) -> None:
    """Draws each limb whose two joints are both `drawn`, in its side's colour."""
    for a, b, side in LIMBS:
        if drawn[a] and drawn[b]:
            draw.line((points[a], points[b]), fill=SIDE_COLOURS[side], width=width)


def _dots(draw: ImageDraw.ImageDraw, points: list[Point], rim: float, dot: float) -> None:
    """A white dot with a black rim on each point; all rims first, so that none hides a dot."""
    for radius, colour in ((rim, _RIM), (dot, _DOT)):
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
