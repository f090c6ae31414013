"""The official annotation file `mpii_human_pose_v1_u12_1.mat` (struct `RELEASE`): one record per
person of every image, values exactly as stored (MATLAB 1-based pixels). Pairing them with the
JSON's persons is `official_matching`'s job.

The file is read in record form without `squeeze_me`, so every value is an array: one person or
one point is a 1×1 struct array like any other (no bare struct), an absent value a 0×0 array.
Positions in error messages (`annolist[12].annorect[1].annopoints.point[3]`) count from 0; the
error's entry index is the image's position in `annolist`.

The file only enriches examples (the JSON is their source), so it is read leniently unless asked
to be strict: a person, an image or the whole file that is not the official layout is left out
(its JSON persons keep unknown official values) and counted in `Problems`, one line per kind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any, cast

import numpy as np

from mpii_pose.base.errors import AnnotationError
from mpii_pose.base.skeleton import NUM_JOINTS
from mpii_pose.sources.annotations import HeadBox, Point
from mpii_pose.sources.mat_values import NotAMatFile, describe, empty, field, load_mat

# A person's head box in the file: four numbers, all or none.
HEAD_BOX_FIELDS = ("x1", "y1", "x2", "y2")


class OfficialFormatError(AnnotationError):
    """A value of the official .mat that is not in the official layout, at `where`."""

    def __init__(self, source: str, index: int | None, where: str, problem: str):
        text = f"{where}: {problem}" if where else problem  # where '': the file as a whole
        super().__init__(str(AnnotationError.at(source, index, text)), source, index)
        self.where, self.problem = where or "the file's structure", problem
        self._made_of = (source, index, where, problem)

    def __reduce__(self) -> tuple[type, tuple[str, int | None, str, str]]:
        """Made again from what made it, so that it crosses process boundaries (pickle)."""
        return type(self), self._made_of

    @property
    def kind(self) -> str:
        """The problem without its positions and values, e.g. `annolist[].annorect[].x2: expected
        a number`: what problems of one kind have in common."""
        where = re.sub(r"\[\d+\]", "[]", self.where)
        problem = re.sub(r"-?\d+", "N", self.problem.split(", got")[0])
        return f"{where}: {problem}"


@dataclasses.dataclass
class Problems:
    """What a lenient read of the official .mat left out, per kind of problem: how many times it
    was met, what it left out, and the first occurrence."""

    counts: Counter = dataclasses.field(default_factory=Counter)
    first: dict[str, OfficialFormatError] = dataclasses.field(default_factory=dict)
    left_out: dict[str, str] = dataclasses.field(default_factory=dict)

    def add(self, error: OfficialFormatError, left_out: str) -> None:
        self.counts[error.kind] += 1
        self.first.setdefault(error.kind, error)
        self.left_out.setdefault(error.kind, left_out)

    def lines(self) -> list[str]:
        """One line per kind: count, what was left out, the first occurrence."""
        return [
            f"{count} × {self.left_out[kind]} left out of {self.first[kind].path}: "
            f"{self.first[kind].problem} (first at {self.first[kind].where})"
            for kind, count in self.counts.items()
        ]


@dataclasses.dataclass(frozen=True)
class OfficialPerson:
    """One `annorect` of the official file: a person of one image, as stored.

    A person without any joint annotation (`annotated` is False: every person of a test image, and
    a few others) is kept so that positions and `single_person` line up with the file; its
    `objpos` and `scale` are usually known, its `head_box` usually not. Callers that need joints
    skip it (or use it only for its position and scale).
    """

    image: str  # file name, e.g. '015601864.jpg'
    image_index: int  # position in RELEASE.annolist, from 0
    rect_index: int  # position in the image's annorect, from 0 (MATLAB's ridx - 1)
    is_train: bool  # RELEASE.img_train: True for train/validation images, False for test images
    # NUM_JOINTS entries in MPII joint id order (= mpii_pose.base.skeleton): (x, y), None if not annotated.
    joints: tuple[Point | None, ...]
    # NUM_JOINTS entries: True visible, False occluded, None unknown (empty in the file, or the joint
    # is not annotated).
    is_visible: tuple[bool | None, ...]
    head_box: HeadBox | None  # x1, y1, x2, y2; None when the file has none for this person
    objpos: Point | None  # rough body position (the JSON's `center`); None when not stored
    scale: float | None  # person height ≈ 200 × scale pixels; None when not stored
    single_person: bool  # listed in RELEASE.single_person: sufficiently separated from the others
    activity: str  # RELEASE.act.act_name, '' when unknown
    category: str  # RELEASE.act.cat_name, '' when unknown
    activity_id: int  # RELEASE.act.act_id, -1 when unknown

    @property
    def labelled(self) -> tuple[bool, ...]:
        """Per joint: annotated (occluded or not), the meaning of the JSON's `joints_vis`."""
        return tuple(joint is not None for joint in self.joints)

    @property
    def annotated(self) -> bool:
        """True when at least one joint is annotated."""
        return any(joint is not None for joint in self.joints)

    @property
    def where(self) -> str:
        """The person's place in the file, for messages: `annolist[i].annorect[r]`."""
        return f"annolist[{self.image_index}].annorect[{self.rect_index}]"


