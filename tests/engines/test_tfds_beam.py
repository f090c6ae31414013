"""`tfds build --beam_pipeline_options`: the project's Beam engine, and TFDS's own Beam writer
(`MPII_POSE_ENGINE=tfds`), checked like every other writer."""

import json

import pytest
import tensorflow as tf

from tests.helpers import BIN, DATASET, TFDS_WRITER_ENV, checked, digests

BEAM = "direct_num_workers=2,direct_running_mode=multi_processing"


def records(data_dir, split) -> list[bytes]:
    files = sorted((data_dir / DATASET).glob(f"mpii_pose-{split}.tfrecord-*"))
    return [r.numpy() for r in tf.data.TFRecordDataset([str(f) for f in files])]


def split_infos(data_dir) -> dict:
    info = json.loads((data_dir / DATASET / "dataset_info.json").read_text())
    return {split["name"]: split for split in info["splits"]}


@pytest.mark.slow
def test_beam_options_run_the_beam_engine_with_the_bytes_of_tfds_build(
    shard_data, reference, tmp_path
):
    result = checked([BIN / "tfds", "build", "mpii_pose/per_person", "--imports", "mpii_pose",
                      "--manual_dir", shard_data, "--data_dir", tmp_path,
                      "--beam_pipeline_options", BEAM])  # fmt: skip
    assert "with engine beam (Beam pipeline options given)" in result.stdout + result.stderr
    assert digests(tmp_path) == reference


@pytest.mark.slow(seconds=35)
def test_tfds_beam_writer_same_records_in_the_same_order_but_other_shard_files(
    shard_data, reference_dir, tmp_path
):
    checked([BIN / "tfds", "build", "mpii_pose/per_person", "--imports", "mpii_pose", "--manual_dir", shard_data,
             "--data_dir", tmp_path, "--beam_pipeline_options", BEAM], env=TFDS_WRITER_ENV)  # fmt: skip
    ours, theirs = split_infos(tmp_path), split_infos(reference_dir)
    for split in ("train", "validation"):
        assert records(tmp_path, split) == records(reference_dir, split)
        assert ours[split]["numBytes"] == theirs[split]["numBytes"]
        lengths = [int(n) for n in ours[split]["shardLengths"]]
        assert sum(lengths) == sum(int(n) for n in theirs[split]["shardLengths"])
        assert 0 not in lengths  # TFDS's Beam writer drops empty hash ranges
