"""Resumable downloads against a loopback HTTP server that cuts connections at chosen offsets,
one that ignores ranges, one whose file changes between runs, and a process killed mid-transfer."""

import hashlib
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import checksums

from mpii_pose.base.errors import DownloadError
from mpii_pose.sources import resumable
from tests.helpers import ENV, REPO
from tests.loopback_server import FileServer

NAME = "archive.tar.gz"
SIZE = 3 * 2**20 + 12345  # a few MB, not a multiple of the chunk size
MiB = 2**20


def content(seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(SIZE)


def url_info(data: bytes) -> checksums.UrlInfo:
    """The file's size and sha256 as checksums.tsv lists them."""
    return checksums.UrlInfo(
        size=len(data), checksum=hashlib.sha256(data).hexdigest(), filename=NAME
    )


@pytest.fixture
def server():
    served = FileServer({NAME: content()})
    yield served
    served.close()


@pytest.fixture
def no_range_server():
    served = FileServer({NAME: content()}, ranges=False)
    yield served
    served.close()


def fetch(server: FileServer, target: Path, expected=None, **options):
    return resumable.fetch(f"{server.url}/{NAME}", target, expected, backoff=0, **options)


def messages(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def stopped_at(server: FileServer, target: Path, offset: int) -> None:
    """A first run whose connection breaks at `offset`, with no retry: it fails, keeping the
    bytes before `offset` in the .part."""
    server.cuts[NAME] = [offset]
    with pytest.raises(DownloadError, match="run the build again to resume"):
        fetch(server, target, retries=0)
    part, sidecar = resumable.part_paths(target)
    assert part.stat().st_size == offset and sidecar.exists() and not target.exists()


def test_a_connection_cut_twice_is_resumed_within_the_run(server, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    target = tmp_path / NAME
    server.cuts[NAME] = [MiB, 5 * MiB // 2]
    fetched = fetch(server, target, url_info(server.files[NAME]))
    assert target.read_bytes() == server.files[NAME]
    assert [(r.range_start, r.status) for r in server.requests] == [
        (None, 200), (MiB, 206), (5 * MiB // 2, 206)
    ]  # fmt: skip
    assert [r.if_range for r in server.requests[1:]] == [server.etag(NAME)] * 2
    assert sum(r.sent for r in server.requests) == fetched.transferred == SIZE
    assert f"broke off at byte {MiB}" in messages(caplog)
    assert fetched.url_info == url_info(server.files[NAME]) and fetched.url_info.filename == NAME
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME]  # no .part, no sidecar


def test_the_next_run_fetches_only_what_the_last_one_did_not_keep(server, tmp_path, caplog):
    target = tmp_path / NAME
    stopped_at(server, target, 2 * MiB)
    server.requests.clear()
    fetched = fetch(server, target, url_info(server.files[NAME]))
    (request,) = server.requests
    assert (request.range_start, request.status, request.sent) == (2 * MiB, 206, SIZE - 2 * MiB)
    assert fetched.transferred == SIZE - 2 * MiB and fetched.resumed_from == 2 * MiB
    assert target.read_bytes() == server.files[NAME]
    assert "the next run resumes from there" in messages(caplog)


def test_a_run_stopped_after_the_last_byte_renames_it_without_a_request(server, tmp_path):
    """Stopped between the last byte and the rename (as TFDS's record of it is written): the next
    run verifies the whole .part and renames it, fetching nothing."""
    target = tmp_path / NAME

    def stop(url_info):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(server, target, before_rename=stop)
    assert resumable.part_paths(target)[0].stat().st_size == SIZE and not target.exists()
    server.requests.clear()
    recorded = []
    fetched = fetch(server, target, url_info(server.files[NAME]), before_rename=recorded.append)
    assert server.requests == [] and fetched.transferred == 0
    assert recorded == [url_info(server.files[NAME])]
    assert target.read_bytes() == server.files[NAME]


def test_a_server_that_ignores_ranges_restarts_from_zero_saying_so(
    no_range_server, tmp_path, caplog
):
    caplog.set_level(logging.WARNING)
    target = tmp_path / NAME
    stopped_at(no_range_server, target, MiB)
    no_range_server.requests.clear()
    fetched = fetch(no_range_server, target, url_info(no_range_server.files[NAME]))
    (request,) = no_range_server.requests
    assert (request.range_start, request.status, request.sent) == (MiB, 200, SIZE)
    assert fetched.transferred == SIZE
    assert target.read_bytes() == no_range_server.files[NAME]
    assert "restarting the download of" in messages(caplog)
    assert "the server ignores range requests" in messages(caplog)


def test_a_file_changed_on_the_server_restarts_from_zero_saying_how(server, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    target = tmp_path / NAME
    stopped_at(server, target, MiB)
    old_etag = server.etag(NAME)
    server.files[NAME] = content(seed=1)
    server.requests.clear()
    fetched = fetch(server, target)
    (request,) = server.requests
    assert (request.range_start, request.if_range, request.status) == (MiB, old_etag, 200)
    assert fetched.transferred == SIZE and target.read_bytes() == server.files[NAME]
    assert f"the file changed on the server (ETag {old_etag} -> {server.etag(NAME)}" in messages(
        caplog
    )


def test_a_part_longer_than_the_file_restarts_from_zero(server, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    target = tmp_path / NAME
    stopped_at(server, target, MiB)
    part, _ = resumable.part_paths(target)
    with part.open("ab") as out:  # as if the server's file had been larger
        out.write(bytes(SIZE))
    server.requests.clear()
    fetched = fetch(server, target)
    assert [(r.range_start, r.status) for r in server.requests] == [(None, 200)]
    assert fetched.transferred == SIZE and target.read_bytes() == server.files[NAME]
    assert f"more than the file's {SIZE}" in messages(caplog)


def test_a_range_the_server_refuses_restarts_from_zero(server, tmp_path, caplog):
    """A server's 416 (the file shrank, the ETag stayed): restart, not an error."""
    caplog.set_level(logging.WARNING)
    target = tmp_path / NAME
    stopped_at(server, target, 2 * MiB)
    same = server.etag(NAME)
    server.files[NAME] = server.files[NAME][:MiB]
    server.etag = lambda name: same  # a server whose ETag missed the change
    server.requests.clear()
    fetch(server, target)
    assert [(r.range_start, r.status) for r in server.requests] == [(2 * MiB, 416), (None, 200)]
    assert target.read_bytes() == server.files[NAME]
    assert "HTTP 416" in messages(caplog)


def test_a_checksum_mismatch_deletes_the_file_and_names_both_sums(server, tmp_path):
    target = tmp_path / NAME
    expected = url_info(content(seed=2))
    with pytest.raises(DownloadError) as info:
        fetch(server, target, expected)
    message = str(info.value)
    assert (
        expected.checksum in message and hashlib.sha256(server.files[NAME]).hexdigest() in message
    )
    assert "It was deleted: run the build again" in message
    assert list(tmp_path.iterdir()) == []


def test_a_file_of_another_size_than_listed_stops_before_it_is_downloaded(server, tmp_path):
    target = tmp_path / NAME
    expected = checksums.UrlInfo(size=SIZE + 1, checksum="0" * 64, filename=NAME)
    with pytest.raises(DownloadError, match=f"has {SIZE} bytes, the checksum lists {SIZE + 1}"):
        fetch(server, target, expected)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the sidecar


def test_retries_are_limited_when_no_byte_is_gained(server, tmp_path):
    target = tmp_path / NAME
    stopped_at(server, target, MiB)
    server.files = {}  # every request now fails (404 is not retried: another file name)
    server.httpd.shutdown()
    server.httpd.server_close()  # connections refused: retried, then given up
    with pytest.raises(DownloadError, match=r"\(2 retries without progress\)"):
        fetch(server, target, retries=2)
    part, _ = resumable.part_paths(target)
    assert part.stat().st_size == MiB


def test_the_progress_bar_shows_bytes_and_rate_unless_disabled(server, tmp_path, capsys):
    (tmp_path / "shown").mkdir()
    fetch(server, tmp_path / "shown" / NAME)
    shown = capsys.readouterr().err
    size = f"{SIZE / MiB:.2f}M"
    assert f"Downloading {NAME}: 100%" in shown and f"{size}/{size}" in shown and "B/s" in shown
    tfds.disable_progress_bar()
    try:
        (tmp_path / "quiet").mkdir()
        fetch(server, tmp_path / "quiet" / NAME)
    finally:
        tfds.enable_progress_bar()
    assert f"Downloading {NAME}" not in capsys.readouterr().err


_FETCH_IN_A_PROCESS = """
import sys
from pathlib import Path
from mpii_pose.sources import resumable
resumable.fetch(sys.argv[1], Path(sys.argv[2]))
"""


def test_a_process_killed_mid_transfer_is_resumed_by_the_next_run(server, tmp_path):
    target = tmp_path / NAME
    part, sidecar = resumable.part_paths(target)
    kept = 2 * MiB + 4321
    server.holds[NAME] = kept  # the server stops there; the process waits for more
    process = subprocess.Popen(
        [sys.executable, "-c", _FETCH_IN_A_PROCESS, f"{server.url}/{NAME}", str(target)],
        cwd=REPO,
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (part.exists() and part.stat().st_size >= kept):  # the bytes reached the disk
            assert process.poll() is None, process.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the .part never reached the held offset"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert part.stat().st_size == kept and sidecar.exists() and not target.exists()
    server.released.set()
    server.requests.clear()
    fetched = fetch(server, target, url_info(server.files[NAME]))
    (request,) = server.requests
    assert (request.range_start, request.status) == (kept, 206)
    assert request.sent == fetched.transferred == SIZE - kept
    assert target.read_bytes() == server.files[NAME]
