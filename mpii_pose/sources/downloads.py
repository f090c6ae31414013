"""What a build downloads when the manual directory lacks it: the official images and annotations
(.mat, for occlusion, activities and head boxes), and mmpose's JSON.

An http(s) file is fetched resumably (`resumable`): a transfer broken off, in this run or a killed
one, continues from the bytes on disk. The whole file is verified against `checksums.tsv` where a
checksum is published, put where TFDS's download manager keeps its downloads, and handed to it,
which records it (`--register_checksums`). The images archive is extracted in one streaming pass
into `<downloads>/extracted/mpii_human_pose_v1/` (`archive_extract`: in half the time of GNU tar
and of TFDS's extractor), which later builds use without the archive; it is kept, or deleted
once extracted when asked (`remove_archive`). TFDS extracts the others. `MPII_POSE_MIRROR`
fetches every file from a mirror instead (verified against the official file's checksum); `MPII_POSE_CHECKSUMS` reads
and registers checksums in another file. Before anything is downloaded, the log says what the
manual directory lacks; an unreachable host fails the build at once. `manual_instructions` tells
users what to put where instead.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
import socket
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence

from etils import epath

from mpii_pose.base import build_lock, settings, tfds_internals
from mpii_pose.base.errors import DownloadError, ManualDirError
from mpii_pose.sources import archive_extract, manual_dir, resumable

_LOG = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S = 10  # a host that neither answers nor refuses by then is left to TFDS's retries


@dataclasses.dataclass(frozen=True)
class Archive:
    """One downloadable file and the part of the manual directory it stands in for."""

    part: str  # manual_dir.IMAGES or manual_dir.ANNOTATIONS
    filename: str
    url: str
    check: Callable[[epath.Path], object]  # raises ManualDirError when the content is not there
    what: str  # for messages: whose file it is, and its size when large


IMAGES_ARCHIVE = Archive(
    manual_dir.IMAGES,
    "mpii_human_pose_v1.tar.gz",
    "https://datasets.d2.mpi-inf.mpg.de/andriluka14cvpr/mpii_human_pose_v1.tar.gz",
    manual_dir.find_images_dir,
    "the official images, 12 GB",
)
JSON_ARCHIVE = Archive(
    manual_dir.ANNOTATIONS,
    "mpii_annotations.tar",
    "https://download.openmmlab.com/mmpose/datasets/mpii_annotations.tar",
    manual_dir.find_annotation_files,
    "mmpose's JSON annotations",
)
OFFICIAL_ARCHIVE = Archive(
    manual_dir.ANNOTATIONS,
    "mpii_human_pose_v1_u12_2.zip",
    "https://datasets.d2.mpi-inf.mpg.de/andriluka14cvpr/mpii_human_pose_v1_u12_2.zip",
    manual_dir.require_official_file,
    "the official annotations",
)
ARCHIVES: tuple[Archive, ...] = (IMAGES_ARCHIVE, JSON_ARCHIVE, OFFICIAL_ARCHIVE)
# HRNet's data release, where its JSON and gt_valid.mat come from (not downloaded: a Google Drive).
HRNET_DATA = "https://github.com/leoxiaobin/deep-high-resolution-net.pytorch#data-preparation"


def manual_instructions() -> str:
    """What a manual directory may hold instead of each download, and where to get it: the
    builder's MANUAL_DOWNLOAD_INSTRUCTIONS, from the names `manual_dir` searches for."""

    def names(files: Sequence[str]) -> str:
        quoted = [f"`{name}`" for name in files]
        return " or ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 2 else quoted)

    files = manual_dir.ANNOTATION_FILES
    splits = [f"  - {split}: {names(files[split])}" for split in manual_dir.REQUIRED_SPLITS]
    test = manual_dir.TEST_SPLIT
    splits.append(f"  - optionally {test} (test persons without joints): {names(files[test])}")
    folders = ", ".join(f"`{folder}/`" for folder in manual_dir.ANNOTATION_DIRS if folder)
    annot = next(folder for folder in manual_dir.ANNOTATION_DIRS if folder)
    images = manual_dir.IMAGES_DIR
    split_lines = "\n".join(splits)
    return f"""\
Optional: what the manual directory (`--manual_dir`, by default
`<data_dir>/downloads/manual/`) holds is used instead of downloading it.

* `{images}/`: {IMAGES_ARCHIVE.what} (sha256 in checksums.tsv), from
  {IMAGES_ARCHIVE.url}
  unpacked in the manual directory; it creates `{images}/` with 24,984 JPEGs.
* The HRNet/mmpose JSON annotations, one entry per person; exactly one file per
  split (HRNet's names, then mmpose's `mpii_` ones):
{split_lines}
  HRNet's are in the `mpii/annot/` folder of its data release
  ({HRNET_DATA}),
  mmpose's in {JSON_ARCHIVE.url}.
  They may sit at the top of the manual directory or in one of
  {folders}.
* For PCKh evaluation, the validation head boxes, found like the JSON:
  {names(manual_dir.HEAD_BOX_FILES["validation"])} (HRNet's or mmpose's). Without them the
  validation `head_box` is NaN.
* Optional, for occlusion flags, activities and head boxes of all persons:
  `{manual_dir.OFFICIAL_FILE}`, found like the JSON, from
  {OFFICIAL_ARCHIVE.url}

What is missing is downloaded: the images archive above, and for the annotations
mmpose's {JSON_ARCHIVE.filename} with the official {OFFICIAL_ARCHIVE.filename}.

Layout example:
    manual_dir/{images}/000001163.jpg ...
    manual_dir/{annot}/{files["train"][0]}
    manual_dir/{annot}/{files["validation"][0]}
    manual_dir/{annot}/{manual_dir.HEAD_BOX_FILES["validation"][0]}
    manual_dir/{manual_dir.OFFICIAL_DIR}/{manual_dir.OFFICIAL_FILE}
"""


