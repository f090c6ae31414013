"""Skeleton pictures, checked pixel by pixel on a synthetic figure; the sample guards the move."""

import numpy as np
import pytest
from PIL import Image

from mpii_pose.base.skeleton import JOINT_NAMES
from mpii_pose.training.drawing import (
    HEAD_BOX_COLOUR,
    PREDICTION_COLOUR,
    SIDE_COLOURS,
    draw_example,
    grid,
)

BACKGROUND = (128, 128, 128)
# A figure of straight limbs, 0-based pixels of a 200 x 200 image; the right side is image left.
FIGURE = {
    "right_ankle": (40, 180), "right_knee": (40, 140), "right_hip": (40, 100),
    "left_hip": (160, 100), "left_knee": (160, 140), "left_ankle": (160, 180),
    "pelvis": (100, 100), "thorax": (100, 50), "upper_neck": (100, 40), "head_top": (100, 10),
    "right_wrist": (10, 50), "right_elbow": (40, 50), "right_shoulder": (70, 50),
    "left_shoulder": (130, 50), "left_elbow": (160, 50), "left_wrist": (190, 50),
}  # fmt: skip
JOINTS = np.array([FIGURE[name] for name in JOINT_NAMES], dtype=np.float32) + 1  # 1-based
HEAD_BOX = np.array([86, 3, 116, 33], dtype=np.float32)  # 0-based corners (85, 2), (115, 32)


def picture(visibility=None, **kwargs) -> np.ndarray:
    image = np.full((200, 200, 3), BACKGROUND, dtype=np.uint8)
    labelled = np.ones(16, bool) if visibility is None else visibility
    return np.asarray(draw_example(image, JOINTS, labelled, **kwargs))


def midpoint(a: str, b: str, shift: tuple[int, int] = (0, 0)) -> tuple[int, int]:
    """(row, column) of the middle of limb a-b, moved by `shift` (dx, dy)."""
    (xa, ya), (xb, yb) = FIGURE[a], FIGURE[b]
    return (ya + yb) // 2 + shift[1], (xa + xb) // 2 + shift[0]


def test_labelled_limbs_have_their_sides_colour():
    pixels = picture()
    assert tuple(pixels[midpoint("right_ankle", "right_knee")]) == SIDE_COLOURS["right"]
    assert tuple(pixels[midpoint("left_knee", "left_ankle")]) == SIDE_COLOURS["left"]
    assert tuple(pixels[midpoint("thorax", "pelvis")]) == SIDE_COLOURS["centre"]
    assert tuple(pixels[midpoint("right_shoulder", "right_elbow")]) == SIDE_COLOURS["right"]
    assert len(set(SIDE_COLOURS.values())) == 3
    assert tuple(pixels[FIGURE["right_knee"][::-1]]) == (255, 255, 255)  # labelled joint: a dot


def test_limbs_touching_an_unlabelled_joint_are_left_out():
    visibility = np.ones(16, bool)
    visibility[JOINT_NAMES.index("left_elbow")] = False
    pixels = picture(visibility)
    for limb in (("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist")):
        assert tuple(pixels[midpoint(*limb)]) == BACKGROUND, limb
    assert tuple(pixels[FIGURE["left_elbow"][::-1]]) == BACKGROUND
    assert tuple(pixels[midpoint("thorax", "left_shoulder")]) == SIDE_COLOURS["left"]


def test_head_box_is_drawn_when_known_and_not_when_nan():
    edges = [(2, 90), (32, 110), (20, 85), (20, 115)]  # (row, column) on each side
    with_box = picture(head_box=HEAD_BOX)
    without = picture(head_box=np.full(4, np.nan, dtype=np.float32))
    for pixel in edges:
        assert tuple(with_box[pixel]) == HEAD_BOX_COLOUR, pixel
        assert tuple(without[pixel]) == BACKGROUND, pixel
    assert np.array_equal(without, picture())


def test_predictions_are_thin_limbs_with_crosses_over_the_labelled_skeleton():
    predictions = JOINTS + np.float32(8)  # 8 pixels right of and below the truth
    predictions[JOINT_NAMES.index("left_wrist")] = np.nan  # not drawn, nor its limb
    pixels = picture(predictions=predictions)
    row, col = midpoint("right_ankle", "right_knee", shift=(8, 8))
    assert tuple(pixels[row, col]) == SIDE_COLOURS["right"]
    assert tuple(pixels[row, col - 1]) == tuple(pixels[row, col + 1]) == BACKGROUND  # 1 px wide
    assert tuple(pixels[row, col - 9]) == tuple(pixels[row, col - 7]) == SIDE_COLOURS["right"]
    knee = FIGURE["right_knee"]
    assert tuple(pixels[knee[1] + 8, knee[0] + 8]) == PREDICTION_COLOUR
    assert tuple(pixels[midpoint("left_elbow", "left_wrist", shift=(8, 8))]) == BACKGROUND


def test_lines_grow_with_the_image_and_the_input_is_left_alone():
    image = np.full((720, 1280, 3), BACKGROUND, dtype=np.uint8)
    drawn = np.asarray(draw_example(image, JOINTS * 4, np.ones(16, bool)))
    shin = (FIGURE["right_knee"][0] + 1) * 4 - 1  # the right shin's column, 0-based
    assert tuple(drawn[600, shin + 5]) == SIDE_COLOURS["right"]  # 12 pixels wide
    assert tuple(drawn[600, shin + 8]) == BACKGROUND
    assert (image == BACKGROUND).all()
    as_pil = Image.fromarray(image)
    draw_example(as_pil, JOINTS, np.ones(16, bool))
    assert (np.asarray(as_pil) == BACKGROUND).all()


def test_grid_is_rows_by_columns_tiles_with_images_letterboxed():
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
    sizes = [(300, 100), (100, 300), (50, 50), (640, 480), (7, 3)]
    images = [Image.new("RGB", size, c) for size, c in zip(sizes, colours, strict=True)]
    sheet = np.asarray(grid(images, columns=2, tile=100))
    assert sheet.shape == (3 * 100, 2 * 100, 3)
    for i, colour in enumerate(colours):
        top, left = i // 2 * 100, i % 2 * 100
        assert tuple(sheet[top + 50, left + 50]) == colour, i
    assert tuple(sheet[5, 50]) == (0, 0, 0)  # above the wide image: letterbox
    assert tuple(sheet[50, 105]) == (0, 0, 0)  # beside the tall one
    assert (sheet[200:, 100:] == 0).all()  # the sixth tile is empty


def test_grid_captions_go_beneath_each_picture():
    images = [Image.new("RGB", (100, 100), (0, 0, 200))] * 3
    sheet = np.asarray(grid(images, columns=3, tile=120, captions=["a.jpg#0", "b.jpg#1", ""]))
    assert sheet.shape == (120, 360, 3)
    text = sheet.min(axis=-1) > 200  # white letters; the pictures are blue on black
    assert text[:, :120].any() and text[:, 120:240].any()
    assert text[100:].any() and not text[:80].any()  # beneath the picture
    assert not text[:, 240:].any()  # an empty caption writes nothing
    with pytest.raises(ValueError, match="2 captions for 3 images"):
        grid(images, columns=3, captions=["a", "b"])
    with pytest.raises(ValueError, match="columns >= 1"):
        grid(images, columns=0)
