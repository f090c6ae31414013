"""Zero-touch builds through TFDS's real download manager, against a loopback HTTP server.

The server serves small archives in the official layouts (the images tar.gz with `images/`, mmpose's
tar with `annotations/`, the official annotations zip) with range requests, can corrupt a file, cut
or hold the connection mid-file, and logs requests (tests/loopback_server.py). `MPII_POSE_MIRROR`
points the builder at it; `MPII_POSE_CHECKSUMS` at a checksums file for its files.
"""

import hashlib
import io
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import tensorflow_datasets as tfds
from etils import epath
from tensorflow_datasets.core.download import checksums, resource

import mpii_pose
from mpii_pose.base.errors import DownloadError
from mpii_pose.base.settings import CHECKSUMS as CHECKSUMS_ENV
from mpii_pose.base.settings import MIRROR as MIRROR_ENV
from mpii_pose.sample import OFFICIAL_PATH, write_sample
from mpii_pose.sources import manual_dir
from mpii_pose.sources.build_record import read_build
from mpii_pose.sources.downloads import ARCHIVES, Cache, mirrored_url_infos, resumable_here
from mpii_pose.sources.resumable import part_paths
from tests.helpers import (
    BIN,
    DATASET,
    DATASET_DIR,
    ENV,
    build,
    checked,
    interruptible,
    leftovers,
    read_json,
)
from tests.loopback_server import FileServer

IMAGES, ANNOTATIONS, OFFICIAL = (archive.filename for archive in ARCHIVES)