def archive_url(archive: Archive, mirror: str | None = None) -> str:
    """Where `archive` is fetched from: its official URL, or `mirror`/<file name>."""
    return f"{mirror.rstrip('/')}/{archive.filename}" if mirror else archive.url


def mirrored_url_infos(
    url_infos: Mapping[str, tfds_internals.UrlInfo], mirror: str | None
) -> dict[str, tfds_internals.UrlInfo]:
    """`url_infos` plus, for a mirror, each listed file under its mirror URL with the same checksum."""
    infos = dict(url_infos)
    if mirror:
        by_name = {info.filename: info for info in url_infos.values() if info.filename}
        for archive in ARCHIVES:
            if archive.filename in by_name:
                infos.setdefault(archive_url(archive, mirror), by_name[archive.filename])
    return infos


def fetch(
    dl_manager: tfds_internals.DownloadManager,
    manual: epath.Path | None,
    parts: Sequence[str],
    dataset: str,
    mirror: str | None = None,
    url_infos: Mapping[str, tfds_internals.UrlInfo] | None = None,
    remove_archive: bool = False,
) -> dict[str, epath.Path]:
    """Downloads and extracts the archives of the `parts` that `manual` lacks; returns their
    extracted folders by archive name.

    Images an earlier build extracted are used as they are, downloading nothing. Says first what
    is missing and what is downloaded instead; fails at once, naming what to put where, when a
    host cannot be resolved or refuses the connection. `url_infos` are the checksums the download
    manager verifies against (the builder's); `remove_archive` deletes the images archive once
    its images are extracted.
    """
    downloads_dir = epath.Path(dl_manager.download_dir)
    ready = {}
    for archive in ARCHIVES:
        if archive.part not in parts or tfds_internals.forces_download(dl_manager):
            continue
        if _was_extracted(downloads_dir, archive):
            ready[archive.filename] = folder = extracted_dir(downloads_dir, archive)
            _LOG.info("%s: using the images extracted in %s", archive.filename, folder)
            url = archive_url(archive, mirror)
            url_info = (url_infos or {}).get(url)
            if url_info is not None:
                tfds_internals.record_download(dl_manager, url, url_info)
    archives = [a for a in ARCHIVES if a.part in parts and a.filename not in ready]
    if not archives:
        return ready
    missing = _missing(manual, parts, downloads_dir)
    urls = [archive_url(archive, mirror) for archive in archives]
    unreachable = []
    for archive, url in zip(archives, urls, strict=True):
        try:
            check_reachable(url)
        except OSError as err:
            unreachable.append(f"cannot download {archive.filename} from {url}: {err}")
    if unreachable:
        where = manual or "there (or in a folder given as --manual_dir M)"
        raise DownloadError(
            "\n".join(unreachable) + f".\n{missing[0].upper()}{missing[1:]}.\n"
            f"Put the missing files {'in ' if manual else ''}{where}, or set {settings.MIRROR} to a "
            f"mirror that serves {_listed([archive.filename for archive in archives])}."
        )
    fetching = "; ".join(
        f"{a.filename} ({a.what}) from {url}" for a, url in zip(archives, urls, strict=True)
    )
    _LOG.warning("%s: downloading %s", missing, fetching)
    where_known = Cache(downloads_dir, dataset, manual, dict(url_infos or {}))
    return {
        **ready,
        **{
            archive.filename: _fetch_one(dl_manager, archive, url, where_known, remove_archive)
            for archive, url in zip(archives, urls, strict=True)
        },
    }


