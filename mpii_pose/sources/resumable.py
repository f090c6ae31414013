"""Resumable HTTP downloads: a file is fetched into `<file>.part` beside it, with a sidecar saying
where it came from, so that a transfer broken off (a dropped connection, Ctrl-C, SIGTERM, a killed
process) continues from the bytes on disk with a range request.

A server that ignores ranges, or a file that changed on it (size, ETag or Last-Modified), restarts
the transfer from zero, saying why. The whole file is checked (size and sha256, TFDS's hashing)
before it takes its final name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import requests
import urllib3

from mpii_pose.base import tfds_internals
from mpii_pose.base.errors import DownloadError

_LOG = logging.getLogger(__name__)

PART_SUFFIX = ".part"  # not TFDS's ".tmp.<uuid>": what killed runs left is removed, this is kept
SIDECAR_SUFFIX = ".part.json"
RETRIES = 5  # consecutive failures without a byte gained, within one run
BACKOFF_S = 1.0  # the first wait before a retry; doubled at each failure, at most _MAX_WAIT_S
_MAX_WAIT_S = 30.0
_TIMEOUT_S = (10, 60)  # connect, read: a transfer that stalls a minute is retried
_CHUNK = 1 << 16
_SYNC_EVERY = 64 << 20  # bytes between fsyncs: a power cut loses at most this much of the part
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")
# A dropped or stalled connection: worth a retry (urllib3's while the body is read).
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,
)


@dataclasses.dataclass(frozen=True)
class Origin:
    """What a partial file is a part of: the URL, the whole file's size (when the server says)
    and the validators that tell whether the server's file is still the same."""

    url: str
    size: int | None
    etag: str | None
    last_modified: str | None

    def validator(self) -> str | None:
        """What If-Range sends: the ETag when it is strong (a weak one may not), else
        Last-Modified."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified

    def differences(self, other: Origin) -> list[str]:
        """How the server's file `other` differs from this one, in words."""
        fields = (("size", "size"), ("etag", "ETag"), ("last_modified", "Last-Modified"))
        return [
            f"{name} {getattr(self, field)} -> {getattr(other, field)}"
            for field, name in fields
            if getattr(self, field) is not None and getattr(self, field) != getattr(other, field)
        ]


@dataclasses.dataclass(frozen=True)
class Fetched:
    """A finished download: its size and sha256 (TFDS's UrlInfo), the bytes this run transferred,
    and the offset it started from (the bytes an earlier run had kept)."""

    url_info: Any
    transferred: int
    resumed_from: int


class _Restart(Exception):
    """The partial file cannot be continued: the transfer starts again from zero at once."""


class _ServerError(Exception):
    """The server answered with a 5xx status: retried as a dropped connection is."""


def part_paths(path: Path) -> tuple[Path, Path]:
    """The partial file of `path` and its sidecar."""
    return path.with_name(path.name + PART_SUFFIX), path.with_name(path.name + SIDECAR_SUFFIX)


def fetch(
    url: str,
    path: Path,
    expected: Any = None,
    *,
    name: str | None = None,
    retries: int = RETRIES,
    backoff: float = BACKOFF_S,
    before_rename: Callable[[Any], object] | None = None,
) -> Fetched:
    """Downloads `url` into `path`, continuing what an earlier run kept in its `.part`; checks it
    against `expected` (a UrlInfo: size and sha256) when given, then renames it into place.

    A dropped connection is retried (`retries` times in a row without progress, waiting
    `backoff` seconds, doubled each time), resuming each time. Whatever stops it keeps the bytes
    on disk for the next run. `name` is the file name recorded (default: the URL's);
    `before_rename` is called with the verified UrlInfo before the file takes its name (where
    TFDS writes its record of a download), so that a run killed in between loses nothing.
    """
    part, sidecar = part_paths(path)
    name = name or url.rsplit("/", 1)[-1]
    progress = _Progress(name)
    try:
        with requests.Session() as session:
            _transfer(_Transfer(session, url, part, sidecar, expected, progress), retries, backoff)
    except BaseException:
        kept = part.stat().st_size if part.exists() else 0
        if kept:
            _LOG.warning(
                "kept %d bytes of %s in %s: the next run resumes from there", kept, url, part
            )
        raise
    finally:
        progress.close()
    _LOG.info("checking the size and sha256 of %s", part)
    url_info = dataclasses.replace(tfds_internals.compute_url_info(part), filename=name)
    if expected is not None and url_info != expected:
        part.unlink()
        sidecar.unlink(missing_ok=True)
        raise DownloadError(
            f"downloading {url} failed: it does not match its checksum: expected "
            f"{expected.size} bytes, sha256 {expected.checksum}; got {url_info.size} bytes, sha256 "
            f"{url_info.checksum}. It was deleted: run the build again to download it anew."
        )
    if before_rename is not None:
        before_rename(url_info)
    os.replace(part, path)
    sidecar.unlink(missing_ok=True)
    return Fetched(url_info, progress.transferred, progress.started_at or 0)


