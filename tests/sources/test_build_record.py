"""What a build says of itself: its inputs and cap in metadata.json, what its persons lack, how an
existing build differs from a request, and `mpii-pose info`, which reads it without TensorFlow."""

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mpii_pose.cli.main import main
from mpii_pose.sources import build_record
from mpii_pose.sources.build_record import (
    BuildRecordError,
    Request,
    differences,
    lacking,
    read_build,
)
from mpii_pose.sources.manual_dir import OFFICIAL_DIR, OFFICIAL_FILE
from tests.helpers import BIN, DATASET, DATASET_DIR, REPO, build, checked, digests, read_json, run


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored(data_dir, split: str) -> list[dict]:
    builder = tfds.builder("mpii_pose", data_dir=str(data_dir))
    return list(tfds.as_numpy(builder.as_dataset(split=split)))


def test_a_build_records_its_inputs_and_what_its_persons_lack(manual_dir, tmp_path):
    build(manual_dir, tmp_path, engine="local")
    record = read_build(tmp_path / DATASET)
    assert record.recorded and record.max_examples_per_split is None
    official = manual_dir / OFFICIAL_DIR / OFFICIAL_FILE
    assert {(s.role, s.origin, s.name, s.sha256) for s in record.sources} == {
        ("images", "manual directory", "images", None),
        ("train annotations", "manual directory", "train.json", sha256(manual_dir / "train.json")),
        ("validation annotations", "manual directory", "valid.json", sha256(manual_dir / "valid.json")),
        ("validation head boxes", "manual directory", "gt_valid.mat", sha256(manual_dir / "gt_valid.mat")),
        ("test annotations", "manual directory", "test.json", sha256(manual_dir / "test.json")),
        ("official annotations", "manual directory", f"{OFFICIAL_DIR}/{OFFICIAL_FILE}", sha256(official)),
    }  # fmt: skip
    # The fixture's official .mat lacks every eleventh person, counted over train, valid, test.
    files = {"train": "train.json", "validation": "valid.json", "test": "test.json"}
    sizes = [len(read_json(manual_dir / files[split.name])) for split in record.splits]
    starts = np.cumsum([0, *sizes[:-1]])
    for split, start, size in zip(record.splits, starts, sizes, strict=True):
        left_out = sum(g % 11 == 10 for g in range(start, start + size))
        examples = stored(tmp_path, split.name)
        no_box = sum(bool(np.isnan(e["head_box"]).all()) for e in examples)
        assert (split.examples, split.persons_in_file) == (size, size)
        assert (split.without_official, split.without_head_box) == (left_out, no_box), split.name
    assert any(s.without_official for s in record.splits)


