"""What a build holds and what it was made from: recorded in the build's metadata.json, read back
without TensorFlow (`mpii-pose info`, the "already built" message), and compared with a request.

The splits, shards, sizes and file format come from TFDS's dataset_info.json; the rest (the input
files with their sha256, the per-split cap, persons lacking head boxes or official fields) from
the `build` entry that the builder adds to metadata.json. Inputs are recorded by content and by
their names inside the manual directory or download, never by absolute path, so that the same
inputs give the same bytes wherever they are. A build made before builds were recorded says so,
rather than guess.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from etils import epath
from tensorflow_datasets.core import constants

from mpii_pose.base.errors import ManualDirError, MpiiPoseError
from mpii_pose.sources.annotations import Person
from mpii_pose.sources.assembly import SplitSource, find_annotation_inputs
from mpii_pose.sources.manual_dir import (
    ANNOTATION_DIRS,
    HEAD_BOX_FILES,
    OFFICIAL_DIR,
    OFFICIAL_FILE,
    TEST_SPLIT,
    has_annotations,
)

METADATA_KEY = "build"  # the builder's entry in TFDS's metadata.json
IMAGES_ROLE, OFFICIAL_ROLE, GROUPS_ROLE = "images", "official annotations", "multi-person groups"
MANUAL_ORIGIN = "manual directory"
# What a build holds and lacks, logged for `tfds build` and `tfds.load`; `mpii-pose build` prints
# it in its summary instead.
LOG = logging.getLogger(__name__)


def annotations_role(split: str) -> str:
    return f"{split} annotations"


def head_boxes_role(split: str) -> str:
    return f"{split} head boxes"


class BuildRecordError(MpiiPoseError):
    """A build's dataset_info.json or metadata.json cannot be read as a build record."""


@dataclasses.dataclass(frozen=True)
class SourceFile:
    """One input of a build: its role, where it came from, its name there, and its content hash
    (None for a folder)."""

    role: str  # IMAGES_ROLE, annotations_role(split), head_boxes_role(split), OFFICIAL_ROLE, GROUPS_ROLE
    origin: str  # MANUAL_ORIGIN, or "download ARCHIVE" (the archive it was extracted from)
    name: str  # its path inside its origin, e.g. "annot/valid.json"
    sha256: str | None = None


@dataclasses.dataclass(frozen=True)
class SplitContents:
    """One split of a build; the counts after `shards` are None when the build did not record them."""

    name: str
    examples: int
    shards: int
    num_bytes: int
    persons_in_file: int | None = None  # persons in the split's annotation file
    without_head_box: int | None = None
    without_official: int | None = None  # no is_visible, activity, ... from the official .mat


@dataclasses.dataclass(frozen=True)
class BuildRecord:
    """What `mpii-pose info` shows of one build."""

    path: str  # D/mpii_pose[/CONFIG]/VERSION
    version: str
    config: str | None
    file_format: str
    splits: tuple[SplitContents, ...]
    recorded: bool  # False: built before builds were recorded; what follows is unknown
    max_examples_per_split: int | None = None
    sources: tuple[SourceFile, ...] = ()

    @property
    def has_official(self) -> bool:
        """Whether the official .mat was among the build's inputs."""
        return any(s.role == OFFICIAL_ROLE for s in self.sources)