def extracted_dir(downloads_dir: epath.Path, archive: Archive) -> epath.Path:
    """Where the images archive is extracted (`archive_extract`), beside TFDS's extractions."""
    return downloads_dir / "extracted" / archive.filename.removesuffix(".tar.gz")


def _extracts_itself(downloads_dir: epath.Path, archive: Archive) -> bool:
    """Whether `archive` is extracted by `archive_extract` (the images, on this machine's
    disks) rather than by TFDS."""
    return archive is IMAGES_ARCHIVE and "://" not in os.fspath(downloads_dir)


def _was_extracted(downloads_dir: epath.Path, archive: Archive) -> bool:
    """Whether an earlier build extracted `archive` whole (the folder exists only then)."""
    if not _extracts_itself(downloads_dir, archive):
        return False
    folder = extracted_dir(downloads_dir, archive)
    try:
        archive.check(folder)
    except ManualDirError:
        return False
    return True


def _listed(names: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _missing(manual: epath.Path | None, parts: Sequence[str], downloads_dir: epath.Path) -> str:
    """What the manual directory lacks, in words."""
    if manual is None:
        return (
            f"there is no manual directory (by default {downloads_dir / 'manual'}) with "
            + " and ".join(manual_dir.describe_part(part) for part in parts)
        )
    has = [name for part, name in manual_dir.PARTS.items() if part not in parts]
    lacks = " nor ".join(manual_dir.describe_part(part) for part in parts)
    if has:
        return f"the manual directory {manual} has {' and '.join(has)} but no {lacks}"
    return f"the manual directory {manual} has neither {lacks}"


def check_reachable(url: str, timeout: float = _CONNECT_TIMEOUT_S) -> None:
    """Raises OSError when the host of an http(s) `url` (or its proxy) cannot be resolved or refuses
    connections, the failures that TFDS would retry for minutes. A slow host is left to TFDS."""
    target = urllib.parse.urlsplit(url)
    if target.scheme not in ("http", "https") or not target.hostname:
        return
    proxy = urllib.request.getproxies().get(target.scheme)
    if proxy and not urllib.request.proxy_bypass(target.hostname):
        target = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        socket.create_connection((target.hostname, port), timeout=timeout).close()
    except TimeoutError:
        pass


@dataclasses.dataclass(frozen=True)
class Cache:
    """Where TFDS's download manager looks for a file before downloading it, and the checksums
    it verifies against."""

    downloads_dir: epath.Path
    dataset: str
    manual: epath.Path | None
    url_infos: dict[str, tfds_internals.UrlInfo]

    def holds(self, url: str) -> bool:
        """Whether TFDS takes `url` from its cache or the manual directory, downloading nothing."""
        expected = self.url_infos.get(url)
        if expected is not None and expected.filename and self.manual is not None:
            if (self.manual / expected.filename).exists():
                return True
        folders = [self.downloads_dir / self.dataset, self.downloads_dir]  # TFDS's legacy folder
        if expected is not None:
            by_checksum = tfds_internals.get_dl_fname(url, expected.checksum)
            if any(tfds_internals.is_locally_cached(f / by_checksum) for f in folders):
                return True
        by_url = [folder / tfds_internals.get_dl_fname(url) for folder in folders]
        return any(self._current(path, expected) for path in by_url)

    @staticmethod
    def _current(path: epath.Path, expected: tfds_internals.UrlInfo | None) -> bool:
        """Whether TFDS takes the download at `path` (named by its URL): it is there with its
        .INFO, which matches the checksum when one is listed."""
        if not tfds_internals.is_locally_cached(path):
            return False
        return expected is None or tfds_internals.read_url_info(path) == expected

    def path(self, url: str) -> epath.Path:
        """Where TFDS keeps the download of `url` until its checksum is registered (then it
        renames it)."""
        return self.downloads_dir / self.dataset / tfds_internals.get_dl_fname(url)


def _fetch_one(
    dl_manager: tfds_internals.DownloadManager,
    archive: Archive,
    url: str,
    cache: Cache,
    remove_archive: bool = False,
) -> epath.Path:
    """Downloads and extracts one archive, checks what it holds; returns the extracted folder.

    A download stopped or broken off keeps its `.part` for the next run to resume; whatever else
    TFDS left (its temporary download and extraction folders) is removed. An archive without the
    expected content is deleted with its extraction, so that a rerun (e.g. after fixing a
    mirror) fetches it again. With `remove_archive`, the images archive is deleted once
    extracted and checked.
    """
    itself = _extracts_itself(cache.downloads_dir, archive)
    try:
        path = _downloaded(dl_manager, archive, url, cache)
        if itself:
            root = epath.Path(
                archive_extract.extract(
                    path,
                    extracted_dir(cache.downloads_dir, archive),
                    work_dir=cache.downloads_dir / cache.dataset,
                    name=archive.filename,
                )
            )
        else:
            root = epath.Path(dl_manager.extract(path))
    except BaseException as err:  # TFDS raises its own types, requests' and tarfile's
        build_lock.remove(build_lock.partial_downloads(cache.downloads_dir, cache.dataset))
        if not isinstance(err, Exception) or isinstance(err, DownloadError):
            raise
        raise DownloadError(
            f"downloading {url} failed: {err}\n"
            "Nothing partial was kept; run the build again to restart the download."
        ) from err
    try:
        archive.check(root)
    except ManualDirError as err:
        held = describe(root)
        build_lock.remove([root, path, tfds_internals.get_info_path(path)])
        raise DownloadError(
            f"{url} is not the expected {archive.filename}: {err}; it holds {held}. "
            "It was deleted: run the build again to download it anew."
        ) from None
    if itself and remove_archive:
        build_lock.remove([path, tfds_internals.get_info_path(path)])
        _LOG.warning("%s: its images are in %s; the archive was deleted", archive.filename, root)
    return root


def _downloaded(
    dl_manager: tfds_internals.DownloadManager, archive: Archive, url: str, cache: Cache
) -> epath.Path:
    """The downloaded archive, through TFDS's download manager: fetched resumably first into
    the place where the manager finds it (an http(s) URL, a local downloads folder), verified
    against its checksum, so that the manager records it as its own download."""
    if resumable_here(dl_manager, url, cache):
        _fetch_into_cache(dl_manager, archive, url, cache)
    return epath.Path(dl_manager.download(url))


def resumable_here(dl_manager: tfds_internals.DownloadManager, url: str, cache: Cache) -> bool:
    """Whether `url` is fetched resumably: an http(s) URL that TFDS does not hold already, into
    a downloads folder on this machine, unless TFDS is told to download everything again."""
    return (
        urllib.parse.urlsplit(url).scheme in ("http", "https")
        and "://" not in os.fspath(cache.downloads_dir)
        and not tfds_internals.forces_download(dl_manager)
        and not cache.holds(url)
    )


def _fetch_into_cache(
    dl_manager: tfds_internals.DownloadManager, archive: Archive, url: str, cache: Cache
) -> None:
    """Fetches `url` where TFDS keeps its downloads, with TFDS's .INFO record beside it; checked
    against the listed checksum unless checksums are being registered (TFDS records it then)."""
    target = pathlib.Path(os.fspath(cache.path(url)))
    target.parent.mkdir(parents=True, exist_ok=True)
    info = pathlib.Path(os.fspath(tfds_internals.get_info_path(epath.Path(target))))
    if target.exists():
        _LOG.warning("%s does not match its checksum any more: downloading it again", target)
    for stale in (target, info):  # a download TFDS would not take, or a record of none
        stale.unlink(missing_ok=True)
    expected = None if dl_manager.register_checksums else cache.url_infos.get(url)

    def record(url_info: tfds_internals.UrlInfo) -> None:
        """TFDS's record of the download, written before the file takes its name, as TFDS does."""
        tfds_internals.write_info_file(
            url=url,
            path=epath.Path(target),
            dataset_name=cache.dataset,
            original_fname=archive.filename,
            url_info=url_info,
        )

    fetched = resumable.fetch(url, target, expected, name=archive.filename, before_rename=record)
    if fetched.resumed_from:
        _LOG.warning(
            "%s: resumed at byte %d, %d bytes fetched by this run",
            archive.filename,
            fetched.resumed_from,
            fetched.transferred,
        )


def describe(root: epath.Path, limit: int = 8) -> str:
    """The first few entries of an extracted archive, for error messages."""
    if not root.is_dir():
        return "a single file"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    if not names:
        return "nothing"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
