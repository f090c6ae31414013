"""The environment variables that change what a build does, read in one place, once per build.

A builder reads them when it is made (`read()`), so that a build sees one set of values from start
to end; `mpii-pose --help` and README's table list `VARIABLES`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from etils import epath

from mpii_pose.base.errors import MpiiPoseError

ENGINE = "MPII_POSE_ENGINE"
STRICT_OFFICIAL = "MPII_POSE_STRICT_OFFICIAL"
MIRROR = "MPII_POSE_MIRROR"
CHECKSUMS = "MPII_POSE_CHECKSUMS"
SKIP_SPACE_CHECK = "MPII_POSE_SKIP_SPACE_CHECK"
REMOVE_ARCHIVE = "MPII_POSE_REMOVE_ARCHIVE"
RAY_ADDRESS = "RAY_ADDRESS"

# Each variable and what it does, as `--help` and README say it.
VARIABLES: dict[str, str] = {
    ENGINE: "the writer of every build that names none: local, ray, beam or tfds "
    "(default: automatic)",
    STRICT_OFFICIAL: "1: a problem in the official .mat stops the build (default: a counted "
    "warning, and the fields it would give are left empty)",
    MIRROR: "URL: what the manual directory lacks is fetched as URL/<file name> (a mirror, a "
    "proxy cache, a bucket path), verified against the official file's checksum",
    CHECKSUMS: "FILE: checksums are read (and with --register_checksums written) in FILE "
    "instead of the package's checksums.tsv",
    SKIP_SPACE_CHECK: "1: build even when the estimate of what the build writes exceeds the "
    "free space of the data dir's file system (default: stop before the first shard, saying "
    "how much is needed and free)",
    REMOVE_ARCHIVE: "1: the downloaded images archive (12 GB) is deleted once its images are "
    "extracted (default: kept, so that extracting again needs no download)",
    RAY_ADDRESS: "Ray's own: the cluster the ray engine joins (default: a local Ray started for "
    "the build)",
}

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class SettingsError(MpiiPoseError):
    """An environment variable of `VARIABLES` holds a value it cannot mean."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The values of `VARIABLES` (None or False: not set)."""

    engine: str | None = None
    strict_official: bool = False
    mirror: str | None = None
    checksums: epath.Path | None = None
    skip_space_check: bool = False
    remove_archive: bool = False
    ray_address: str | None = None


def read(environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings `environ` holds; an error naming the variable for a value it cannot mean."""

    def text(name: str) -> str | None:
        return environ.get(name, "").strip() or None

    checksums = text(CHECKSUMS)
    return Settings(
        engine=(text(ENGINE) or "").lower() or None,
        strict_official=_flag(STRICT_OFFICIAL, environ.get(STRICT_OFFICIAL, "")),
        mirror=text(MIRROR),
        checksums=epath.Path(checksums) if checksums else None,
        skip_space_check=_flag(SKIP_SPACE_CHECK, environ.get(SKIP_SPACE_CHECK, "")),
        remove_archive=_flag(REMOVE_ARCHIVE, environ.get(REMOVE_ARCHIVE, "")),
        ray_address=text(RAY_ADDRESS),
    )


def _flag(name: str, value: str) -> bool:
    """A yes/no variable's value."""
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise SettingsError(
        f"{name}={value!r} is neither on ({', '.join(_TRUE)}) nor off ({', '.join(_FALSE[1:])} "
        "or empty)"
    )


def help_text() -> str:
    """The variables and what they do, for `--help`."""
    width = max(map(len, VARIABLES))
    return "\n".join(f"  {name:<{width}}  {meaning}" for name, meaning in VARIABLES.items())