def file_sha256(path: epath.PathLike) -> str:
    """The sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with epath.Path(path).open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def metadata(
    manual_dir: epath.Path | None,
    downloaded: Mapping[str, epath.Path],
    max_examples_per_split: int | None,
    sources: Mapping[str, SplitSource],
    written: Mapping[str, Sequence[Person]],
) -> dict[str, Any]:
    """The `build` entry of metadata.json: the inputs with their hashes, the cap, and per split
    the persons of its file and those written without a head box or official fields."""
    roots = [(MANUAL_ORIGIN, manual_dir)] if manual_dir is not None else []
    roots += [(f"download {archive}", root) for archive, root in downloaded.items()]

    def source_file(role: str, path: epath.Path, hashed: bool = True) -> SourceFile:
        origin, name = _origin(path, roots)
        return SourceFile(role, origin, name, file_sha256(path) if hashed else None)

    first = next(iter(sources.values()))
    files = [source_file(IMAGES_ROLE, first.images_dir, hashed=False)]
    for split, source in sources.items():
        files.append(source_file(annotations_role(split), source.annotation_file))
        if source.head_box_file is not None:
            files.append(source_file(head_boxes_role(split), source.head_box_file))
    if first.official_file is not None:
        files.append(source_file(OFFICIAL_ROLE, first.official_file))
    if first.groups_file is not None:
        files.append(source_file(GROUPS_ROLE, first.groups_file))
    return {
        "max_examples_per_split": max_examples_per_split,
        "sources": [dataclasses.asdict(f) for f in files],
        "splits": {
            split: {
                "persons_in_file": len(sources[split].persons),
                "without_head_box": sum(p.head_box is None for p in persons),
                "without_official": sum(p.is_visible is None for p in persons),
            }
            for split, persons in written.items()
        },
    }


def _origin(path: epath.Path, roots: Sequence[tuple[str, epath.Path]]) -> tuple[str, str]:
    """(where `path` came from, its name there); the sources are found under these roots."""
    for origin, root in roots:
        if path.is_relative_to(root):
            return origin, path.relative_to(root).as_posix()
    raise ValueError(f"{path} is in none of the folders the build reads from")


def find_builds(data_dir: epath.PathLike, name: str = "mpii_pose") -> list[epath.Path]:
    """The finished builds of `name` in a data dir: D/NAME/VERSION and D/NAME/CONFIG/VERSION."""
    root = epath.Path(data_dir) / name
    if not root.is_dir():
        return []
    found = [info.parent for info in root.glob(f"*/{constants.DATASET_INFO_FILENAME}")]
    found += [info.parent for info in root.glob(f"*/*/{constants.DATASET_INFO_FILENAME}")]
    return sorted(p for p in found if not p.name.startswith("incomplete."))


def read_build(path: epath.PathLike) -> BuildRecord:
    """A build's record, from its dataset_info.json and metadata.json (JSON only)."""
    path = epath.Path(path)
    info = _json(path / constants.DATASET_INFO_FILENAME)
    metadata_file = path / constants.METADATA_FILENAME
    recorded = _json(metadata_file) if metadata_file.exists() else {}
    shards = {
        split["name"]: (
            [int(n) for n in split.get("shardLengths", [])],
            int(split.get("numBytes", 0)),
        )
        for split in info.get("splits", [])
    }
    return make_record(
        str(path),
        info.get("version", path.name),
        info.get("configName"),
        info.get("fileFormat", "tfrecord"),
        shards,
        recorded.get(METADATA_KEY),
    )


def _json(path: epath.Path) -> dict[str, Any]:
    """A JSON object from `path`; a file that is not one is a BuildRecordError naming it."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise BuildRecordError(f"{path} cannot be read as JSON ({err})") from None
    if not isinstance(data, dict):
        raise BuildRecordError(f"{path} holds no JSON object")
    return data


def _known(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of `values` that are fields of the dataclass `cls` (a later release may
    record more)."""
    names = {field.name for field in dataclasses.fields(cls)}
    return {key: value for key, value in values.items() if key in names}