def test_a_capped_build_says_so_everywhere(manual_dir, tmp_path, capsys):
    build(manual_dir, tmp_path, max_examples_per_split=3)
    record = read_build(tmp_path / DATASET)
    assert record.max_examples_per_split == 3
    total = len(read_json(manual_dir / "train.json"))
    assert f"(of {total:,} persons in its file)" in build_record.split_table(record)[0]
    assert main(["info", "--data_dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "per-split cap: the first 3 persons of each file" in out


def test_an_existing_build_is_compared_with_the_request(manual_dir, tmp_path):
    build(manual_dir, tmp_path, max_examples_per_split=3)
    record = read_build(tmp_path / DATASET)
    same = Request(str(manual_dir), 3, "tfrecord")
    assert differences(record, same) == []
    copy = shutil.copytree(manual_dir, tmp_path / "copy")  # elsewhere, the same content
    assert differences(record, dataclasses.replace(same, manual_dir=str(copy))) == []
    (copy / "train.json").write_text((copy / "train.json").read_text().replace("1", "2", 1))
    (copy / "test.json").unlink()
    (copy / "annot").mkdir()
    (copy / "gt_valid.mat").rename(copy / "annot" / "gt_valid.mat")  # found there too, the same
    assert differences(record, Request(str(copy), None, "array_record")) == [
        "it is in tfrecord, not array_record",
        "it holds the first 3 persons of each file, not all (--max_examples_per_split)",
        f"its input files are not those in {copy}: test annotations only in the build; "
        "train annotations differ",
    ]
    unrecorded = dataclasses.replace(record, recorded=False)
    assert differences(unrecorded, same) == [
        "how it was built was not recorded (a build of an earlier release)"
    ]


def test_missing_enrichment_is_counted_and_says_which_file_to_add(manual_dir, tmp_path, caplog):
    (manual_dir / "gt_valid.mat").unlink()
    shutil.rmtree(manual_dir / OFFICIAL_DIR)
    with caplog.at_level(logging.WARNING, logger=build_record.LOG.name):
        build(manual_dir, tmp_path)
    logged = [r.getMessage() for r in caplog.records if r.name == build_record.LOG.name]
    record = read_build(tmp_path / DATASET)
    counts = {s.name: (s.examples, s.without_official, s.without_head_box) for s in record.splits}
    assert all(n == unknown == no_box for n, unknown, no_box in counts.values()), counts
    lines = lacking(record)
    n_val = counts["validation"][0]
    assert (
        f"    validation: {n_val:,} without official fields and {n_val:,} without a head box (of {n_val:,})"
        in lines
    )
    text = " ".join(" ".join(lines).split())  # wrapped for a terminal
    assert f"add {OFFICIAL_FILE} to the manual directory (at its top or in {OFFICIAL_DIR}/)" in text
    assert "PCKh on validation is undefined" in text and "gt_valid.mat or mpii_gt_val.mat" in text
    assert "no occlusion, no activities, no test submissions" in text
    # What `tfds build` and `tfds.load` show: the same lines, in the log.
    assert logged == ["\n".join(lines).strip()]
    # Following the advice, then asking again: the build says that it lacks the new files.
    (manual_dir / "gt_valid.mat").write_bytes(b"added")
    (manual_dir / OFFICIAL_FILE).write_bytes(b"added")
    assert differences(record, Request(str(manual_dir), None, "tfrecord")) == [
        f"its input files are not those in {manual_dir}: official annotations in the manual "
        "directory, not in the build; validation head boxes in the manual directory, not in "
        "the build"
    ]


def test_unmatched_persons_are_not_told_to_add_the_official_file(manual_dir, tmp_path):
    build(manual_dir, tmp_path)  # the fixture's official .mat lacks every eleventh person
    text = " ".join(" ".join(lacking(read_build(tmp_path / DATASET))).split())
    assert "holds no single match for these persons" in text
    assert f"add {OFFICIAL_FILE}" not in text and "PCKh" not in text


def test_info_reads_json_only_and_says_what_is_unknown(manual_dir, tmp_path):
    build(manual_dir, tmp_path, file_format="array_record")
    code = (
        "import sys; from mpii_pose.cli.main import main; code = main(sys.argv[1:]); "
        "print('tensorflow' in sys.modules); sys.exit(code)"
    )
    out = checked([sys.executable, "-c", code, "info", "--data_dir", tmp_path]).stdout
    assert out.endswith("False\n")  # TensorFlow was not imported
    assert f"mpii_pose/per_person {DATASET.name} in {tmp_path / DATASET} (array_record)" in out
    for split in read_build(tmp_path / DATASET).splits:
        assert f"{split.name:<11} {split.examples:>7,} examples  {split.shards:>3} shards" in out
    assert "per-split cap: none" in out and "train annotations: train.json" in out
    (tmp_path / DATASET / "metadata.json").unlink()  # as a build of an earlier release
    (tmp_path / DATASET_DIR / "incomplete.abc123_2.0.1").mkdir()
    out = checked([BIN / "mpii-pose", "info", "--data_dir", tmp_path]).stdout
    assert "built before builds recorded their inputs" in out
    assert f"unfinished: {tmp_path / DATASET_DIR / 'incomplete.abc123_2.0.1'}" in out


def test_info_without_a_build_says_how_to_build(tmp_path):
    result = run([BIN / "mpii-pose", "info", "--data_dir", tmp_path])
    assert result.returncode == 1
    assert f"mpii_pose is not built in {tmp_path}; build it with" in result.stderr


@pytest.mark.parametrize("cap", [2, None])
def test_already_built_gives_the_counts_and_how_the_build_differs(trial_sample, cap):
    """`trial_sample` was built with --max_examples_per_split 2."""
    args = [BIN / "mpii-pose", "build", "--sample", "--data_dir", trial_sample]
    again = checked([*args, *(["--max_examples_per_split", str(cap)] if cap else [])]).stdout
    assert (
        f"mpii_pose/per_person {DATASET.name} is already built in {trial_sample / DATASET}:"
        in again
    )
    assert f"{'train':<11} {2:>7} examples    2 shards" in again
    differs = "it holds the first 2 persons of each file, not all (--max_examples_per_split)"
    assert (differs in again) == (cap is None)
    assert ("It is not what this command asks for" in again) == (cap is None)


def test_info_help_says_what_it_prints(capsys):
    with pytest.raises(SystemExit):
        main(["info", "--help"])
    flat = " ".join(capsys.readouterr().out.split())
    assert "--data_dir D" in flat and "no TensorFlow" in flat and "unfinished builds" in flat


def test_reading_or_reusing_a_trial_build_warns_that_it_is_capped(manual_dir, tmp_path, caplog):
    build(manual_dir, tmp_path, max_examples_per_split=3)

    def said() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == build_record.LOG.name]

    with caplog.at_level(logging.WARNING, logger=build_record.LOG.name):
        tfds.load("mpii_pose", data_dir=str(tmp_path), split=["train", "validation"])
    assert said() == [
        f"{tmp_path / DATASET} is a trial build: it holds only the first 3 persons of each "
        "annotation file (max_examples_per_split); `mpii-pose info` says what it holds"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=build_record.LOG.name):
        build(manual_dir, tmp_path)  # `tfds build` without a cap, over the trial build
    (message,) = said()
    assert message.startswith(f"reusing {tmp_path / DATASET}, which is not what was asked: ")
    assert "it holds the first 3 persons of each file, not all" in message
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=build_record.LOG.name):
        build(manual_dir, tmp_path, max_examples_per_split=3)  # as it was built: nothing to say
    assert said() == []


