"""Every image a build uses is checked before anything is written: it is there and starts as an
image Pillow opens. All problems are reported at once, for every entry point and engine."""

import io
import os
import threading
from pathlib import Path

import pytest
import tensorflow_datasets as tfds
from etils import epath
from PIL import Image

from mpii_pose.base.errors import ImageError, ImagesError
from mpii_pose.engines import make_engine
from mpii_pose.sources.assembly import load_sources
from mpii_pose.sources.image_check import SHOWN, check_images, find_image_problems, image_problem
from tests.helpers import BIN, ENV, TFDS_WRITER_ENV, build, read_json, run, write_json


def encoded(fmt: str, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (24, 16), 90).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "TGA"])
def test_an_image_pillow_opens_passes_whatever_its_name(tmp_path, fmt):
    """TGA has no signature: Pillow's own identification (of the header) decides."""
    path = tmp_path / "image.jpg"
    path.write_bytes(encoded(fmt))
    assert image_problem(epath.Path(path)) is None


@pytest.mark.parametrize(
    "content, problem",
    [
        (None, "image file not found"),
        (b"", "an empty file, not an image"),
        (
            b"<!DOCTYPE html><title>404</title>",
            "not an image Pillow can identify (it starts with b'<!DOCTYPE html><')",
        ),
        (
            b"\x00" * 2000,
            "not an image Pillow can identify (it starts with b'" + r"\x00" * 16 + "')",
        ),
    ],
    ids=["missing", "empty", "html", "zeros"],
)
def test_a_file_that_is_no_image_is_named_for_what_it_is(tmp_path, content, problem):
    path = tmp_path / "image.jpg"
    if content is not None:
        path.write_bytes(content)
    assert image_problem(epath.Path(path)) == problem


def test_a_folder_in_place_of_an_image_is_named_as_one(tmp_path):
    assert image_problem(epath.Path(tmp_path)) == "a folder, not an image"


def test_a_named_pipe_is_left_to_the_writer_unread(tmp_path):
    """Opening it would wait for a writer, and reading it would take bytes the build needs."""
    pipe = tmp_path / "image.jpg"
    os.mkfifo(pipe)
    found = []
    checking = threading.Thread(target=lambda: found.append(image_problem(epath.Path(pipe))))
    checking.start()
    checking.join(timeout=30)
    if checking.is_alive():  # blocked opening the pipe: let it go before failing
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        checking.join(timeout=30)
    assert found == [None] and not checking.is_alive()


def test_the_odd_images_of_a_good_manual_dir_pass(shard_data):
    """Grayscale JPEGs and PNGs under a .jpg name are converted by the build: they are images."""
    sources = load_sources(shard_data).values()
    assert find_image_problems(sources) == []
    check_images(sources)


def break_images(manual: Path, count: int) -> list[tuple[Path, int]]:
    """Removes or replaces by text the first `count` distinct images of train.json (alternately);
    returns each with the entry that first uses it."""
    entries = read_json(manual / "train.json")
    first = {}
    for index, entry in enumerate(entries):
        first.setdefault(entry["image"], index)
    broken = []
    for n, (name, index) in enumerate(list(first.items())[:count]):
        path = manual / "images" / name
        if n % 2:
            path.write_text("not an image")
        else:
            path.unlink()
        broken.append((path, index))
    return broken


def test_every_problem_is_counted_and_the_first_ten_named_once_per_image(manual_dir):
    """One line per image, at its first entry, in annotation order, however many persons use it."""
    entries = read_json(manual_dir / "train.json")
    more = SHOWN + 2  # images that entries added at the end use, twice each, and that are missing
    added = [dict(entries[0], image=f"missing{n}.jpg") for n in range(more)]
    write_json(manual_dir / "train.json", entries + added + added)
    broken = break_images(manual_dir, 2)
    sources = load_sources(manual_dir).values()
    problems = find_image_problems(sources)
    assert [(p.image_path, p.index) for p in problems] == [(str(p), i) for p, i in broken] + [
        (str(manual_dir / "images" / f"missing{n}.jpg"), len(entries) + n) for n in range(more)
    ]
    with pytest.raises(ImagesError) as info:
        check_images(sources)
    lines = str(info.value).splitlines()
    assert lines[0] == (
        f"{2 + more} images that the annotations use are missing or not images; "
        "nothing was written:"
    )
    assert lines[1 : SHOWN + 1] == [f"  {p}" for p in problems[:SHOWN]]
    assert lines[SHOWN + 1 :] == [
        f"  ... and {2 + more - SHOWN} more",
        f"Put each one, as a JPEG (or another image Pillow opens), in {manual_dir / 'images'} "
        "(MPII's come in its images archive, mpii_human_pose_v1.tar.gz), or remove the entries "
        "that use it from the annotation file.",
    ]
    assert [str(p) for p in info.value.problems] == [str(p) for p in problems]
    assert (info.value.image_path, info.value.index) == (str(broken[0][0]), broken[0][1])