def tar_of(files: dict[str, bytes], mode: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def official_archives(sample: Path) -> dict[str, bytes]:
    """The sample as the downloads: images/ in a tar.gz, mmpose's annotations/ in a tar, and the
    official .mat in a zip."""
    images = {f"images/{p.name}": p.read_bytes() for p in sorted((sample / "images").iterdir())}
    annotations = {
        "annotations/mpii_train.json": (sample / "train.json").read_bytes(),
        "annotations/mpii_val.json": (sample / "valid.json").read_bytes(),
        "annotations/mpii_test.json": (sample / "test.json").read_bytes(),
        "annotations/mpii_gt_val.mat": (sample / "gt_valid.mat").read_bytes(),
    }
    official = io.BytesIO()
    with zipfile.ZipFile(official, "w") as archive:
        archive.writestr(OFFICIAL_PATH, (sample / OFFICIAL_PATH).read_bytes())
    return {
        IMAGES: tar_of(images, "w:gz"),
        ANNOTATIONS: tar_of(annotations, "w"),
        OFFICIAL: official.getvalue(),
    }


class Server(FileServer):
    """The loopback server of the archives, which writes a checksums file for them."""

    def checksums_file(self, path: Path, names=(IMAGES, ANNOTATIONS, OFFICIAL)) -> Path:
        """A checksums.tsv registering the served files (as they are now) under their URLs."""
        lines = [
            f"{self.url}/{name}\t{len(self.files[name])}\t"
            f"{hashlib.sha256(self.files[name]).hexdigest()}\t{name}"
            for name in names
        ]
        path.write_text("# test checksums\n" + "\n".join(lines) + "\n")
        return path


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return write_sample(tmp_path_factory.mktemp("downloads") / "sample", 8, 3, seed=7)


@pytest.fixture
def server(sample, tmp_path, monkeypatch):
    served = Server(official_archives(sample))
    monkeypatch.setenv(MIRROR_ENV, served.url)
    monkeypatch.setenv(CHECKSUMS_ENV, str(served.checksums_file(tmp_path / "checksums.tsv")))
    yield served
    served.close()


@pytest.fixture(scope="module")
def manual_build(sample, tmp_path_factory) -> dict[str, bytes]:
    """The shard files of a build from the same data as a manual directory."""
    data_dir = tmp_path_factory.mktemp("manual_build")
    build(sample, data_dir)
    return shards(data_dir)


def shards(data_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((data_dir / DATASET).glob("*.tfrecord*"))}


def partial_files(data_dir: Path) -> list[str]:
    """What an interrupted download or extraction would leave in TFDS's downloads folder."""
    downloads = data_dir / "downloads"
    return sorted(
        str(p.relative_to(downloads))
        for p in downloads.rglob("*")
        if ".tmp." in p.name or p.name.startswith("incomplete.")
    )


def test_tfds_load_downloads_everything_and_builds_what_a_manual_dir_builds(
    server, sample, tmp_path, manual_build
):
    ds = tfds.load("mpii_pose", data_dir=str(tmp_path), split="validation")
    assert len(list(ds)) == len(read_json(sample / "valid.json"))
    assert sorted(server.names()) == sorted([IMAGES, ANNOTATIONS, OFFICIAL])
    assert shards(tmp_path) == manual_build
    builder = tfds.builder("mpii_pose", data_dir=str(tmp_path))
    assert builder.info.download_size == sum(len(data) for data in server.files.values())
    # The build records each input by the archive it came from, not by URL or folder.
    record = read_build(tmp_path / DATASET)
    origins = {s.role: s.origin for s in record.sources}
    assert origins["images"] == f"download {IMAGES}"
    assert origins["train annotations"] == f"download {ANNOTATIONS}"
    assert set(origins.values()) <= {f"download {archive.filename}" for archive in ARCHIVES}
    metadata = (tmp_path / DATASET / "metadata.json").read_text()
    assert server.url.split("//")[1] not in metadata and str(tmp_path) not in metadata


@pytest.mark.slow  # a `tfds build` subprocess; the in-process tests cover downloads
def test_manual_data_wins_and_only_the_rest_is_downloaded(server, sample, tmp_path):
    images_only = tmp_path / "manual"
    shutil.copytree(sample / "images", images_only / "images")
    env = {**ENV, MIRROR_ENV: server.url, CHECKSUMS_ENV: str(tmp_path / "checksums.tsv")}
    checked(
        [BIN / "tfds", "build", "mpii_pose/per_person", "--imports", "mpii_pose",
         "--manual_dir", images_only, "--data_dir", tmp_path / "data"],
        env=env,
    )  # fmt: skip
    assert server.names() == [ANNOTATIONS, OFFICIAL]
    server.requests.clear()
    build(sample, tmp_path / "complete")  # images and annotations by hand: nothing to fetch
    assert server.names() == []


def test_a_checksum_mismatch_names_the_file_and_both_sums(server, tmp_path):
    expected = hashlib.sha256(server.files[IMAGES]).hexdigest()
    server.files[IMAGES] = server.files[IMAGES][:-10] + b"0123456789"
    actual = hashlib.sha256(server.files[IMAGES]).hexdigest()
    with pytest.raises(DownloadError) as info:
        mpii_pose.Builder(data_dir=str(tmp_path)).download_and_prepare()
    message = str(info.value)
    assert f"{server.url}/{IMAGES}" in message and expected in message and actual in message
    assert "run the build again" in message
    assert leftovers(tmp_path) == [] and partial_files(tmp_path) == []
    assert not list((tmp_path / "downloads").rglob("*.tar.gz"))  # the bad file is not kept


def test_a_dropped_connection_is_resumed_where_it_broke_off(server, tmp_path, manual_build, caplog):
    half = len(server.files[IMAGES]) // 2
    server.cuts[IMAGES] = [half]
    mpii_pose.Builder(data_dir=str(tmp_path)).download_and_prepare()
    assert shards(tmp_path) == manual_build
    first, second = server.of(IMAGES)
    assert (first.status, first.sent) == (200, half)
    assert (second.range_start, second.status) == (half, 206)
    assert second.sent == len(server.files[IMAGES]) - half
    assert f"broke off at byte {half}" in caplog.text
    # Named and recorded as TFDS's download manager names and records its downloads, and taken
    # by it: a build with the same downloads folder fetches nothing.
    tfds_names = [
        resource.get_dl_fname(f"{server.url}/{name}", hashlib.sha256(data).hexdigest())
        for name, data in server.files.items()
    ]
    assert sorted(p.name for p in (tmp_path / "downloads" / "mpii_pose").iterdir()) == sorted(
        [*tfds_names, *(f"{name}.INFO" for name in tfds_names)]
    )  # no .part, no sidecar
    server.requests.clear()
    builder = mpii_pose.Builder(data_dir=str(tmp_path / "again"))
    builder.download_and_prepare(download_dir=str(tmp_path / "downloads"))
    assert server.names() == []
    assert builder.info.download_size == sum(len(data) for data in server.files.values())


def downloaded_archives(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "downloads").rglob("*.tar.gz") if p.is_file())


