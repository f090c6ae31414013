"""The images a build uses, checked before anything is written: each one is there and starts as
an image Pillow can open.

Cheap by design, so that a missing or mistaken file stops the build at once rather than minutes
into writing: each distinct image is opened once and its first bytes are matched against Pillow's
format signatures; nothing is decoded. (A file that matches none is handed to Pillow's own
identification, which reads only its header: some formats have no signature.) An image that
starts well but is truncated or corrupt further in is found when its shard is written. Every
problem is reported at once.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Callable, Iterable, Iterator

from etils import epath
from PIL import Image

from mpii_pose.base.errors import ImageError, ImagesError
from mpii_pose.sources.assembly import SplitSource

SHOWN = 10  # problems listed in the error; the rest are counted
_PREFIX_BYTES = 16  # what Pillow's format detection (Image.open) reads


def image_problem(path: epath.Path) -> str | None:
    """What keeps the file at `path` from being an image Pillow can open, judged from its first
    bytes; None when it starts as one. A named pipe or a device is left to the shard writer:
    reading it here would wait for a writer, or take the bytes that the shard writer needs."""
    try:
        if "://" not in os.fspath(path):  # a bucket holds neither folders nor pipes
            mode = os.stat(path).st_mode
            if stat.S_ISDIR(mode):
                return "a folder, not an image"
            if not stat.S_ISREG(mode):
                return None
        with path.open("rb") as f:
            prefix = f.read(_PREFIX_BYTES)
    except FileNotFoundError:
        return "image file not found"
    except OSError as err:  # no permission
        return f"cannot be read ({err.strerror or err})"
    if prefix and (any(accept(prefix) is True for accept in _signatures()) or _identified(path)):
        return None
    return not_an_image(prefix)


def not_an_image(start: bytes) -> str:
    """Says that a file beginning with `start` is no image, and what it begins with instead."""
    if not start:
        return "an empty file, not an image"
    return f"not an image Pillow can identify (it starts with {start[:_PREFIX_BYTES]!r})"


@functools.cache
def _signatures() -> tuple[Callable[[bytes], bool | str], ...]:
    """Pillow's format checks of a file's first bytes (JPEG's SOI, PNG's, GIF's, BMP's, ...)."""
    Image.init()
    return tuple(accept for _, accept in Image.OPEN.values() if accept is not None)


def _identified(path: epath.Path) -> bool:
    """Whether Pillow identifies the file from its header (lazily: no pixel is decoded)."""
    try:
        with path.open("rb") as f, Image.open(f):
            return True
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False


def _uses(source: SplitSource, max_examples: int | None) -> Iterator[tuple[str, str, int]]:
    """(image, annotation file, entry) of each example a build writes of `source`, in order: its
    persons, or its images for the per_image config (which holds them); with `max_examples`,
    the first ones, those a capped build keeps."""
    if source.images:
        for record in source.images[:max_examples] if max_examples else source.images:
            yield record.image, record.annotation_file, record.first_listed.annotation_index
        return
    seen = ""
    for person in source.persons[:max_examples] if max_examples else source.persons:
        if person.image != seen:  # a run of an image's persons needs one look-up
            seen = person.image
            yield seen, str(source.annotation_file), person.annotation_index


def find_image_problems(
    sources: Iterable[SplitSource], max_examples: int | None = None
) -> list[ImageError]:
    """Checks each distinct image that the examples of `sources` use (with `max_examples`, the
    first ones of each split, those a capped build keeps) once; returns one error per unusable
    image, in annotation order, naming the first entry that uses it."""
    first_use: dict[epath.Path, tuple[str, int]] = {}
    for source in sources:
        for image, annotation_file, index in _uses(source, max_examples):
            first_use.setdefault(source.images_dir / image, (annotation_file, index))
    return [
        ImageError.at(str(path), annotation_file, index, problem)
        for path, (annotation_file, index) in first_use.items()
        if (problem := image_problem(path)) is not None
    ]


def check_images(sources: Iterable[SplitSource], max_examples: int | None = None) -> None:
    """Raises ImagesError, listing the first problems and counting all, when an image that the
    annotations use is missing or is not an image (see `find_image_problems`)."""
    sources = tuple(sources)
    problems = find_image_problems(sources, max_examples)
    if not problems:
        return
    count = len(problems)
    listed = [f"  {problem}" for problem in problems[:SHOWN]]
    if count > SHOWN:
        listed.append(f"  ... and {count - SHOWN} more")
    folders = sorted({str(source.images_dir) for source in sources})
    what = (
        "images that the annotations use are missing or not images"
        if count > 1
        else "image that the annotations use is missing or not an image"
    )
    raise ImagesError(
        f"{count} {what}; nothing was written:\n"
        + "\n".join(listed)
        + f"\nPut each one, as a JPEG (or another image Pillow opens), in {' or '.join(folders)} "
        "(MPII's come in its images archive, mpii_human_pose_v1.tar.gz), or remove the "
        "entries that use it from the annotation file.",
        tuple(problems),
    )
