"""Image normalisation: RGB JPEGs kept byte for byte, everything else converted once to RGB JPEG."""

import numpy as np
import pytest

from mpii_pose.shards.image_bytes import (
    UnreadableImage,
    is_stored_verbatim,
    jpeg_frame,
    to_rgb_jpeg,
)
from tests.helpers import decoded_image, encoded_image


@pytest.mark.parametrize("progressive", [False, True])
def test_rgb_jpeg_is_kept_byte_for_byte(progressive):
    data = encoded_image("RGB", "JPEG", quality=90, progressive=progressive)
    assert is_stored_verbatim(data)
    assert to_rgb_jpeg(data) is data


def test_rgb_jpeg_with_trailing_bytes_is_kept_after_a_full_decode():
    data = encoded_image("RGB", "JPEG") + b"camera trailer"
    assert not is_stored_verbatim(data)
    assert to_rgb_jpeg(data) == data


@pytest.mark.parametrize(
    "mode, fmt",
    [
        ("L", "JPEG"),
        ("CMYK", "JPEG"),
        ("RGB", "PNG"),
        ("RGBA", "PNG"),
        ("P", "GIF"),
        ("RGB", "BMP"),
        ("L", "PNG"),
    ],
)
def test_other_images_become_rgb_jpeg_with_the_same_size(mode, fmt):
    data = encoded_image(mode, fmt)
    out = to_rgb_jpeg(data)
    assert out != data
    image = decoded_image(out)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (32, 24))
    assert jpeg_frame(out) == (0xC0, 8, 3) and is_stored_verbatim(out)


def test_grayscale_conversion_keeps_the_pixels():
    data = encoded_image("L", "PNG")  # lossless source, so only the JPEG step changes pixels
    gray = np.asarray(decoded_image(data), dtype=np.int16)
    rgb = np.asarray(decoded_image(to_rgb_jpeg(data)), dtype=np.int16)
    assert rgb.shape == (24, 32, 3)
    assert np.abs(rgb - gray[..., None]).mean() < 12


@pytest.mark.parametrize(
    "data, message",
    [
        (
            encoded_image("RGB", "JPEG")[:-400],
            "cannot be decoded as an image (image file is truncated",
        ),
        (encoded_image("RGB", "PNG")[:-50], "cannot be decoded as an image ("),
        (
            b"<html>not an image</html>",
            "not an image Pillow can identify (it starts with b'<html>not an ima')",
        ),
        (b"", "an empty file, not an image"),
    ],
    ids=["truncated-jpeg", "truncated-png", "text", "empty"],
)
def test_unreadable_bytes_raise_saying_what_they_are(data, message):
    """Not Pillow's "cannot identify image file <_io.BytesIO object at 0x...>"."""
    with pytest.raises(UnreadableImage) as info:
        to_rgb_jpeg(data)
    assert str(info.value).startswith(message) and "BytesIO" not in str(info.value)


def test_frame_header_reports_marker_precision_and_components():
    assert jpeg_frame(encoded_image("RGB", "JPEG")) == (0xC0, 8, 3)
    assert jpeg_frame(encoded_image("RGB", "JPEG", progressive=True)) == (0xC2, 8, 3)
    assert jpeg_frame(encoded_image("L", "JPEG")) == (0xC0, 8, 1)
    assert jpeg_frame(encoded_image("CMYK", "JPEG")) == (0xC0, 8, 4)
    assert jpeg_frame(encoded_image("RGB", "PNG")) is None