def test_the_images_archive_is_kept_and_extracted_once_for_every_later_build(
    server, sample, tmp_path, manual_build
):
    mpii_pose.Builder(data_dir=str(tmp_path)).download_and_prepare()
    assert shards(tmp_path) == manual_build
    extracted = tmp_path / "downloads" / "extracted" / "mpii_human_pose_v1" / "images"
    assert sorted(p.name for p in extracted.iterdir()) == sorted(
        p.name for p in (sample / "images").iterdir()
    )
    assert len(downloaded_archives(tmp_path)) == 1  # kept: extracting again needs no download
    assert partial_files(tmp_path) == []


def test_remove_archive_deletes_it_once_extracted_and_later_builds_download_nothing(
    server, tmp_path, manual_build, caplog
):
    mpii_pose.Builder(data_dir=str(tmp_path), remove_archive=True).download_and_prepare()
    assert shards(tmp_path) == manual_build
    assert downloaded_archives(tmp_path) == []
    assert not list((tmp_path / "downloads" / "mpii_pose").glob("*tar.gz*"))  # nor its .INFO
    assert f"{IMAGES}: its images are in" in caplog.text
    server.requests.clear()
    builder = mpii_pose.Builder(data_dir=str(tmp_path / "again"))
    builder.download_and_prepare(download_dir=str(tmp_path / "downloads"))
    assert server.names() == []
    assert shards(tmp_path / "again") == manual_build


def test_mpii_pose_remove_archive_is_the_default_of_remove_archive(monkeypatch, tmp_path):
    monkeypatch.setenv("MPII_POSE_REMOVE_ARCHIVE", "1")
    assert mpii_pose.Builder(data_dir=str(tmp_path)).remove_archive
    assert not mpii_pose.Builder(data_dir=str(tmp_path), remove_archive=False).remove_archive
    monkeypatch.delenv("MPII_POSE_REMOVE_ARCHIVE")
    assert not mpii_pose.Builder(data_dir=str(tmp_path)).remove_archive


def test_an_archive_without_images_says_what_it_holds(server, tmp_path):
    server.files[IMAGES] = tar_of({"pictures/1.jpg": b"x", "README": b"y"}, "w:gz")
    server.checksums_file(tmp_path / "checksums.tsv")
    with pytest.raises(DownloadError) as info:
        mpii_pose.Builder(data_dir=str(tmp_path)).download_and_prepare()
    message = str(info.value)
    assert f"{server.url}/{IMAGES}" in message and "no images/ folder" in message
    assert "it holds README, pictures/" in message
    assert leftovers(tmp_path) == []


def test_an_unverified_archive_without_json_is_deleted_so_a_rerun_fetches_it_anew(
    server, sample, tmp_path, manual_build
):
    server.checksums_file(tmp_path / "checksums.tsv", names=(IMAGES, OFFICIAL))  # as mmpose's
    server.files[ANNOTATIONS] = tar_of({"annotations/mpii_test.json": b"[]"}, "w")
    with pytest.raises(DownloadError, match=r"no train annotations.*; it holds annotations/"):
        mpii_pose.Builder(data_dir=str(tmp_path)).download_and_prepare()
    server.files[ANNOTATIONS] = official_archives(sample)[ANNOTATIONS]  # the mirror is fixed
    mpii_pose.Builder(data_dir=str(tmp_path)).download_and_prepare()
    assert shards(tmp_path) == manual_build
    assert server.names().count(ANNOTATIONS) == 2


