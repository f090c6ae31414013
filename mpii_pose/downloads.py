"""What a build downloads when the manual directory lacks it: the official images and annotations
(.mat, for occlusion, activities and head boxes), and mmpose's JSON.

Downloads go through TFDS's download manager, verified against `checksums.tsv` where a checksum is
published. `MPII_POSE_MIRROR` fetches every file from a mirror instead (verified against the
official file's checksum); `MPII_POSE_CHECKSUMS` reads and registers checksums in another file.
A failed or interrupted download leaves no partial file behind: the next run starts it afresh.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping, Sequence

from etils import epath
from tensorflow_datasets.core.download import checksums

from mpii_pose import manual_dir
from mpii_pose.errors import DownloadError, ManualDirError

MIRROR_ENV = "MPII_POSE_MIRROR"
CHECKSUMS_ENV = "MPII_POSE_CHECKSUMS"
# TFDS's temporary names: downloads in "<file>.tmp.<uuid>", extractions in "incomplete.<uuid>_<name>".
_PARTIAL = re.compile(r"(\.tmp\.[0-9a-f]{32}|^incomplete\.[0-9a-f]{32}_.*)$")


@dataclasses.dataclass(frozen=True)
class Archive:
    """One downloadable file and the part of the manual directory it stands in for."""

    part: str  # manual_dir.IMAGES or manual_dir.ANNOTATIONS
    filename: str
    url: str
    check: Callable[[epath.Path], object]  # raises ManualDirError when the content is not there


ARCHIVES: tuple[Archive, ...] = (
    Archive(
        manual_dir.IMAGES,
        "mpii_human_pose_v1.tar.gz",
        "https://datasets.d2.mpi-inf.mpg.de/andriluka14cvpr/mpii_human_pose_v1.tar.gz",
        manual_dir.find_images_dir,
    ),
    Archive(
        manual_dir.ANNOTATIONS,
        "mpii_annotations.tar",
        "https://download.openmmlab.com/mmpose/datasets/mpii_annotations.tar",
        manual_dir.find_annotation_files,
    ),
    Archive(
        manual_dir.ANNOTATIONS,
        "mpii_human_pose_v1_u12_2.zip",
        "https://datasets.d2.mpi-inf.mpg.de/andriluka14cvpr/mpii_human_pose_v1_u12_2.zip",
        manual_dir.require_official_file,
    ),
)


def archive_url(archive: Archive, mirror: str | None = None) -> str:
    """Where `archive` is fetched from: its official URL, or `mirror`/<file name>."""
    return f"{mirror.rstrip('/')}/{archive.filename}" if mirror else archive.url


def mirrored_url_infos(
    url_infos: Mapping[str, checksums.UrlInfo], mirror: str | None
) -> dict[str, checksums.UrlInfo]:
    """`url_infos` plus, for a mirror, each listed file under its mirror URL with the same checksum."""
    infos = dict(url_infos)
    if mirror:
        by_name = {info.filename: info for info in url_infos.values() if info.filename}
        for archive in ARCHIVES:
            if archive.filename in by_name:
                infos.setdefault(archive_url(archive, mirror), by_name[archive.filename])
    return infos


def fetch(
    dl_manager,
    parts: Sequence[str],
    scratch: Sequence[epath.Path],
    mirror: str | None = None,
) -> list[epath.Path]:
    """Downloads and extracts the archives of the missing `parts`; returns their extracted folders.

    `scratch` are the folders where TFDS downloads and extracts this dataset's files; what an
    earlier, interrupted run left there is removed first.
    """
    archives = [archive for archive in ARCHIVES if archive.part in parts]
    if not archives:
        return []
    remove_partial_files(scratch)
    return [
        _fetch_one(dl_manager, archive, archive_url(archive, mirror), scratch)
        for archive in archives
    ]


def _fetch_one(dl_manager, archive: Archive, url: str, scratch: Sequence[epath.Path]) -> epath.Path:
    """Downloads and extracts one archive, checks what it holds; returns the extracted folder.

    An archive without the expected content is deleted with its extraction, so that a rerun
    (e.g. after fixing a mirror) fetches it again.
    """
    try:
        path = epath.Path(dl_manager.download(url))
        root = epath.Path(dl_manager.extract(path))
    except Exception as err:  # TFDS raises its own types, requests' and tarfile's
        remove_partial_files(scratch)
        raise DownloadError(
            f"downloading {url} failed: {err}\n"
            "Nothing partial was kept; run the build again to restart the download."
        ) from err
    try:
        archive.check(root)
    except ManualDirError as err:
        held = describe(root)
        for done in (root, path, path.with_name(path.name + ".INFO")):
            if done.is_dir():
                done.rmtree()
            elif done.exists():
                done.unlink()
        raise DownloadError(
            f"{url} is not the expected {archive.filename}: {err}; it holds {held}. "
            "It was deleted: run the build again to download it anew."
        ) from None
    return root


def remove_partial_files(folders: Sequence[epath.Path]) -> None:
    """Deletes what an interrupted download or extraction left in `folders` (not recursively)."""
    for folder in map(epath.Path, folders):
        if folder.is_dir():
            for path in folder.iterdir():
                if _PARTIAL.search(path.name):
                    path.rmtree() if path.is_dir() else path.unlink()


def describe(root: epath.Path, limit: int = 8) -> str:
    """The first few entries of an extracted archive, for error messages."""
    if not root.is_dir():
        return "a single file"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    if not names:
        return "nothing"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def mirror_from_env() -> str | None:
    """The mirror set in the environment, if any."""
    return os.environ.get(MIRROR_ENV) or None


def checksums_file_from_env() -> epath.Path | None:
    """The checksums file set in the environment, if any."""
    path = os.environ.get(CHECKSUMS_ENV)
    return epath.Path(path) if path else None
