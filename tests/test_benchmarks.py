"""The benchmark harness runs and counts correctly (never that anything is fast)."""

import json
import re
import sys

import pytest
from PIL import Image

from mpii_pose.shards import tfrecord_files
from mpii_pose.sources.assembly import load_sources
from tests.helpers import REPO, checked

sys.path.insert(0, str(REPO / "benchmarks"))

import bench_extract  # noqa: E402
import bench_read  # noqa: E402
import bench_shards  # noqa: E402
from make_synthetic import make_synthetic  # noqa: E402


def test_synthetic_sets_are_deterministic_and_nested(tmp_path):
    small = make_synthetic(tmp_path / "a", 6, seed=3, processes=1)
    make_synthetic(tmp_path / "b", 9, seed=3, processes=2)
    for i in range(6):
        name = f"{i:09d}.jpg"
        assert (tmp_path / "a/images" / name).read_bytes() == (
            tmp_path / "b/images" / name
        ).read_bytes()
    entries = json.loads((tmp_path / "a/train.json").read_text())
    assert len(entries) == small["train.json"]
    with Image.open(tmp_path / "a/images" / entries[0]["image"]) as image:
        assert image.size == (1280, 720)


@pytest.mark.slow(seconds=70)
def test_quick_run_counts_every_contender(tmp_path):
    checked([sys.executable, REPO / "benchmarks/bench_shards.py", "--quick", "--quiet",
             "--work", tmp_path / "work", "--results", tmp_path / "results"])  # fmt: skip
    result = json.loads((tmp_path / "results/shards-6-configs.json").read_text())
    runs = {run["contender"]: run for run in result["runs"]}
    assert set(runs) == {
        "io-floor", "seed", "ray-data", "tfds", "tfds-beam", "local", "ray-1", "ray-2", "beam",
        "tfds-per-image", "local-per-image",
    }  # fmt: skip
    for run in result["runs"]:
        assert run["status"] == "ok", run
        assert run["examples"] == run["expected"] > 0
        assert run["wall_s"] > 0 and run["peak_pss_mb"] > 0 and run["output_mb"] > 0
    persons, images = runs["local"]["expected"], runs["local-per-image"]["expected"]
    assert persons == runs["local"]["persons"] > images  # 6 images, more persons
    assert runs["local-per-image"]["output_mb"] < runs["local"]["output_mb"]  # images stored once
    assert runs["ray-2"]["peak_rss_mb"] > runs["local"]["peak_rss_mb"]  # Ray's processes count
    assert "| local-per-image |" in (tmp_path / "results/shards-6-configs.md").read_text()
    assert (tmp_path / "results/shards-6-configs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_per_image_contenders_expect_one_example_per_annotated_image(tmp_path):
    entries = {"train.json": ["a.jpg", "a.jpg", "b.jpg"], "valid.json": ["c.jpg"],
               "test.json": ["d.jpg", "d.jpg"]}  # fmt: skip
    for name, images in entries.items():
        (tmp_path / name).write_text(json.dumps([{"image": image} for image in images]))
    assert bench_shards.expected_examples(tmp_path) == {"per_person": 6, "per_image": 4}
    (tmp_path / "test.json").unlink()  # a set without test files
    assert bench_shards.expected_examples(tmp_path) == {"per_person": 4, "per_image": 3}
    configs = {name: bench_shards.config_of(name) for name in bench_shards.contenders([2])}
    assert {name for name, config in configs.items() if config == "per_image"} == {
        "tfds-per-image", "local-per-image"
    }  # fmt: skip


def run(contender, status="ok", wall=1.0, examples=10):
    return {"contender": contender, "images": 5, "persons": 10, "round": 0, "status": status,
            "wall_s": wall, "cpu_s": wall, "peak_rss_mb": 100.0, "peak_pss_mb": 90.0,
            "output_mb": 5.0, "examples": examples}  # fmt: skip


def test_summary_marks_lost_runs_and_compares_to_existing_and_floor():
    result = {"sizes": [5], "runs": [
        run("io-floor", wall=0.5), run("tfds", wall=4.0), run("tfds", wall=6.0),
        run("seed", wall=8.0), run("tfds-beam", status="lost 3 of 10 examples", examples=7),
        run("ray-2", wall=2.0),
    ]}  # fmt: skip
    rows = {row["contender"]: row for row in bench_shards.summarise(result)}
    assert (
        rows["tfds-beam"]["status"] == "lost 3 of 10 examples" and "wall_s" not in rows["tfds-beam"]
    )
    assert rows["tfds"]["wall_s"] == 5.0 and (
        rows["tfds"]["wall_min_s"],
        rows["tfds"]["wall_max_s"],
    ) == (4.0, 6.0)
    assert rows["ray-2"]["vs_fastest_existing"] == 2.0 / 5.0
    assert rows["ray-2"]["vs_io_floor"] == 4.0
    assert rows["ray-2"]["persons_per_s"] == 5.0
    table = bench_shards.markdown(
        {"command": "x", "machine": bench_shards.machine(), "versions": {}}, list(rows.values())
    )
    assert "**lost 3 of 10 examples**" in table


def test_failed_and_short_runs_are_marked_not_timed(tmp_path):
    args = bench_shards.argparse.Namespace(work=tmp_path, timeout=60, memory_cap_mb=4000)
    crash = [sys.executable, "-c", "import sys; sys.exit('out of luck')"]
    failed = bench_shards.run_one("seed", lambda m, o: crash, tmp_path, 1, 3, 0, args)
    assert failed.status == "failed: exit 1: out of luck" and failed.examples == 0
    short = [sys.executable, "-c", "print(2)"]  # the floor reports its own count: 2 of 3
    lost = bench_shards.run_one("io-floor", lambda m, o: short, tmp_path, 1, 3, 0, args)
    assert lost.status == "lost 1 of 3 examples"
    images = bench_shards.run_one("io-floor", lambda m, o: short, tmp_path, 1, 3, 0, args, 2)
    assert images.status == "ok" and (images.persons, images.expected) == (3, 2)
    slow = [sys.executable, "-c", "import time; time.sleep(30)"]
    args.timeout = 1
    killed = bench_shards.run_one("tfds", lambda m, o: slow, tmp_path, 1, 3, 0, args)
    assert killed.status == "killed: timeout" and killed.wall_s < 10


def test_writer_microbenchmark_measures_both_on_the_same_persons(tmp_path):
    """One round: the floor, then the writer, whose shards hold every person."""
    checked([sys.executable, REPO / "benchmarks/bench_writer.py", "--images", "12",
             "--repeat", "1", "--work", tmp_path / "work", "--results", tmp_path / "results"])  # fmt: skip
    result = json.loads((tmp_path / "results/writer-12.json").read_text())
    assert result["persons"] > 0 and result["writer_over_floor"] > 0
    runs = {name: len(times) for name, times in result["cpu_ms_per_person"].items()}
    assert runs == {"io-floor": 1, "writer": 1}
    shards = sorted((tmp_path / "work/out").iterdir())
    assert sum(tfrecord_count(p) for p in shards) == result["persons"]
    assert "| io-floor | writer |" in (tmp_path / "results/writer-12.md").read_text()


def tfrecord_count(path) -> int:
    return tfrecord_files.count_records(path)[0]


@pytest.mark.slow(seconds=50)
def test_read_benchmark_quick_run_reads_with_every_contender(tmp_path):
    checked([sys.executable, REPO / "benchmarks/bench_read.py", "--quick", "--quiet",
             "--work", tmp_path / "work", "--results", tmp_path / "results"])  # fmt: skip
    result = json.loads((tmp_path / "results/read-12.json").read_text())
    assert {run["contender"] for run in result["runs"]} == set(bench_read.CONTENDERS)
    for run in result["runs"]:
        assert run["status"] == "ok", run
        assert run["examples"] >= 64 and run["loop_s"] > 0 and run["peak_pss_mb"] > 0
    grain = next(r for r in result["runs"] if r["contender"] == "grain+transforms")
    alone = next(r for r in result["runs"] if r["contender"] == "data_source+transforms")
    assert grain["peak_rss_mb"] > alone["peak_rss_mb"]  # Grain's workers are in the tree
    assert "| data_source+transforms |" in (tmp_path / "results/read-12.md").read_text()


def test_the_image_check_benchmark_counts_the_problems(manual_dir):
    first = json.loads((manual_dir / "train.json").read_text())[0]
    (manual_dir / "images" / first["image"]).unlink()
    args = [sys.executable, REPO / "benchmarks/bench_image_check.py", manual_dir, "--runs", "1"]
    result = checked([*args, "--cold", "--threads", "2"])
    lines = result.stdout.splitlines()
    sources = load_sources(manual_dir).values()
    images = {p.image for source in sources for p in source.persons}
    persons = sum(len(source.persons) for source in sources)
    assert lines[0] == f"{len(images)} distinct images, {persons} persons"
    assert re.fullmatch(r"find_image_problems \(one thread\), cold: [\d.]+ s, 1 problems", lines[1])
    assert re.fullmatch(r"image_problem, 2 threads, cold: [\d.]+ s, 1 problems", lines[2])


@pytest.mark.slow  # TFDS's extractor imports TensorFlow in its run
def test_extract_benchmark_quick_run_checks_every_contender_s_images(tmp_path):
    checked([sys.executable, REPO / "benchmarks/bench_extract.py", "--quick", "--quiet",
             "--work", tmp_path / "work", "--results", tmp_path / "results"])  # fmt: skip
    result = json.loads((tmp_path / "results/extract-6.json").read_text())
    assert {run["contender"] for run in result["runs"]} == set(bench_extract.contenders())
    archive_mb = result["runs"][0]["archive_mb"]
    for run in result["runs"]:
        assert run["status"] == "ok", run
        assert run["wall_s"] > 0 and run["peak_disk_mb"] >= archive_mb
    assert "| ours |" in (tmp_path / "results/extract-6.md").read_text()
    assert not (tmp_path / "work/runs").exists() or not any((tmp_path / "work/runs").iterdir())


def test_the_extract_benchmark_marks_lost_or_changed_images(tmp_path):
    (tmp_path / "out/images").mkdir(parents=True)
    (tmp_path / "out/images/a.jpg").write_bytes(b"a")
    sums = {"a.jpg": bench_extract.hashlib.md5(b"a").hexdigest()}
    assert bench_extract.check_output("tar", tmp_path / "out", sums) == "ok"
    assert bench_extract.check_output("tar", tmp_path / "out", {**sums, "b.jpg": "0"}).startswith(
        "lost 1"
    )
    assert bench_extract.check_output("tar", tmp_path / "out", {"a.jpg": "0"}) == "1 images differ"