@pytest.mark.slow  # a `tfds build` subprocess; the in-process tests cover downloads
def test_register_checksums_records_the_unpublished_annotations(server, tmp_path):
    registered = server.checksums_file(tmp_path / "checksums.tsv", names=(IMAGES,))
    env = {**ENV, MIRROR_ENV: server.url, CHECKSUMS_ENV: str(registered)}
    checked(
        [BIN / "tfds", "build", "mpii_pose/per_person", "--imports", "mpii_pose",
         "--data_dir", tmp_path / "data", "--register_checksums"],
        env=env,
    )  # fmt: skip
    infos = checksums.load_url_infos(registered)
    sha = hashlib.sha256(server.files[ANNOTATIONS]).hexdigest()
    assert infos[f"{server.url}/{ANNOTATIONS}"].checksum == sha
    assert infos[f"{server.url}/{IMAGES}"].size == len(server.files[IMAGES])


def test_what_tfds_downloads_itself_is_not_fetched_resumably(tmp_path):
    """Resumable: an http(s) URL into a local downloads folder; not a bucket mirror, not a
    bucket downloads folder, not when TFDS is told to download everything again."""
    url = f"https://mirror.example/{IMAGES}"

    def resumable(url, downloads_dir=tmp_path, **options):
        manager = tfds.download.DownloadManager(download_dir=tmp_path, **options)
        return resumable_here(manager, url, Cache(epath.Path(downloads_dir), "mpii_pose", None, {}))

    assert resumable(url) and resumable(url.replace("https", "http"))
    assert not resumable(f"gs://bucket/mpii/{IMAGES}")
    assert not resumable(url, downloads_dir="gs://bucket/downloads")
    assert not resumable(url, force_download=True)


def test_a_mirror_is_verified_against_the_official_checksums():
    official = checksums.load_url_infos(Path(mpii_pose.__file__).parent / "checksums.tsv")
    infos = mirrored_url_infos(official, "https://mirror.example/mpii/")
    images = next(a for a in ARCHIVES if a.filename == IMAGES)
    assert infos[f"https://mirror.example/mpii/{IMAGES}"] == official[images.url]
    assert f"https://mirror.example/mpii/{ANNOTATIONS}" not in infos  # no published checksum
    assert mirrored_url_infos(official, None) == official


def test_what_a_killed_run_left_is_removed_before_downloading(
    server, tmp_path, manual_build, caplog
):
    downloads = tmp_path / "downloads"
    extracting = f"x_{IMAGES}"  # downloaded, then killed while extracting
    stale = [  # the temporary folders of TFDS's downloads, extractions and builds
        downloads / "mpii_pose" / f"x_{IMAGES}.tmp.{'a' * 32}",
        downloads / "extracted" / f"incomplete.{'b' * 32}_TAR_GZ.{extracting}",
        tmp_path / DATASET_DIR / "incomplete.0P4HUC_1.0.0",
    ]
    another_datasets = downloads / "extracted" / f"incomplete.{'d' * 32}_TAR.other.tar"
    for folder in [*stale, another_datasets]:
        (folder / "images").mkdir(parents=True)
        (folder / "images" / "1.jpg").write_bytes(b"partial")
    (downloads / "mpii_pose" / extracting).write_bytes(b"downloaded")
    mpii_pose.Builder(data_dir=str(tmp_path)).download_and_prepare()
    assert partial_files(tmp_path) == [str(another_datasets.relative_to(downloads))]
    assert not any(folder.exists() for folder in stale)
    assert shards(tmp_path) == manual_build
    (notice,) = [
        r.getMessage() for r in caplog.records if "interrupted earlier run" in r.getMessage()
    ]
    assert all(str(folder) in notice for folder in stale)


