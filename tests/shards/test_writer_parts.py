"""The parts every engine shares: TFRecord framing, record counting, the plan, Beam options."""

import subprocess
import sys

import pytest
import tensorflow as tf
from tensorflow_datasets.core import hashing
from tensorflow_datasets.core.utils import shard_utils

from mpii_pose.engines.beam_engine import pipeline_flags
from mpii_pose.shards import tfrecord_files
from mpii_pose.shards.plan import plan_split, shard_tasks
from mpii_pose.sources.assembly import load_sources

RECORDS = [b"", b"x", bytes(range(256)) * 300]


@pytest.mark.parametrize("cuts", [(), (0,), (1, 1), (3, 70, 7000)])
def test_framing_is_byte_identical_to_tensorflows_writer(tmp_path, cuts):
    """Records given whole or in parts (cut at `cuts`, empty parts included) frame the same."""
    with tf.io.TFRecordWriter(str(tmp_path / "tf.tfrecord")) as writer:
        for record in RECORDS:
            writer.write(record)
    tfrecord_files.write_records(tmp_path / "ours.tfrecord", (in_parts(r, cuts) for r in RECORDS))
    assert (tmp_path / "ours.tfrecord").read_bytes() == (tmp_path / "tf.tfrecord").read_bytes()
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(tmp_path / "ours.tfrecord"))] == RECORDS


def in_parts(record: bytes, cuts: tuple[int, ...]) -> list[bytes | memoryview]:
    """`record` cut at `cuts` (clipped to its length), the odd parts as memoryviews."""
    bounds = [0, *(min(c, len(record)) for c in cuts), len(record)]
    parts = [record[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    return [memoryview(p) if i % 2 else p for i, p in enumerate(parts)]


def test_counting_reads_headers_and_catches_damage(tmp_path):
    path = tmp_path / "shard.tfrecord"
    tfrecord_files.write_records(path, [(r,) for r in RECORDS])
    assert tfrecord_files.count_records(path) == (3, sum(map(len, RECORDS)))
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(tfrecord_files.CorruptRecordFile, match="ends inside record 2"):
        tfrecord_files.count_records(path)
    path.write_bytes(data[:5])
    with pytest.raises(
        tfrecord_files.CorruptRecordFile, match="ends inside the header of record 0"
    ):
        tfrecord_files.count_records(path)
    path.write_bytes(b"\x07" + data[1:])
    with pytest.raises(
        tfrecord_files.CorruptRecordFile, match="length header of record 0 is corrupt"
    ):
        tfrecord_files.count_records(path)


def test_plan_follows_tfds_order_and_boundaries(shard_data):
    source = load_sources(shard_data)["train"]
    plan = plan_split(source, "per_person")
    hasher = hashing.Hasher(salt="train")
    hashes = [hasher.hash_key(p.annotation_index) for p in plan.records]
    assert hashes == sorted(hashes) and len(set(hashes)) == len(source.persons)
    assert {p.annotation_index for p in plan.records} == set(range(len(source.persons)))
    bounds = shard_utils.get_shard_boundaries(len(source.persons), 64)
    assert list(plan.shard_lengths) == [
        b - a for a, b in zip([0, *bounds[:-1]], bounds, strict=True)
    ]
    shards = plan.shards()
    assert sum(shards, ()) == plan.records and [len(s) for s in shards] == list(plan.shard_lengths)


def test_plan_caps_to_the_first_entries_and_the_shard_count(shard_data):
    source = load_sources(shard_data)["validation"]
    plan = plan_split(source, "per_person", max_examples=5)
    assert sorted(p.annotation_index for p in plan.records) == [0, 1, 2, 3, 4]
    assert plan.shard_lengths == (1, 1, 1, 1, 1)
    assert len(plan_split(source, "per_person", num_shards=2).shard_lengths) == 2


def test_tasks_carry_records_and_paths_not_images(shard_data):
    plan = plan_split(load_sources(shard_data)["validation"], "per_person")
    tasks = shard_tasks(plan, [f"/out/{i}" for i in range(8)])
    assert [t.path for t in tasks] == [f"/out/{i}" for i in range(8)]
    assert all(isinstance(t.images_dir, str) and not hasattr(t, "image") for t in tasks)
    assert tuple(p for t in tasks for p in t.records) == plan.records


def test_shard_writer_does_not_import_tensorflow(shard_data, tmp_path):
    code = f"""
import sys
from mpii_pose.sources.assembly import load_sources
from mpii_pose.shards.plan import plan_split, shard_tasks
from mpii_pose.shards.write import write_shard
plan = plan_split(load_sources({str(shard_data)!r})["validation"], "per_person")
task = shard_tasks(plan, [{str(tmp_path)!r} + f"/{{i}}" for i in range(8)])[0]
print(write_shard(task), "tensorflow" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[1] == "False"
    assert tfrecord_files.count_records(tmp_path / "0")[0] == int(out.stdout.split()[0]) > 0


@pytest.mark.parametrize(
    "options, flags",
    [
        (None, ["--runner=DirectRunner"]),
        ("direct_num_workers=2,direct_running_mode=multi_processing",
         ["--direct_num_workers=2", "--direct_running_mode=multi_processing", "--runner=DirectRunner"]),
        ("runner=FlinkRunner, parallelism=8", ["--runner=FlinkRunner", "--parallelism=8"]),
    ],
)  # fmt: skip
def test_beam_options_use_tfds_syntax_and_default_to_the_direct_runner(options, flags):
    assert pipeline_flags(options) == flags
