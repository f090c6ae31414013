"""Errors a user can act on: each names the file, the annotation entry and what was expected."""

from __future__ import annotations


class MpiiPoseError(Exception):
    """Base class of every error mpii_pose raises about its input."""


class ManualDirError(MpiiPoseError):
    """The manual directory lacks the images folder or an annotation file, or holds two candidates."""


class AnnotationError(MpiiPoseError):
    """An annotation file, or one entry in it, is not what the HRNet/mmpose format promises."""

    def __init__(self, path: str, index: int | None, message: str):
        super().__init__(path, index, message)
        self.path, self.index, self.message = path, index, message

    def __str__(self) -> str:
        where = self.path if self.index is None else f"{self.path}, entry {self.index}"
        return f"{where}: {self.message}"


class ImageError(MpiiPoseError):
    """An image that an annotation entry uses is missing or cannot be decoded."""

    def __init__(self, image_path: str, annotation_path: str, index: int, message: str):
        super().__init__(image_path, annotation_path, index, message)
        self.image_path, self.annotation_path, self.index = image_path, annotation_path, index
        self.message = message

    def __str__(self) -> str:
        return f"{self.image_path} (used by {self.annotation_path}, entry {self.index}): {self.message}"


class IncompleteBuildError(MpiiPoseError):
    """What was written differs from the plan: a shard is missing, short or corrupt."""