def parse_official(
    data: bytes, source: str, problems: Problems | None = None
) -> tuple[OfficialPerson, ...]:
    """Every person of every image of an official `.mat`, in file order; `source` names it.

    Missing or empty fields become None ('' and -1 for the activity). Anything else that is not
    the official layout raises OfficialFormatError with the position and what was expected;
    given `problems`, the person, the image or (for the file's own structure) every person it
    concerns is left out instead, and the problem counted there.
    """
    try:
        return _parse_official(data, source, problems)
    except OfficialFormatError as err:
        if problems is None:
            raise
        problems.add(err, "the whole file (every person)")
        return ()


def _parse_official(
    data: bytes, source: str, problems: Problems | None
) -> tuple[OfficialPerson, ...]:
    reader = _Reader(source, problems)
    try:
        mat = load_mat(data)
    except NotAMatFile as err:
        raise reader.fail(None, "", str(err)) from None
    release = reader.release(mat, ("annolist", "img_train", "single_person", "act"))
    annolist = reader.structs(release["annolist"], "RELEASE.annolist", None)
    count = len(annolist)
    train = reader.per_image(release["img_train"], "img_train", count)
    single = reader.per_image(release["single_person"], "single_person", count)
    acts = reader.structs(release["act"], "RELEASE.act", None)
    if len(acts) != count:
        raise reader.fail(
            None, "RELEASE.act", f"must hold one struct per image ({count}), got {len(acts)}"
        )
    persons: list[OfficialPerson] = []
    for index, image in enumerate(annolist):
        with reader.leaving_out("an image (all its persons)"):
            persons.extend(reader.image(image, index, train[index], single[index], acts[index]))
    return tuple(persons)


@dataclasses.dataclass(frozen=True)
class ReleaseImages:
    """RELEASE.annolist's entries as loaded, with each image's `img_train` and `single_person`."""

    annolist: tuple[np.void, ...]
    is_train: tuple[bool, ...]  # RELEASE.img_train == 1
    single_person: tuple[frozenset[int], ...]  # 1-based rect numbers, as MATLAB indexes annorect
    rect_counts: tuple[int, ...]  # each image's number of annorect elements


def release_images(mat: dict[str, Any], source: str) -> ReleaseImages:
    """The images of an official file loaded as `parse_official` loads it (scipy's loadmat in
    record form), read strictly: for readers that need the annolist entries themselves."""
    reader = _Reader(source)
    release = reader.release(mat, ("annolist", "img_train", "single_person"))
    annolist = reader.structs(release["annolist"], "RELEASE.annolist", None)
    count = len(annolist)
    train = reader.per_image(release["img_train"], "img_train", count)
    single = reader.per_image(release["single_person"], "single_person", count)
    rects = [
        len(reader.structs(field(image, "annorect"), f"annolist[{index}].annorect", index))
        for index, image in enumerate(annolist)
    ]
    return ReleaseImages(
        tuple(annolist),
        tuple(reader.train_flag(value, index) for index, value in enumerate(train)),
        tuple(
            frozenset(reader.single_person(value, index, rects[index]))
            for index, value in enumerate(single)
        ),
        tuple(rects),
    )