@dataclasses.dataclass(frozen=True)
class _Transfer:
    """One download under way: where it comes from and goes, what it must be, its progress."""

    session: requests.Session
    url: str
    part: Path
    sidecar: Path
    expected: Any  # a UrlInfo, or None
    progress: _Progress


def _transfer(job: _Transfer, retries: int, backoff: float) -> None:
    """Requests the rest of the partial file until it is whole, retrying dropped connections."""
    url, part, sidecar, progress = job.url, job.part, job.sidecar, job.progress
    failures = 0
    while True:
        before = progress.transferred
        try:
            if _request_rest(job):
                return
            raise requests.ConnectionError("the connection closed before the end of the file")
        except _Restart as why:
            _LOG.warning("restarting the download of %s from zero: %s", url, why)
            part.unlink(missing_ok=True)
            sidecar.unlink(missing_ok=True)
            continue
        except (*_TRANSIENT, _ServerError) as err:
            failures = 1 if progress.transferred > before else failures + 1
            kept = part.stat().st_size if part.exists() else 0
            if failures > retries:
                raise DownloadError(
                    f"downloading {url} failed: {err} ({retries} retries without progress). "
                    f"The {kept} bytes downloaded are kept in {part}: run the build again to "
                    "resume."
                ) from err
            wait = min(backoff * 2 ** max(failures - 1, 0), _MAX_WAIT_S)
            _LOG.warning(
                "downloading %s broke off at byte %d (%s); resuming in %.0f s", url, kept, err, wait
            )
            time.sleep(wait)


def _request_rest(job: _Transfer) -> bool:
    """One request for what the partial file lacks (all of it when it cannot be continued),
    written as it arrives; True when the file is whole."""
    url, part, sidecar, expected = job.url, job.part, job.sidecar, job.expected
    origin = _read_origin(sidecar, url)
    have = part.stat().st_size if origin is not None and part.exists() else 0
    if origin is not None and origin.size is not None:
        if have == origin.size:
            return True  # whole: the earlier run stopped before renaming it
        if have > origin.size:
            raise _Restart(f"{part} holds {have} bytes, more than the file's {origin.size}")
    if origin is None and part.exists() and part.stat().st_size:
        _LOG.warning(
            "restarting the download of %s from zero: %s has no record of where it came from",
            url,
            part,
        )
    headers = {"Accept-Encoding": "identity"}  # the bytes as stored, so that ranges add up
    if have:
        assert origin is not None
        validator = origin.validator()
        if validator is None:
            raise _Restart("the server gave no ETag or Last-Modified to check the kept bytes")
        headers.update({"Range": f"bytes={have}-", "If-Range": validator})
    with job.session.get(url, headers=headers, stream=True, timeout=_TIMEOUT_S) as response:
        start, now = _answer(response, url, have, origin)
        if expected is not None and now.size is not None and now.size != expected.size:
            raise DownloadError(
                f"downloading {url} failed: the server's file has {now.size} bytes, the "
                f"checksum lists {expected.size}: it is not the expected file."
            )
        if start == 0:
            _write_origin(sidecar, now)
        job.progress.at(start, now.size)
        with part.open("r+b" if start else "wb") as out:
            out.seek(start)
            out.truncate()
            _copy(response, out, job.progress)
    return now.size is None or part.stat().st_size == now.size