def make_record(
    path: str,
    version: str,
    config: str | None,
    file_format: str,
    shards: Mapping[str, tuple[Sequence[int], int]],
    build: Mapping[str, Any] | None,
) -> BuildRecord:
    """A build's record from its splits' shard lengths and bytes, and its `build` metadata (None:
    not recorded)."""
    counts = (build or {}).get("splits", {})
    splits = tuple(
        SplitContents(
            name,
            sum(lengths),
            len(lengths),
            num_bytes,
            **_known(SplitContents, counts.get(name, {})),
        )
        for name, (lengths, num_bytes) in shards.items()
    )
    if build is None:
        return BuildRecord(path, version, config, file_format, splits, recorded=False)
    return BuildRecord(
        path,
        version,
        config,
        file_format,
        splits,
        recorded=True,
        max_examples_per_split=build.get("max_examples_per_split"),
        sources=tuple(SourceFile(**_known(SourceFile, f)) for f in build.get("sources", [])),
    )


def split_table(record: BuildRecord) -> list[str]:
    """A line per split: examples, shards, MiB, and how many persons of its file that is."""
    lines = []
    for split in record.splits:
        line = (
            f"  {split.name:<11} {split.examples:>7,} examples  {split.shards:>3} shards  "
            f"{split.num_bytes / 2**20:9.1f} MiB"
        )
        if split.persons_in_file is not None and split.persons_in_file != split.examples:
            line += f"  (of {split.persons_in_file:,} persons in its file)"
        lines.append(line)
    return lines


def describe(record: BuildRecord) -> list[str]:
    """Everything known of a build, and what is not known, for `mpii-pose info`."""
    name = "mpii_pose" + (f"/{record.config}" if record.config else "")
    lines = [f"{name} {record.version} in {record.path} ({record.file_format})"]
    lines += split_table(record)
    if not record.recorded:
        lines.append(
            "  built before builds recorded their inputs: the input files, a per-split cap "
            "and the persons lacking head boxes or official fields are unknown (rebuild with "
            "--overwrite to record them)"
        )
        return lines
    cap = record.max_examples_per_split
    lines.append(
        "  per-split cap: "
        + (f"the first {cap:,} persons of each file (--max_examples_per_split)" if cap else "none")
    )
    for source in record.sources:
        digest = f", sha256 {source.sha256[:16]}…" if source.sha256 else ""
        lines.append(f"  {source.role}: {source.name} in the {source.origin}{digest}")
    if not record.has_official:
        lines.append(f"  official annotations: none ({OFFICIAL_FILE} was not there)")
    lines += lacking(record)
    return lines


def lacking(record: BuildRecord) -> list[str]:
    """What the build's persons lack (head boxes, official fields), what that disables, and
    which file to add where; no lines when nothing is missing or nothing was recorded."""
    with_official = record.has_official
    lines = []
    for split in record.splits:
        parts = []
        if split.without_official:
            parts.append(f"{split.without_official:,} without official fields")
        if split.without_head_box and split.name != TEST_SPLIT:  # MPII scores test itself
            parts.append(f"{split.without_head_box:,} without a head box")
        if parts:
            lines.append(f"    {split.name}: {' and '.join(parts)} (of {split.examples:,})")
    if not lines:
        return []
    lines.insert(0, "  missing from this build's persons:")
    official_where = (
        f"add {OFFICIAL_FILE} to the manual directory (at its top or in {OFFICIAL_DIR}/) and "
        "rebuild with --overwrite"
    )
    if any(s.without_official for s in record.splits):
        effect = (
            "is_visible is -1 (unknown) and activity, category and activity_id are empty: "
            "no occlusion, no activities, no test submissions"
        )
        remedy = (
            "the official .mat holds no single match for these persons (the build logged why)"
            if with_official
            else official_where
        )
        lines += _wrapped(f"without official fields: {effect}; {remedy}")
    validation = next((s for s in record.splits if s.name == "validation"), None)
    if validation is not None and validation.without_head_box:
        box_files = " or ".join(HEAD_BOX_FILES["validation"])
        folders = ", ".join(f"{d}/" for d in ANNOTATION_DIRS if d and d != OFFICIAL_DIR)
        lines += _wrapped(
            "validation without head boxes: PCKh on validation is undefined for them "
            f"(evaluation raises HeadBoxesUnknown); add {box_files} (at the manual directory's "
            f"top or in {folders})"
            + ("" if with_official else f", or {OFFICIAL_FILE}")
            + ", and rebuild with --overwrite"
        )
    return lines