class _Reader:
    """Reads the record-form arrays of one file; every error names `source` and the position."""

    def __init__(self, source: str, problems: Problems | None = None):
        self.source, self.problems = source, problems

    def release(self, mat: dict[str, Any], names: tuple[str, ...]) -> np.void:
        """The file's struct RELEASE, which must have the fields `names`."""
        if "RELEASE" not in mat:
            raise self.fail(
                None,
                "",
                "no struct 'RELEASE' (the official mpii_human_pose_v1_u12_1.mat holds one); "
                f"found {', '.join(k for k in mat if not k.startswith('__')) or 'nothing'}",
            )
        release = self.one_struct(mat["RELEASE"], "RELEASE", None)
        missing = [name for name in names if name not in (release.dtype.names or ())]
        if missing:
            raise self.fail(
                None,
                "",
                f"RELEASE has no field {', '.join(missing)}; the official layout has "
                f"{', '.join(names)}",
            )
        return release

    def fail(self, index: int | None, where: str, problem: str) -> OfficialFormatError:
        return OfficialFormatError(self.source, index, where, problem)

    @contextlib.contextmanager
    def leaving_out(self, what: str) -> Iterator[None]:
        """Reading strictly, nothing; leniently, a problem inside the block leaves `what` out."""
        try:
            yield
        except OfficialFormatError as err:
            if self.problems is None:
                raise
            self.problems.add(err, what)

    def structs(self, value: Any, where: str, index: int | None) -> list[np.void]:
        """The elements of a struct array, in MATLAB order; no field or an empty array: none."""
        if empty(value):
            return []
        if not isinstance(value, np.ndarray) or value.dtype.names is None:
            raise self.fail(index, where, f"expected a struct, got {describe(value)}")
        return list(value.ravel(order="F"))

    def one_struct(self, value: Any, where: str, index: int | None) -> np.void:
        elements = self.structs(value, where, index)
        if len(elements) != 1:
            raise self.fail(index, where, f"expected one struct, got {describe(value)}")
        return elements[0]

    def per_image(self, value: Any, name: str, count: int) -> list[np.ndarray]:
        """RELEASE.`name`: one entry per image (a number or a cell)."""
        where = f"RELEASE.{name}"
        if not isinstance(value, np.ndarray) or value.dtype.names is not None:
            raise self.fail(None, where, f"expected one value per image, got {describe(value)}")
        if value.size != count:
            raise self.fail(
                None, where, f"must hold one value per image ({count}), got {value.size}"
            )
        return [np.asarray(item) for item in value.ravel(order="F")]

    def number(self, value: Any, where: str, index: int) -> float | None:
        """A finite number, or None when absent or empty."""
        if empty(value):
            return None
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf" or value.size != 1:
            raise self.fail(index, where, f"expected a number, got {describe(value)}")
        number = float(value.ravel()[0])
        if not math.isfinite(number):
            raise self.fail(index, where, f"expected a finite number, got {number!r}")
        return number

    def integer(self, value: Any, where: str, index: int) -> int | None:
        number = self.number(value, where, index)
        if number is not None and not number.is_integer():
            raise self.fail(index, where, f"expected a whole number, got {number!r}")
        return None if number is None else int(number)

    def text(self, value: Any, where: str, index: int) -> str:
        """A string, '' when absent or empty."""
        if empty(value):
            return ""
        if not isinstance(value, np.ndarray) or value.dtype.kind != "U" or value.size != 1:
            raise self.fail(index, where, f"expected a string, got {describe(value)}")
        return str(value.ravel()[0])

    def image(
        self, image: np.void, index: int, train: np.ndarray, single: np.ndarray, act: np.void
    ) -> list[OfficialPerson]:
        where = f"annolist[{index}]"
        name_struct = self.one_struct(field(image, "image"), f"{where}.image", index)
        name = self.text(field(name_struct, "name"), f"{where}.image.name", index)
        if not name.strip() or "/" in name or "\\" in name:
            raise self.fail(
                index, f"{where}.image.name", f"expected the image's file name, got {name!r}"
            )
        is_train = self.train_flag(train, index)
        rects = self.structs(field(image, "annorect"), f"{where}.annorect", index)
        separated = self.single_person(single, index, len(rects))
        act_where = f"RELEASE.act[{index}]"
        activity_id = self.integer(field(act, "act_id"), f"{act_where}.act_id", index)
        context = {
            "image": name,
            "image_index": index,
            "is_train": is_train,
            "activity": self.text(field(act, "act_name"), f"{act_where}.act_name", index),
            "category": self.text(field(act, "cat_name"), f"{act_where}.cat_name", index),
            "activity_id": -1 if activity_id is None else activity_id,
        }
        persons = []
        for r, rect in enumerate(rects):
            with self.leaving_out("a person"):
                at = f"{where}.annorect[{r}]"
                persons.append(self.person(rect, at, index, r, r + 1 in separated, context))
        return persons

    def train_flag(self, value: np.ndarray, index: int) -> bool:
        """RELEASE.img_train{index}: 1 (train) or 0 (test)."""
        is_train = self.integer(value, f"RELEASE.img_train[{index}]", index)
        if is_train not in (0, 1):
            raise self.fail(
                index, f"RELEASE.img_train[{index}]", f"expected 0 or 1, got {describe(value)}"
            )
        return bool(is_train)

    def single_person(self, value: np.ndarray, index: int, rects: int) -> set[int]:
        """The 1-based rect indices of RELEASE.single_person{index}."""
        where = f"RELEASE.single_person[{index}]"
        if value.dtype.kind == "O" and value.size == 1:  # a cell inside the cell
            value = np.asarray(value.ravel()[0])
        if value.dtype.kind in "biuf":
            values = value.ravel().astype(np.float64)
        else:
            raise self.fail(index, where, f"expected rect numbers, got {describe(value)}")
        valid = np.isfinite(values) & (values == np.round(values)) & (values >= 1)
        if not valid.all() or (values > rects).any():
            expected = f"person numbers from 1 to {rects}" if rects else "none (no persons)"
            raise self.fail(index, where, f"expected {expected}, got {describe(value)}")
        return {int(v) for v in values}

    def person(
        self, rect: np.void, where: str, index: int, r: int, single: bool, context: dict
    ) -> OfficialPerson:
        corners = [self.number(field(rect, k), f"{where}.{k}", index) for k in HEAD_BOX_FIELDS]
        present = [k for k, v in zip(HEAD_BOX_FIELDS, corners, strict=True) if v is not None]
        if present and len(present) != len(corners):
            raise self.fail(
                index,
                where,
                f"a head box needs all of x1, y1, x2, y2 or none, got only {', '.join(present)}",
            )
        scale = self.number(field(rect, "scale"), f"{where}.scale", index)
        if scale is not None and scale <= 0:
            raise self.fail(index, f"{where}.scale", f"expected a positive number, got {scale!r}")
        joints, visible = self.points(field(rect, "annopoints"), f"{where}.annopoints", index)
        return OfficialPerson(
            rect_index=r,
            joints=joints,
            is_visible=visible,
            head_box=cast(HeadBox, tuple(corners)) if present else None,
            objpos=self.objpos(field(rect, "objpos"), f"{where}.objpos", index),
            scale=scale,
            single_person=single,
            **context,
        )

    def objpos(self, value: Any, where: str, index: int) -> Point | None:
        objpos = self.structs(value, where, index)
        if not objpos:
            return None
        if len(objpos) != 1:
            raise self.fail(
                index, where, f"expected one struct with x and y, got {describe(value)}"
            )
        x, y = (self.number(field(objpos[0], k), f"{where}.{k}", index) for k in ("x", "y"))
        if (x is None) != (y is None):
            raise self.fail(index, where, "expected both x and y or neither")
        return None if x is None or y is None else (x, y)

    def points(
        self, value: Any, where: str, index: int
    ) -> tuple[tuple[Point | None, ...], tuple[bool | None, ...]]:
        joints: list[Point | None] = [None] * NUM_JOINTS
        visible: list[bool | None] = [None] * NUM_JOINTS
        annopoints = self.structs(value, where, index)
        if len(annopoints) > 1:
            raise self.fail(
                index, where, f"expected one struct with 'point', got {describe(value)}"
            )
        if annopoints and "point" not in (annopoints[0].dtype.names or ()):
            raise self.fail(index, where, "expected a struct with a field 'point'")
        points = self.structs(annopoints[0]["point"], f"{where}.point", index) if annopoints else []
        for p, point in enumerate(points):
            at = f"{where}.point[{p}]"
            joint = self.integer(field(point, "id"), f"{at}.id", index)
            if joint is None or not 0 <= joint < NUM_JOINTS:
                got = "nothing" if joint is None else joint
                raise self.fail(
                    index, f"{at}.id", f"expected a joint id from 0 to {NUM_JOINTS - 1}, got {got}"
                )
            if joints[joint] is not None:
                raise self.fail(index, f"{at}.id", f"joint id {joint} appears twice")
            x, y = (self.number(field(point, k), f"{at}.{k}", index) for k in ("x", "y"))
            if x is None or y is None:
                raise self.fail(index, at, "expected numbers x and y")
            joints[joint] = (x, y)
            visible[joint] = self.visibility(field(point, "is_visible"), at, index)
        return tuple(joints), tuple(visible)

    def visibility(self, value: Any, where: str, index: int) -> bool | None:
        """is_visible as stored: the number 0 or 1, the string '0' or '1', or empty (unknown)."""
        if empty(value):
            return None
        if isinstance(value, np.ndarray) and value.size == 1:
            item = value.ravel()[0]
            if value.dtype.kind == "U" and str(item).strip() in ("0", "1"):
                return str(item).strip() == "1"
            if value.dtype.kind in "biuf" and item in (0, 1):
                return bool(item)
        raise self.fail(index, where, f"is_visible must be 0, 1 or empty, got {describe(value)}")