def _answer(
    response: requests.Response, url: str, have: int, origin: Origin | None
) -> tuple[int, Origin]:
    """Where the response's body starts in the file, and what the file now is; raises
    `_Restart` when a range was asked for and cannot be used."""
    status = response.status_code
    if status >= 500:
        raise _ServerError(f"HTTP {status} {response.reason}")
    if status == 416 and have:
        raise _Restart(f"the server refuses the range from byte {have} (HTTP 416)")
    if status not in (200, 206):
        raise DownloadError(f"downloading {url} failed: HTTP {status} {response.reason}")
    etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    if status == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
        total = int(match[2]) if match and match[2] != "*" else None
        now = Origin(url, total, etag, modified)
        changes = origin.differences(now) if origin else []
        if not match or int(match[1]) != have or changes:
            reason = "; ".join(changes) or f"Content-Range {response.headers.get('Content-Range')}"
            raise _Restart(f"the server's answer does not continue the kept bytes ({reason})")
        return have, now
    length = response.headers.get("Content-Length")
    now = Origin(url, int(length) if length is not None else None, etag, modified)
    if have:
        assert origin is not None
        changes = origin.differences(now)
        _LOG.warning(
            "restarting the download of %s from zero: %s",
            url,
            f"the file changed on the server ({'; '.join(changes)})"
            if changes
            else "the server ignores range requests",
        )
    return 0, now


def _copy(response: requests.Response, out: IO[bytes], progress: _Progress) -> None:
    """Writes the body to `out` as it arrives (whatever has arrived, not whole chunks), flushed
    at once (a killed process keeps it) and synced to the disk now and then (a power cut keeps
    most of it)."""
    unsynced = 0
    try:
        while chunk := response.raw.read1(_CHUNK, decode_content=False):  # bytes as ranged
            out.write(chunk)
            out.flush()
            progress.update(len(chunk))
            unsynced += len(chunk)
            if unsynced >= _SYNC_EVERY:
                os.fsync(out.fileno())
                unsynced = 0
    finally:
        out.flush()
        os.fsync(out.fileno())


def _read_origin(sidecar: Path, url: str) -> Origin | None:
    """What the sidecar says the partial file is a part of; None when there is none, or it is
    of another URL or unreadable."""
    try:
        origin = Origin(**json.loads(sidecar.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return origin if origin.url == url else None


def _write_origin(sidecar: Path, origin: Origin) -> None:
    """Records what the partial file is a part of, atomically, before its first byte."""
    temporary = sidecar.with_name(sidecar.name + ".new")
    temporary.write_text(json.dumps(dataclasses.asdict(origin)))
    os.replace(temporary, sidecar)


class _Progress:
    """The bytes this run transferred, shown as a progress bar with rate and time left (TFDS's
    tqdm, so that `tfds.disable_progress_bar()` and `--quiet` hide it)."""

    def __init__(self, name: str):
        self.name, self.transferred = name, 0
        self.started_at: int | None = None  # the offset of the first request
        self._bar: Any = None

    def at(self, offset: int, total: int | None) -> None:
        """The transfer continues from `offset` of `total` bytes."""
        if self.started_at is None:
            self.started_at = offset
        if self._bar is None:
            self._bar = tfds_internals.byte_bar(f"Downloading {self.name}", total, offset)
        elif self._bar.n != offset or self._bar.total != total:
            self._bar.reset(total=total)
            self._bar.update(offset)

    def update(self, n: int) -> None:
        """`n` more bytes were written."""
        self.transferred += n
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        """Ends the bar, if it was shown."""
        if self._bar is not None:
            with contextlib.suppress(Exception):
                self._bar.close()
