"""Errors a user can act on: each names the file, the annotation entry and what was expected."""

from __future__ import annotations


class MpiiPoseError(Exception):
    """Base class of every error mpii_pose raises about its input.

    `args[0]` is the whole message and the other args are the fields, so that pickling (Ray) and
    Beam, which rebuilds an error from its args with a step name added to the message, keep both.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ManualDirError(MpiiPoseError):
    """The manual directory lacks the images folder or an annotation file, or holds two candidates."""


class AnnotationError(MpiiPoseError):
    """An annotation file, or one entry in it, is not what the HRNet/mmpose format promises."""

    def __init__(self, message: str, path: str = "", index: int | None = None):
        super().__init__(message, path, index)
        self.path, self.index = path, index

    @classmethod
    def at(cls, path: str, index: int | None, problem: str) -> AnnotationError:
        """The error for `problem` in file `path`, at entry `index` (None: the whole file)."""
        where = path if index is None else f"{path}, entry {index}"
        return cls(f"{where}: {problem}", path, index)


class ImageError(MpiiPoseError):
    """An image that an annotation entry uses is missing or cannot be decoded."""

    def __init__(
        self, message: str, image_path: str = "", annotation_path: str = "", index: int = -1
    ):
        super().__init__(message, image_path, annotation_path, index)
        self.image_path, self.annotation_path, self.index = image_path, annotation_path, index

    @classmethod
    def at(cls, image_path: str, annotation_path: str, index: int, problem: str) -> ImageError:
        """The error for `problem` with image `image_path`, used by entry `index` of a file."""
        message = f"{image_path} (used by {annotation_path}, entry {index}): {problem}"
        return cls(message, image_path, annotation_path, index)


class ImagesError(ImageError):
    """Every image the annotations use that is missing or not an image, found before anything is
    written: `problems` holds one ImageError per image; the other fields are the first one's."""

    def __init__(self, message: str, problems: tuple[ImageError, ...] = ()):
        first = problems[0] if problems else ImageError(message)
        super().__init__(message, first.image_path, first.annotation_path, first.index)
        self.args = (message, problems)
        self.problems = problems


class IncompleteBuildError(MpiiPoseError):
    """What was written differs from the plan: a shard is missing, short or corrupt."""


class DownloadError(MpiiPoseError):
    """A download failed, did not match its checksum, or its archive lacks what it should hold."""


class DiskSpaceError(MpiiPoseError):
    """The build does not fit on its data dir's file system: found before the first shard, or when
    the file system filled during the build. `folder` is the build's; `needed` and `free` are
    bytes (`free` None when unknown)."""

    def __init__(self, message: str, folder: str = "", needed: int = 0, free: int | None = None):
        super().__init__(message, folder, needed, free)
        self.folder, self.needed, self.free = folder, needed, free