def closed_port() -> int:
    """A loopback port that nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("host", ["refusing", "unresolvable"])
def test_an_unreachable_host_fails_at_once_naming_what_to_put_where(
    sample, tmp_path, monkeypatch, caplog, host
):
    """No minutes of retries: the error names the missing files, where they go, and the URLs;
    it says once what the manual directory lacks (no notice of downloads that do not happen)."""
    images_only = tmp_path / "manual"
    shutil.copytree(sample / "images", images_only / "images")
    address = f"127.0.0.1:{closed_port()}" if host == "refusing" else "mpii-mirror.invalid"
    monkeypatch.setenv(MIRROR_ENV, f"http://{address}/mpii")
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        build(images_only, tmp_path / "data")
    assert time.monotonic() - start < 30
    message = str(info.value)
    for name in (ANNOTATIONS, OFFICIAL):
        assert f"cannot download {name} from http://{address}/mpii/{name}: " in message
    assert message.count("has images/ but no annotations") == 1
    assert f"The manual directory {images_only} has images/ but no annotations" in message
    assert "train.json" in message and "mpii_val.json" in message
    assert message.endswith(f"Put the missing files in {images_only}, or set {MIRROR_ENV} to "
                            f"a mirror that serves {ANNOTATIONS} and {OFFICIAL}.")  # fmt: skip
    assert not [r for r in caplog.records if "downloading" in r.getMessage()]
    assert list((tmp_path / "data").iterdir()) == []  # no downloads/, no mpii_pose/


def test_offline_without_a_manual_dir_names_every_file_for_the_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, "http://mpii-mirror.invalid/mpii")
    data_dir = tmp_path / "data"
    with pytest.raises(DownloadError) as info:
        mpii_pose.Builder(data_dir=str(data_dir)).download_and_prepare()
    message = str(info.value)
    assert message.count("no manual directory") == 1
    assert (
        f"There is no manual directory (by default {data_dir / 'downloads' / 'manual'}) with "
        "images/ (the MPII JPEGs) and annotations (train.json/mpii_train.json" in message
    )
    assert message.endswith(
        "Put the missing files there (or in a folder given as --manual_dir M), or set "
        f"{MIRROR_ENV} to a mirror that serves {IMAGES}, {ANNOTATIONS} and {OFFICIAL}."
    )
    assert list(data_dir.iterdir()) == []


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_build_stopped_mid_download_keeps_the_part_and_the_next_resumes_it(
    server, tmp_path, manual_build, signum, code
):
    held = len(server.files[IMAGES]) // 2
    server.holds[IMAGES] = held
    env = {**ENV, MIRROR_ENV: server.url, CHECKSUMS_ENV: str(tmp_path / "checksums.tsv")}
    data_dir = tmp_path / "data"
    args = [BIN / "mpii-pose", "build", "--data_dir", data_dir]
    process = subprocess.Popen(interruptible(args), env=env, stderr=subprocess.PIPE, text=True)
    assert server.held.wait(timeout=120), process.communicate(timeout=60)[1][-3000:]
    downloaded = data_dir / "downloads" / "mpii_pose"
    deadline = time.monotonic() + 60
    while not [p for p in downloaded.glob("*.part") if p.stat().st_size == held]:
        assert time.monotonic() < deadline, list(downloaded.iterdir())
        time.sleep(0.05)  # polls for the bytes the server sent to reach the disk
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr[-3000:]
    assert "nothing was left half-written" in stderr
    assert f"kept {held} bytes of {server.url}/{IMAGES}" in stderr
    (part,) = downloaded.glob("*.part")
    assert part.stat().st_size == held and partial_files(data_dir) == []
    assert leftovers(data_dir) == []
    server.released.set()
    server.requests.clear()
    mpii_pose.Builder(data_dir=str(data_dir)).download_and_prepare()
    assert shards(data_dir) == manual_build
    (resumed,) = server.of(IMAGES)
    assert (resumed.range_start, resumed.status) == (held, 206)
    assert resumed.sent == len(server.files[IMAGES]) - held
    assert not part.exists() and not part_paths(part.with_suffix(""))[1].exists()


def test_the_manual_instructions_name_every_file_folder_and_archive_a_build_uses():
    """TFDS shows them when a manual directory is missing; they are built from what a build
    searches for, so they cannot fall behind it."""
    text = mpii_pose.Builder.MANUAL_DOWNLOAD_INSTRUCTIONS
    files = [name for names in manual_dir.ANNOTATION_FILES.values() for name in names]
    files += [name for names in manual_dir.HEAD_BOX_FILES.values() for name in names]
    for name in (*files, manual_dir.OFFICIAL_FILE, f"{manual_dir.IMAGES_DIR}/"):
        assert f"`{name}`" in text
    for folder in manual_dir.ANNOTATION_DIRS[1:]:
        assert f"`{folder}/`" in text
    for archive in ARCHIVES:
        assert archive.url in text and archive.filename in text
