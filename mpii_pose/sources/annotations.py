"""Parse and validate the HRNet/mmpose MPII JSON: a list with one entry per annotated person.

Values are kept exactly as in the file (MATLAB 1-based pixel coordinates); nothing is shifted,
rounded or clipped. Every problem is reported with the file, the entry index and what was expected.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Any

from mpii_pose.base.errors import AnnotationError
from mpii_pose.base.skeleton import NUM_JOINTS

REQUIRED_KEYS: tuple[str, ...] = ("image", "joints", "joints_vis", "center", "scale")
# A test file's entries (HRNet's test.json, mmpose's mpii_test.json) have no joints.
JOINT_KEYS: tuple[str, ...] = ("joints", "joints_vis")
NO_JOINTS = ((-1.0, -1.0),) * NUM_JOINTS  # what a person without labelled joints holds
_DRIVE = re.compile(r"^[A-Za-z]:")

Point = tuple[float, float]  # (x, y), MATLAB 1-based pixels
HeadBox = tuple[float, float, float, float]  # (x1, y1, x2, y2), MATLAB 1-based pixels
# A labelled joint of a .mat file and the same joint in the JSON may differ by this much (pixels,
# per coordinate) and still match: the JSON keeps at most 4 decimals.
JOINT_TOLERANCE = 1.0


@dataclasses.dataclass(frozen=True)
class Person:
    """One annotated person, as its annotation file gives it."""

    annotation_index: int  # position of the entry in its annotation file, from 0
    person_index: int  # position among the earlier entries of the same image, from 0
    image: str  # path relative to the images folder
    joints: tuple[Point, ...]  # NUM_JOINTS (x, y), MATLAB 1-based
    labelled: tuple[bool, ...]  # the JSON's `joints_vis`: annotated or not (occluded ones too)
    center: Point
    scale: float
    # (x1, y1, x2, y2), 1-based, from a gt_valid.mat or the official .mat; None when unknown.
    head_box: HeadBox | None = None
    # From the official .mat, when it holds this person: per joint 1 visible, 0 occluded, -1 unknown.
    is_visible: tuple[int, ...] | None = None
    activity: str = ""  # the image's activity, e.g. 'bicycling, mountain'; '' when unknown
    category: str = ""  # its category, e.g. 'bicycling'; '' when unknown
    activity_id: int = -1  # MPII's activity id; -1 when unknown
    # The matching record of the official .mat: 1-based indices into RELEASE.annolist and that
    # image's annorect (-1 when it holds no clear match), and whether RELEASE.single_person lists it.
    official_image_index: int = -1
    official_rect_index: int = -1
    single_person: bool = False


def parse_annotations(text: str, source: str, joints_optional: bool = False) -> tuple[Person, ...]:
    """Parses one annotation file's text; `source` names the file in error messages.

    With `joints_optional` (a test file), an entry may leave out `joints` and `joints_vis`: its
    joints are then `[-1, -1]`, none labelled.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise AnnotationError.at(source, None, f"not valid JSON ({err})") from None
    if not isinstance(data, list):
        raise AnnotationError.at(
            source, None, f"expected a JSON list of person entries, got {_kind(data)}"
        )
    persons: list[Person] = []
    per_image: dict[str, int] = {}
    for index, entry in enumerate(data):
        person = _parse_entry(entry, source, index, per_image, joints_optional)
        per_image[person.image] = person.person_index + 1
        persons.append(person)
    return tuple(persons)


def check_image_name(name: Any, source: str, index: int) -> str:
    """Returns `name` if it is a relative path inside the images folder; refuses anything else."""
    if not isinstance(name, str) or not name.strip():
        raise AnnotationError.at(source, index, f"'image' must be a file name, got {_kind(name)}")
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or _DRIVE.match(name) or ".." in parts:
        raise AnnotationError.at(
            source,
            index,
            f"'image' must be a path relative to the images folder, without '..', got {name!r}",
        )
    return name


def _parse_entry(
    entry: Any, source: str, index: int, per_image: dict[str, int], joints_optional: bool
) -> Person:
    if not isinstance(entry, dict):
        raise AnnotationError.at(source, index, f"expected a JSON object, got {_kind(entry)}")
    without_joints = joints_optional and not any(key in entry for key in JOINT_KEYS)
    required = [key for key in REQUIRED_KEYS if not (without_joints and key in JOINT_KEYS)]
    missing = [key for key in required if key not in entry]
    if missing:
        test_note = (
            "; only a test file's entries may leave out both joints and joints_vis"
            if set(missing) & set(JOINT_KEYS)
            else ""
        )
        raise AnnotationError.at(
            source,
            index,
            f"missing key(s) {', '.join(map(repr, missing))}; "
            f"every entry needs {', '.join(REQUIRED_KEYS)}{test_note}",
        )
    image = check_image_name(entry["image"], source, index)
    points, labelled = (
        (NO_JOINTS, (False,) * NUM_JOINTS) if without_joints else _joints(entry, source, index)
    )
    center = _pair(entry["center"], "center", source, index)
    scale = _number(entry["scale"], "scale", source, index)
    if scale <= 0:
        raise AnnotationError.at(source, index, f"'scale' must be positive, got {scale!r}")
    return Person(
        annotation_index=index,
        person_index=per_image.get(image, 0),
        image=image,
        joints=points,
        labelled=labelled,
        center=center,
        scale=scale,
    )


def _joints(
    entry: dict, source: str, index: int
) -> tuple[tuple[tuple[float, float], ...], tuple[bool, ...]]:
    """The entry's joints and labelled flags."""
    joints = _sequence(
        entry["joints"], NUM_JOINTS, "joints", f"{NUM_JOINTS} [x, y] pairs", source, index
    )
    points = tuple(_pair(joint, f"joints[{i}]", source, index) for i, joint in enumerate(joints))
    flags = _sequence(
        entry["joints_vis"], NUM_JOINTS, "joints_vis", f"{NUM_JOINTS} flags (0 or 1)", source, index
    )
    labelled = tuple(_flag(flag, f"joints_vis[{i}]", source, index) for i, flag in enumerate(flags))
    return points, labelled


def _sequence(value: Any, length: int, name: str, expected: str, source: str, index: int) -> list:
    if not isinstance(value, list):
        raise AnnotationError.at(
            source, index, f"'{name}' must be a list of {expected}, got {_kind(value)}"
        )
    if len(value) != length:
        raise AnnotationError.at(
            source, index, f"'{name}' must be a list of {expected}, got {len(value)} items"
        )
    return value


def _pair(value: Any, name: str, source: str, index: int) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        got = f"{len(value)} items" if isinstance(value, list) else _kind(value)
        raise AnnotationError.at(
            source, index, f"'{name}' must be a list [x, y] of 2 numbers, got {got}"
        )
    return _number(value[0], f"{name}[0]", source, index), _number(
        value[1], f"{name}[1]", source, index
    )


def _number(value: Any, name: str, source: str, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnnotationError.at(source, index, f"'{name}' must be a number, got {_kind(value)}")
    if not math.isfinite(value):
        raise AnnotationError.at(source, index, f"'{name}' must be a finite number, got {value!r}")
    return float(value)


def _flag(value: Any, name: str, source: str, index: int) -> bool:
    if isinstance(value, (bool, int, float)) and value in (0, 1):
        return bool(value)
    raise AnnotationError.at(source, index, f"'{name}' must be 0 or 1, got {value!r}")


def _kind(value: Any) -> str:
    """Names a JSON value's type the way the JSON spec does, for error messages."""
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }
    if type(value) in names:
        return f"{names[type(value)]} ({_short(value)})"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return type(value).__name__


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
