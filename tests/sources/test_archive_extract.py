"""The images archive extracted in one pass: every file, nothing outside the target, never a
half-extracted target, a progress bar over the archive's bytes."""

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from etils import epath

from mpii_pose.base import build_lock
from mpii_pose.base.errors import DownloadError
from mpii_pose.sources import archive_extract
from mpii_pose.sources.archive_extract import UnsafeArchiveError, extract


def write_archive(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for info in members:
            tar.addfile(info, io.BytesIO(data[info.name]) if info.isfile() else None)
    return path


def file_member(name: str, data: dict[str, bytes], content: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    data[name] = content
    return info


def images_archive(path: Path, count: int = 5, size: int = 300_000) -> dict[str, bytes]:
    data: dict[str, bytes] = {}
    folder = tarfile.TarInfo("images")
    folder.type = tarfile.DIRTYPE
    members = [folder] + [
        file_member(f"images/{i:09d}.jpg", data, os.urandom(size)) for i in range(count)
    ]
    members.append(file_member("./images/x.jpg", data, b"x"))  # "." parts dropped
    write_archive(path, members, data)
    return {name.removeprefix("./"): content for name, content in data.items()}


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_every_member_is_written_under_the_target_and_progress_counts_the_archive(tmp_path, capsys):
    archive = tmp_path / "mpii_human_pose_v1.tar.gz"
    data = images_archive(archive)
    target = tmp_path / "extracted" / "mpii_human_pose_v1"
    assert extract(archive, target, work_dir=tmp_path / "work") == target
    assert files_under(target) == data
    assert list((tmp_path / "work").iterdir()) == []  # the temporary folder became the target
    bar = capsys.readouterr().err
    assert "Extracting mpii_human_pose_v1.tar.gz" in bar and "100%" in bar


@pytest.mark.parametrize(
    "name, kind, link",
    [
        ("../outside.jpg", tarfile.REGTYPE, ""),
        ("images/../../outside.jpg", tarfile.REGTYPE, ""),
        ("/tmp/absolute.jpg", tarfile.REGTYPE, ""),
        ("images/link.jpg", tarfile.SYMTYPE, "/etc/passwd"),
        ("images/link.jpg", tarfile.SYMTYPE, "../../outside.jpg"),
        ("images/hard.jpg", tarfile.LNKTYPE, "../outside.jpg"),
        ("images/fifo", tarfile.FIFOTYPE, ""),
    ],
)
def test_a_member_that_leaves_the_target_or_is_no_plain_file_is_refused(tmp_path, name, kind, link):
    data: dict[str, bytes] = {}
    good = file_member("images/000000001.jpg", data, b"jpeg")
    bad = tarfile.TarInfo(name)
    bad.type, bad.linkname = kind, link
    if kind == tarfile.REGTYPE:
        bad = file_member(name, data, b"evil")
    archive = write_archive(tmp_path / "a" / "x.tar.gz", [good, bad], data)
    root = tmp_path / "a" / "data"
    with pytest.raises(UnsafeArchiveError, match="nothing of it was kept") as info:
        extract(archive, root / "extracted")
    assert repr(name) in str(info.value)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["data", "x.tar.gz"]
    assert list(root.iterdir()) == []  # neither the target nor the temporary folder
    assert not (tmp_path / "outside.jpg").exists() and not Path("/tmp/absolute.jpg").exists()


def test_a_truncated_archive_leaves_no_target(tmp_path):
    archive = tmp_path / "x.tar.gz"
    images_archive(archive, count=3)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DownloadError, match=f"extracting {archive} failed"):
        extract(archive, tmp_path / "out" / "target")
    assert list((tmp_path / "out").iterdir()) == []


def test_ctrl_c_mid_extraction_leaves_no_target(tmp_path, monkeypatch):
    archive = tmp_path / "x.tar.gz"
    images_archive(archive, count=4)
    copied = []

    write = archive_extract._write_file

    def interrupted(path, data):
        if copied:
            raise KeyboardInterrupt
        copied.append(write(path, data))

    monkeypatch.setattr(archive_extract, "_write_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        extract(archive, tmp_path / "out" / "target")
    assert copied and list((tmp_path / "out").iterdir()) == []


KILLED = """
import os, signal, sys
from mpii_pose.sources import archive_extract
write = archive_extract._write_file
def killed(path, data):
    write(path, data)
    os.kill(os.getpid(), signal.SIGKILL)
archive_extract._write_file = killed
archive_extract.extract(sys.argv[1], sys.argv[2], work_dir=sys.argv[3])
"""


def test_a_killed_extraction_leaves_no_target_and_the_next_build_removes_what_it_left(tmp_path):
    """Extracting downloads into D/downloads/mpii_pose; a build removes stale partials there."""
    archive = tmp_path / "x.tar.gz"
    images_archive(archive, count=3)
    downloads = tmp_path / "downloads"
    (downloads / "mpii_pose").mkdir(parents=True)
    target = downloads / "extracted" / "mpii_human_pose_v1"
    done = subprocess.run(
        [sys.executable, "-c", KILLED, archive, target, downloads / "mpii_pose"], timeout=120
    )
    assert done.returncode == -9
    assert not target.exists()
    left = list((downloads / "mpii_pose").iterdir())
    assert len(left) == 1 and list(left[0].rglob("*.jpg"))  # one file written, then killed
    partial = build_lock.partial_downloads(epath.Path(downloads), "mpii_pose")
    assert [Path(p) for p in partial] == left


def test_extracting_again_replaces_the_target_whole(tmp_path):
    archive = tmp_path / "x.tar.gz"
    data = images_archive(archive, count=2)
    target = tmp_path / "out" / "target"
    (target / "images").mkdir(parents=True)
    (target / "images" / "stale.jpg").write_bytes(b"old")
    extract(archive, target)
    assert files_under(target) == data
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["target"]
