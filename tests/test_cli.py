"""The commands users run: `mpii-pose build`, `tfds build` both ways, and `import mpii_pose`."""

import sys

import pytest

from mpii_pose.cli import main
from mpii_pose.sample import SAMPLE_DIR
from tests.conftest import BIN, REPO, checked, digests, read_json, run, write_json


def test_import_loads_neither_tensorflow_nor_ray():
    code = (
        "import sys, mpii_pose, tensorflow_datasets as tfds; "
        "print('tensorflow' in sys.modules, 'ray' in sys.modules, "
        "'mpii_pose' in tfds.core.registered._DATASET_REGISTRY)"
    )
    assert checked([sys.executable, "-c", code]).stdout.split() == ["False", "False", "True"]


def test_every_entry_point_builds_the_same_bytes_run_after_run(tmp_path):
    """Four separate processes: protobuf's map order changes between processes unless handled."""
    manual = ["--manual_dir", SAMPLE_DIR]
    first = checked([BIN / "mpii-pose", "build", "--sample", "--data_dir", tmp_path / "a"])
    checked([BIN / "mpii-pose", "build", *manual, "--data_dir", tmp_path / "b", "--quiet"])
    checked(
        [
            BIN / "tfds",
            "build",
            "mpii_pose",
            "--imports",
            "mpii_pose",
            *manual,
            "--data_dir",
            tmp_path / "c",
        ]
    )
    checked([BIN / "tfds", "build", *manual, "--data_dir", tmp_path / "d"], cwd=REPO / "mpii_pose")
    reference = digests(tmp_path / "a")
    train, validation = (len(read_json(SAMPLE_DIR / f)) for f in ("train.json", "valid.json"))
    assert len(reference) == 2 + min(64, train) + min(8, validation)  # + dataset_info, features
    for other in "bcd":
        assert digests(tmp_path / other) == reference, other
    assert "train" in first.stdout and f"{tmp_path / 'a'}" in first.stdout


def test_existing_build_is_reported_not_clobbered_unless_overwrite(tmp_path):
    args = [
        BIN / "mpii-pose",
        "build",
        "--sample",
        "--data_dir",
        tmp_path,
        "--max_examples_per_split",
        "2",
    ]
    checked(args)
    shard = tmp_path / "mpii_pose" / "1.0.0" / "mpii_pose-train.tfrecord-00000-of-00002"
    shard.write_bytes(b"marker")
    again = checked(args)
    assert "already built" in again.stdout and shard.read_bytes() == b"marker"
    assert checked([*args, "--overwrite", "--quiet"]).stdout == ""
    assert shard.read_bytes() != b"marker"


def test_bad_input_exits_with_a_clear_message(manual_dir, tmp_path):
    entries = read_json(manual_dir / "train.json")
    entries[3]["joints"] = entries[3]["joints"][:15]
    write_json(manual_dir / "train.json", entries)
    result = run([BIN / "mpii-pose", "build", "--manual_dir", manual_dir, "--data_dir", tmp_path])
    assert result.returncode == 1
    assert (
        f"mpii-pose: error: {manual_dir / 'train.json'}, entry 3: 'joints' must be a list of 16"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_missing_manual_dir_prints_the_download_instructions(tmp_path, capsys):
    assert main(["build", "--manual_dir", str(tmp_path / "nope"), "--data_dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"manual directory {tmp_path / 'nope'} does not exist" in err
    assert "mpii_human_pose_v1.tar.gz" in err and "mpii_val.json" in err


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    text = capsys.readouterr().out
    options = ("--manual_dir", "--sample", "--data_dir", "--engine", "--workers", "--address",
               "--beam_pipeline_options", "--file_format", "--max_examples_per_split",
               "--overwrite", "--quiet")  # fmt: skip
    for option in options:
        assert option in text
    assert "annotations/" in text and "array_record" in text and "tfds.load" in text
    assert "RAY_ADDRESS" in text and "DirectRunner" in text