def test_a_capped_build_checks_only_the_images_it_keeps(manual_dir):
    entries = read_json(manual_dir / "train.json")
    last = manual_dir / "images" / entries[-1]["image"]
    last.unlink()
    first_users = [i for i, e in enumerate(entries) if e["image"] == entries[-1]["image"]]
    sources = load_sources(manual_dir).values()
    assert find_image_problems(sources, max_examples=first_users[0]) == []
    (problem,) = find_image_problems(sources, max_examples=first_users[0] + 1)
    assert (problem.image_path, problem.index) == (str(last), first_users[0])


@pytest.mark.parametrize("engine", ["local", "ray", "beam", "tfds"])
def test_every_engine_stops_before_writing_and_leaves_no_folder(manual_dir, tmp_path, engine):
    broken = break_images(manual_dir, 2)
    data_dir = tmp_path / "data"
    with pytest.raises(ImagesError) as info:
        build(manual_dir, data_dir, make_engine(engine))
    assert str(info.value).startswith("2 images that the annotations use are missing")
    assert all(f"{path} (used by {manual_dir / 'train.json'}, entry {index}): " in str(info.value)
               for path, index in broken)  # fmt: skip
    assert list(data_dir.iterdir()) == []  # no mpii_pose/, no downloads/


def test_tfds_load_reports_them_too(manual_dir, tmp_path):
    (path, index), = break_images(manual_dir, 1)  # fmt: skip
    config = tfds.download.DownloadConfig(manual_dir=str(manual_dir))
    with pytest.raises(ImageError, match="^1 image that the annotations use is missing"):
        tfds.load("mpii_pose", data_dir=str(tmp_path), split="train",
                  download_and_prepare_kwargs={"download_config": config})  # fmt: skip


def test_mpii_pose_build_prints_them_all_without_a_traceback(manual_dir, tmp_path):
    broken = break_images(manual_dir, 2)
    data_dir = tmp_path / "data"
    args = [BIN / "mpii-pose", "build", "--manual_dir", manual_dir, "--data_dir", data_dir]
    result = run(args, env=ENV)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "mpii-pose: error: 2 images that the annotations use are missing" in result.stderr
    for path, index in broken:
        assert f"{path} (used by {manual_dir / 'train.json'}, entry {index}): " in result.stderr
    assert "Traceback" not in result.stderr and list(data_dir.iterdir()) == []


@pytest.mark.slow  # a `tfds build` subprocess
def test_tfds_build_reports_them(manual_dir, tmp_path):
    (path, index), = break_images(manual_dir, 1)  # fmt: skip
    args = [BIN / "tfds", "build", "mpii_pose/per_person", "--imports", "mpii_pose", "--manual_dir",
            manual_dir, "--data_dir", tmp_path / "data"]  # fmt: skip
    result = run(args, env=TFDS_WRITER_ENV)
    assert result.returncode != 0
    assert f"{path} (used by {manual_dir / 'train.json'}, entry {index}): image file not found" in (
        result.stderr
    )
    assert list((tmp_path / "data").iterdir()) == []


def test_a_capped_per_image_build_checks_the_images_it_keeps(manual_dir):
    """A capped per_image build keeps the first images, which can be more than the first persons
    use: each of them is checked, at the first entry that lists it."""
    sources = load_sources(manual_dir, per_image=True)
    train = sources["train"]
    kept = 2
    record = train.images[kept - 1]
    assert record.image not in {p.image for p in train.persons[:kept]}  # what persons[:2] miss
    path = manual_dir / "images" / record.image
    path.unlink()
    (problem,) = find_image_problems(sources.values(), max_examples=kept)
    assert (problem.image_path, problem.index) == (str(path), record.first_listed.annotation_index)
    assert problem.annotation_path == record.annotation_file
    assert find_image_problems(sources.values(), max_examples=kept - 1) == []