def test_the_record_is_the_same_wherever_the_inputs_are(manual_dir, tmp_path):
    """No path in metadata.json: a copy of the inputs elsewhere, named by a relative path, gives
    the same bytes."""
    reference = build(manual_dir, tmp_path / "a")
    elsewhere = shutil.copytree(manual_dir, tmp_path / "deeper" / "copy")
    os.chdir(tmp_path / "deeper")
    try:
        build(Path("copy"), tmp_path / "b")
    finally:
        os.chdir(REPO)
    assert digests(tmp_path / "b") == digests(tmp_path / "a")
    assert str(elsewhere) not in (reference.data_path / "metadata.json").read_text()


def test_a_record_of_a_later_release_reads_and_a_broken_one_is_named(manual_dir, tmp_path):
    build(manual_dir, tmp_path, max_examples_per_split=2)
    metadata = tmp_path / DATASET / "metadata.json"
    data = json.loads(metadata.read_text())
    data["build"]["splits"]["train"]["later_count"] = 7
    data["build"]["sources"][0]["later_field"] = "x"
    metadata.write_text(json.dumps(data))
    assert read_build(tmp_path / DATASET).max_examples_per_split == 2
    metadata.write_text("{not json")
    with pytest.raises(BuildRecordError, match=f"{metadata} cannot be read as JSON"):
        read_build(tmp_path / DATASET)
    result = run([BIN / "mpii-pose", "info", "--data_dir", tmp_path])
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"mpii-pose: error: {metadata} cannot be read as JSON" in result.stderr
