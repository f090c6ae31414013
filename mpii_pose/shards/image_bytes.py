"""Image bytes as the dataset stores them: RGB JPEG, verbatim when the file already is one.

A 3-channel baseline or progressive JPEG that ends where JPEG says it ends is kept byte for byte
(no decode: a header walk decides). Anything else Pillow can open (PNG, GIF, BMP under any name,
grayscale or CMYK JPEG) is converted once to RGB JPEG. EXIF orientation is not applied, because
MPII's joint coordinates refer to the stored pixels.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from mpii_pose.sources.image_check import not_an_image

JPEG_QUALITY = 95
_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"
_KEPT_FRAMES = frozenset({0xC0, 0xC1, 0xC2})  # baseline, extended sequential, progressive (Huffman)
_NOT_FRAMES = frozenset({0xC4, 0xC8, 0xCC})  # DHT, JPG extension, DAC share the SOF range


class UnreadableImage(ValueError):
    """The bytes are not an image Pillow can decode; the message says why."""


def jpeg_frame(data: bytes) -> tuple[int, int, int] | None:
    """Returns (SOF marker, sample precision, components) of a JPEG's frame header, or None."""
    if not data.startswith(_SOI):
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker == 0xDA:  # a scan before any frame header: not a valid JPEG
            return None
        if 0xC0 <= marker <= 0xCF and marker not in _NOT_FRAMES:
            header = data[pos + 4 : pos + 10]
            return (marker, header[0], header[5]) if len(header) == 6 else None
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return None


def is_stored_verbatim(data: bytes) -> bool:
    """True when `data` is a complete 8-bit, 3-channel baseline or progressive JPEG."""
    frame = jpeg_frame(data)
    return (
        frame is not None
        and frame[0] in _KEPT_FRAMES
        and frame[1:] == (8, 3)
        and data.endswith(_EOI)
    )


def to_rgb_jpeg(data: bytes) -> bytes:
    """Returns `data` itself if it can be stored verbatim, else its pixels re-encoded as RGB JPEG.

    Raises UnreadableImage when the bytes are truncated or not an image.
    """
    if is_stored_verbatim(data):
        return data
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            frame = jpeg_frame(data)
            # A complete RGB JPEG followed by trailing bytes (some cameras append data).
            if image.mode == "RGB" and frame is not None and frame[0] in _KEPT_FRAMES:
                return data
            rgb = image.convert("RGB")
    except UnidentifiedImageError:  # its message names a BytesIO object, not the file
        raise UnreadableImage(not_an_image(data)) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise UnreadableImage(f"cannot be decoded as an image ({err})") from None
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
