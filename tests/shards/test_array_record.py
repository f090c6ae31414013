"""array_record from every engine: TFDS's bytes, counted before commit, random access through
`tfds.data_source`, and reading without TensorFlow. (The file format and its receipts, unit by
unit: test_array_record_files.py.)"""

import sys
from pathlib import Path

import pytest

from mpii_pose.base.errors import IncompleteBuildError
from mpii_pose.engines import EngineOptions, make_engine
from mpii_pose.engines.local_engine import LocalEngine
from mpii_pose.sources.manual_dir import SAMPLE_DIR
from tests.helpers import (
    BIN,
    DATASET,
    TFDS_WRITER_ENV,
    build,
    checked,
    digests,
    leftovers,
    read_json,
)

BEAM = "direct_num_workers=2,direct_running_mode=multi_processing"


@pytest.fixture(scope="session")
def array_reference(shard_data, tmp_path_factory) -> dict[str, str]:
    """sha256 of every file of `tfds build --file_format array_record` with TFDS's writer."""
    data_dir = tmp_path_factory.mktemp("array_reference")
    checked([BIN / "tfds", "build", "mpii_pose/per_person", "--imports", "mpii_pose", "--manual_dir", shard_data,
             "--data_dir", data_dir, "--file_format", "array_record"], env=TFDS_WRITER_ENV)  # fmt: skip
    return digests(data_dir)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, options", [("local", {}), ("ray", {}), ("beam", {"beam_pipeline_options": BEAM})]
)
def test_engines_write_the_bytes_of_tfds_build(
    name, options, shard_data, array_reference, tmp_path
):
    """Slow, even for the local engine: its reference is a `tfds build` process of its own. The
    fast tier checks the parts: the file is TFDS's for the same records (test_array_record_files),
    the records are TFDS's (the TFRecord builds of test_engines), the counts and record bytes are
    checked before commit (test_verify), and the local engine builds array_record in test_build,
    test_build_record and the training tests."""
    builder = build(
        shard_data,
        tmp_path,
        make_engine(name, EngineOptions(**options)),
        file_format="array_record",
    )
    assert digests(tmp_path) == array_reference
    shards = list((tmp_path / DATASET).glob("mpii_pose-train.array_record-*"))
    assert len(shards) == builder.info.splits["train"].num_shards == 64
    assert builder.info.file_format.value == "array_record"


class ReceiptLosingEngine(LocalEngine):
    """Writes every shard, then loses one shard's receipt, as a writer killed before it left one."""

    def run(self, tasks, progress):
        ran_on = super().run(tasks, progress)
        task = tasks[5]
        (Path(task.receipts_dir) / Path(task.path).name).unlink()
        return ran_on


def test_a_shard_without_its_receipt_was_not_finished(shard_data, tmp_path):
    with pytest.raises(IncompleteBuildError, match=r"split train: shard .*train.array_record-00005-of-00064 was not finished"):  # fmt: skip
        build(shard_data, tmp_path, ReceiptLosingEngine(), file_format="array_record")
    assert leftovers(tmp_path) == []


def test_data_source_reads_and_decodes_without_tensorflow(sample_array_record):
    data_dir = str(sample_array_record)  # `mpii-pose build --sample --file_format array_record`
    code = (
        "import sys, mpii_pose, tensorflow_datasets as tfds\n"
        f"source = tfds.data_source('mpii_pose', data_dir={data_dir!r}, split='validation')\n"
        "last = source[len(source) - 1]\n"
        "some = source.__getitems__([0, 2])\n"
        "print(len(source), last['image'].ndim, last['image'].shape[-1], last['joints'].dtype,"
        " len(some), 'tensorflow' in sys.modules)\n"
    )
    out = checked([sys.executable, "-c", code]).stdout.split()
    validation = len(read_json(SAMPLE_DIR / "valid.json"))
    assert out == [str(validation), "3", "3", "float64", "2", "False"]