def _wrapped(text: str) -> list[str]:
    """An explanation under the per-split counts, wrapped for a terminal."""
    return textwrap.wrap(text, width=100, initial_indent="    ", subsequent_indent="      ")


def warn_lacking(record: BuildRecord) -> None:
    """Logs `lacking(record)` as one warning (shown by `tfds build` and `tfds.load`)."""
    lines = lacking(record)
    if lines:
        LOG.warning("%s", "\n".join(lines).strip())


@dataclasses.dataclass(frozen=True)
class Request:
    """What a build command asks for, to compare with a build that exists."""

    manual_dir: str | None
    max_examples_per_split: int | None
    file_format: str


def differences(record: BuildRecord, request: Request) -> list[str]:
    """How an existing build differs from what `request` asks: file format, cap, and the
    annotation files of the requested manual directory (by content). Empty when it is what was
    asked, as far as known."""
    found = []
    if record.file_format != request.file_format:
        found.append(f"it is in {record.file_format}, not {request.file_format}")
    if not record.recorded:
        found.append("how it was built was not recorded (a build of an earlier release)")
        return found
    if record.max_examples_per_split != request.max_examples_per_split:
        built = record.max_examples_per_split
        asked = request.max_examples_per_split
        found.append(
            f"it holds {'the first ' + format(built, ',') if built else 'all'} persons of each "
            f"file, not {'the first ' + format(asked, ',') if asked else 'all'} "
            "(--max_examples_per_split)"
        )
    changed = [] if request.manual_dir is None else _changed_inputs(record, request.manual_dir)
    if changed:
        found.append(
            f"its input files are not those in {request.manual_dir}: " + "; ".join(changed)
        )
    return found


def asked_manual_dir(given: epath.PathLike | None, data_dir_root: epath.PathLike) -> str | None:
    """The manual directory a build is asked to read: the one given (`~` expanded), else TFDS's
    default D/downloads/manual when it exists; None when there is none."""
    if given is not None:
        return os.fspath(epath.Path(given).expanduser())
    default = epath.Path(data_dir_root) / "downloads" / "manual"
    return os.fspath(default) if default.is_dir() else None


def _changed_inputs(record: BuildRecord, manual_dir: str) -> list[str]:
    """How the input files a build of `manual_dir` would read (annotations, head boxes, the
    official .mat) differ from those the build read, by content; nothing when `manual_dir`
    holds no annotations (a build of it would download them)."""
    if not has_annotations(manual_dir):
        return []
    try:
        files = _input_files(epath.Path(manual_dir), record.config)
    except ManualDirError:  # several candidates or a split missing: the build will say so
        return []
    built = {s.role: s.sha256 for s in record.sources if s.sha256}
    changes = []
    for role in sorted(set(files) | set(built)):
        if role not in built:
            changes.append(f"{role} in the manual directory, not in the build")
        elif role not in files:
            changes.append(f"{role} only in the build")
        elif built[role] != file_sha256(files[role]):
            changes.append(f"{role} differ")
    return changes


def _input_files(manual_dir: epath.Path, config: str | None) -> dict[str, epath.Path]:
    """The hashed inputs a build of `config` from `manual_dir` reads, by role (as `metadata`
    records them)."""
    inputs = find_annotation_inputs([manual_dir])
    files = {annotations_role(split): path for split, path in inputs.annotations.items()}
    files |= {head_boxes_role(split): path for split, path in inputs.head_boxes.items()}
    if inputs.official is not None:
        files[OFFICIAL_ROLE] = inputs.official
        if config == "per_image" and inputs.groups is not None:
            files[GROUPS_ROLE] = inputs.groups
    return files
