"""MPII's multi-person evaluation groups, `groups_v12.mat` from MPII's evaluation toolkit: which
persons of an image multi-person pose estimation scores together (`getMultiPersonGroups.m`).

The file holds one variable `groups`, a cell with one entry per image of RELEASE.annolist, in its
order; each entry is a cell of the image's groups, each group a numeric array of 1-based annorect
indices; an image without groups holds an empty cell. Read as `load_mat` reads (nothing squeezed),
a group of one rect is a 1×1 array. What writers that collapse one-element cells store is read as
the one group it stands for: an entry that is a bare numeric array, a group inside a cell of one.
An empty group keeps its number and holds no rect, as MATLAB's loop over the groups sees it.

Positions in error messages are MATLAB's, from 1: `groups{5}{2}` is the second group of the fifth
image; the error's `index` is the image's position in annolist, from 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mpii_pose.base.errors import AnnotationError
from mpii_pose.sources.mat_values import NotAMatFile, describe, empty, load_mat


class GroupsFormatError(AnnotationError):
    """A value of groups_v12.mat that is not in MPII's layout, at `where` ('' for the whole file).

    Built by `_Reader.fail`; its args are the message and every field, so that pickling and Beam,
    which rebuild an error from its args, keep them.
    """

    def __init__(
        self,
        message: str,
        path: str = "",
        index: int | None = None,
        where: str = "",
        problem: str = "",
    ):
        super().__init__(message, path, index)
        self.args = (message, path, index, where, problem)
        self.where, self.problem = where, problem


def parse_groups(
    data: bytes, source: str, image_count: int | None = None
) -> tuple[dict[int, int], ...]:
    """Per image of RELEASE.annolist (position from 0): each grouped rect's position in the
    image's annorect (from 0) mapped to its group's number in the image (from 1, MATLAB's order);
    rects in no group are left out. With `image_count`, the file must hold that many images.

    Anything not in MPII's layout raises GroupsFormatError naming `source` and the entry.
    """
    reader = _Reader(source)
    try:
        mat = load_mat(data)
    except NotAMatFile as err:
        raise reader.fail(None, "", str(err)) from None
    if "groups" not in mat:
        found = ", ".join(k for k in mat if not k.startswith("__")) or "nothing"
        raise reader.fail(
            None, "", f"no variable 'groups' (MPII's groups_v12.mat holds one); found {found}"
        )
    images = reader.cells(mat["groups"])
    if image_count is not None and len(images) != image_count:
        raise reader.fail(
            None,
            "groups",
            f"must hold one entry per image of RELEASE.annolist ({image_count}), got "
            f"{len(images)}: use the groups_v12.mat of this mpii_human_pose_v1_u12_1.mat",
        )
    return tuple(reader.image(np.asarray(value), index) for index, value in enumerate(images))


class _Reader:
    """Reads the arrays of one groups file; every error names `source` and the entry."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, index: int | None, where: str, problem: str) -> GroupsFormatError:
        message = f"{self.source}: {where}: {problem}" if where else f"{self.source}: {problem}"
        return GroupsFormatError(message, self.source, index, where, problem)

    def cells(self, value: Any) -> list[Any]:
        """The variable `groups`: a cell, one entry per image in MATLAB's (column-major) order."""
        if empty(value):
            return []
        if not isinstance(value, np.ndarray) or value.dtype.kind != "O":
            raise self.fail(
                None, "groups", f"expected a cell with one entry per image, got {describe(value)}"
            )
        return list(value.ravel(order="F"))

    def image(self, value: np.ndarray, index: int) -> dict[int, int]:
        """groups{index + 1}: its rects (from 0) and their group numbers (from 1)."""
        where = f"groups{{{index + 1}}}"
        if empty(value):
            return {}
        if value.dtype.kind == "O":
            groups = [
                (f"{where}{{{g}}}", np.asarray(group))
                for g, group in enumerate(value.ravel(order="F"), 1)
            ]
        else:  # the image's only group, not in a cell of one
            groups = [(where, value)]
        numbers: dict[int, int] = {}
        for number, (at, group) in enumerate(groups, 1):
            for rect in self.rects(group, at, index):
                if rect in numbers:
                    raise self.fail(index, at, self.twice(rect, numbers[rect], number, where))
                numbers[rect] = number
        return numbers

    def rects(self, value: np.ndarray, where: str, index: int) -> list[int]:
        """One group's rects, from 0: its 1-based annorect indices, each a whole number."""
        if value.dtype.kind == "O" and value.size == 1:  # a cell around the group
            value = np.asarray(value.ravel()[0])
        if empty(value):
            return []
        if value.dtype.kind not in "iuf":
            raise self.fail(
                index, where, f"expected a group's rect numbers (1, 2, ...), got {describe(value)}"
            )
        values = value.ravel(order="F").astype(np.float64)
        bad = ~(np.isfinite(values) & (values == np.round(values)) & (values >= 1))
        if bad.any():
            raise self.fail(
                index,
                where,
                f"expected rect numbers (whole numbers from 1, indices into the image's "
                f"annorect), got {values[bad][0]:g}",
            )
        return [int(v) - 1 for v in values]

    @staticmethod
    def twice(rect: int, first: int, second: int, where: str) -> str:
        """The problem of `rect` (from 0) met in group `first` and again in group `second`."""
        if first == second:
            return f"lists rect {rect + 1} twice"
        return (
            f"rect {rect + 1} is in {where}{{{first}}} too; a person belongs to at most one group "
            "of its image"
        )
